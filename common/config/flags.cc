#include "common/config/flags.h"

#include <fstream>
#include <sstream>

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <mutex>
#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace touchline::config {
namespace {

// Flags whose meaning is an action of the Abseil parser rather than a value: they are left to
// absl::ParseCommandLine and never read from the environment.
bool IsParserFlag(absl::string_view name) {
  return name == "flagfile" || name == "fromenv" || name == "tryfromenv" || name == "undefok" ||
         absl::StartsWith(name, "help") || name == "version" || name == "only_check_args";
}

std::string EnvVarName(absl::string_view flag_name) {
  return absl::StrCat("TOUCHLINE_", absl::AsciiStrToUpper(flag_name));
}

void ApplyEnvironment() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsParserFlag(name) || flag->IsRetired()) continue;
    const std::string env_name = EnvVarName(name);
    const char* value = std::getenv(env_name.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) Fatal(absl::StrCat(env_name, ": ", error));
  }
}

// Sets each flag given on the command line, the way absl::ParseCommandLine will, so that a
// bad value ends in Fatal() rather than Abseil's multi-line report and exit code 1.
void ApplyCommandLine(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {
      if (i + 1 < argc) Fatal(absl::StrCat("unexpected argument '", argv[i + 1], "'"));
      return;
    }
    if (!absl::ConsumePrefix(&arg, "-") || arg.empty()) {
      // A forgotten "--" would otherwise drop the setting silently.
      Fatal(absl::StrCat("unexpected argument '", argv[i], "'"));
    }
    absl::ConsumePrefix(&arg, "-");
    const size_t equals = arg.find('=');
    const absl::string_view name = arg.substr(0, equals);
    const bool has_value = equals != absl::string_view::npos;
    absl::string_view value = has_value ? arg.substr(equals + 1) : absl::string_view();
    if (IsParserFlag(name)) {
      const absl::CommandLineFlag* parser_flag = absl::FindCommandLineFlag(name);
      if (!has_value && parser_flag != nullptr && !parser_flag->IsOfType<bool>()) {
        ++i;  // Skips the value of "--flagfile path" and the like.
      }
      continue;
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      absl::CommandLineFlag* negated = absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>() && !has_value) {
        flag = negated;
        value = "false";
      }
    }
    if (flag == nullptr || flag->IsRetired()) {
      Fatal(absl::StrCat("unknown flag --", name));
    }
    if (!has_value && value.empty()) {  // "--name" alone; "--noname" already has its value.
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        Fatal(absl::StrCat("--", name, ": missing value"));
      }
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) Fatal(absl::StrCat("--", name, ": ", error));
  }
}

}  // namespace

void ParseFlags(int argc, char** argv, std::string_view usage) {
  // Abseil aborts if the usage message is set twice; tests parse more than once.
  static std::once_flag usage_once;
  std::call_once(usage_once, [usage] {
    absl::SetProgramUsageMessage(absl::string_view(usage.data(), usage.size()));
  });
  ApplyEnvironment();
  ApplyCommandLine(argc, argv);
  absl::ParseCommandLine(argc, argv);
}

std::string ReadFileOrDie(std::string_view flag, const std::string& path) {
  const std::string name(flag);
  if (path.empty()) Fatal(absl::StrCat("--", name, " is required"));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (!in || contents.str().empty()) Fatal(absl::StrCat("--", name, ": cannot read ", path));
  return contents.str();
}

void Fatal(std::string_view message) {
  const std::string line = absl::StrCat(
      "touchline: configuration error: ", absl::string_view(message.data(), message.size()), "\n");
  // One write(2), then _Exit: no buffered stdio or static destructors between the message and
  // the exit, whatever state the process is in.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
  std::_Exit(2);
}

void OkOrDie(const absl::Status& status, std::string_view what) {
  if (!status.ok()) Fatal(absl::StrCat(std::string(what), ": ", status.ToString()));
}

}  // namespace touchline::config
