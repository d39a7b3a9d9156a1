// touchline-grpc: calls a unary method of any Touchline service (or grpc.health) with a JSON
// request and prints the reply as JSON, since Debian 12 has neither grpcurl nor grpc_cli.
// Exit 0 on success, 1 when the call fails, 2 on bad usage. See kUsage.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/config/flags.h"
#include "gateway/cli/grpc_call.h"

ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "Deadline of the call, e.g. 500ms, 30s");
ABSL_FLAG(bool, list, false,
          "Instead of calling, print every method touchline-grpc knows with its request and "
          "response types; takes no arguments");
ABSL_FLAG(bool, verbose, false,
          "Also print the response headers and trailers (x-request-id, x-touchline-cache) "
          "to stderr");

namespace {

constexpr char kUsageLine[] =
    "usage: touchline-grpc [flags] HOST:PORT package.Service/Method [JSON|@file|-] (--help)";

constexpr char kUsage[] =
    R"(calls a unary gRPC method and prints the reply as JSON (lowerCamelCase names).

  touchline-grpc [flags] HOST:PORT package.Service/Method [JSON|@file|-]

The request is proto3 JSON (lowerCamelCase or proto field names), "@path" reads it from a
file, "-" from stdin; it defaults to {}. The method may also be spelled package.Service.Method.
Exit 0 on success, 1 when the call fails (code, message and google.rpc details on stderr), 2
on bad usage.

  -H 'name: value', --header 'name: value'
      Request metadata; repeat for several, e.g.
      -H 'authorization: Bearer eyJ...' -H 'x-touchline-tenant: acme'

Example:
  touchline-grpc -H 'authorization: Bearer ...' -H 'x-touchline-tenant: acme' \
      127.0.0.1:50051 touchline.contacts.v1.ContactsService/GetCustomer '{"customerId": "..."}'

Flags are also read from TOUCHLINE_<NAME> environment variables.)";

[[noreturn]] void UsageError(absl::string_view message) {
  std::fprintf(stderr, "touchline-grpc: %.*s\n", static_cast<int>(message.size()), message.data());
  std::exit(touchline::cli::kExitUsage);
}

struct CommandLine {
  std::vector<char*> flag_args;  // argv[0] and the flags, for config::ParseFlags.
  std::vector<std::string> headers;
  std::vector<std::string> positional;
};

// Takes -H/--header out of argv (Abseil has no repeatable string flag that allows commas in a
// value) and the positional arguments, which config::ParseFlags refuses.
CommandLine SplitCommandLine(int argc, char** argv) {
  CommandLine command_line;
  command_line.flag_args.push_back(argv[0]);
  bool only_positional = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (only_positional || arg == "-" || !absl::StartsWith(arg, "-")) {
      command_line.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "-H" || arg == "--header" || arg == "-header") {
      if (i + 1 == argc) UsageError(absl::StrCat(arg, ": missing value"));
      command_line.headers.emplace_back(argv[++i]);
      continue;
    }
    if (absl::ConsumePrefix(&arg, "-H") || absl::ConsumePrefix(&arg, "--header=") ||
        absl::ConsumePrefix(&arg, "-header=")) {
      command_line.headers.emplace_back(arg);
      continue;
    }
    command_line.flag_args.push_back(argv[i]);
    // "--timeout 5s": the value goes with its flag, not to the positional arguments.
    absl::string_view name = absl::StripPrefix(absl::StripPrefix(arg, "-"), "-");
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (!absl::StrContains(name, "=") && flag != nullptr && !flag->IsOfType<bool>() &&
        i + 1 < argc) {
      command_line.flag_args.push_back(argv[++i]);
    }
  }
  return command_line;
}

}  // namespace

int main(int argc, char** argv) {
  // Abseil's --help shows only flags of a file named after the program (touchline-grpc.cc).
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "gateway/cli/grpc_call_main.cc");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  CommandLine command_line = SplitCommandLine(argc, argv);
  touchline::config::ParseFlags(static_cast<int>(command_line.flag_args.size()),
                                command_line.flag_args.data(), kUsage);
  if (absl::GetFlag(FLAGS_list)) {
    if (!command_line.positional.empty() || !command_line.headers.empty()) {
      UsageError("--list prints the methods built into touchline-grpc and takes no arguments");
    }
    std::cout << touchline::cli::ListMethods(touchline::cli::KnownServiceFiles());
    return touchline::cli::kExitOk;
  }
  if (command_line.positional.size() < 2) {
    UsageError(absl::StrCat("HOST:PORT and a method are required; ", kUsageLine));
  }
  if (command_line.positional.size() > 3) {
    UsageError(absl::StrCat("unexpected argument '", command_line.positional[3], "'"));
  }
  touchline::cli::Invocation invocation;
  invocation.target = command_line.positional[0];
  invocation.method = command_line.positional[1];
  if (command_line.positional.size() == 3) invocation.request = command_line.positional[2];
  invocation.headers = std::move(command_line.headers);
  invocation.timeout = absl::GetFlag(FLAGS_timeout);
  if (invocation.timeout <= absl::ZeroDuration()) UsageError("--timeout must be positive");
  invocation.verbose = absl::GetFlag(FLAGS_verbose);
  return touchline::cli::Run(invocation, std::cin, std::cout, std::cerr);
}
