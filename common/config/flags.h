// Start-up configuration: command-line flags, each settable from the environment, and the
// single way a service reports bad configuration.
#ifndef TOUCHLINE_COMMON_CONFIG_FLAGS_H_
#define TOUCHLINE_COMMON_CONFIG_FLAGS_H_

#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace touchline::config {

// Parses the flags of the process. Every registered flag (e.g. pg_dsn) is first set from the
// environment variable TOUCHLINE_<NAME IN UPPER CASE> (TOUCHLINE_PG_DSN) when that is set, then
// from the command line, so the command line wins. `usage` is shown by --help.
//
// Calls Fatal() for a value that does not parse (from the environment or the command line),
// an unknown flag, a flag missing its value, or a positional argument. --help, --flagfile,
// --fromenv and --tryfromenv keep their Abseil behaviour; errors inside a --flagfile are
// reported by Abseil (exit code 1). Call once, at the start of main, before starting threads.
void ParseFlags(int argc, char** argv, std::string_view usage);

// Writes "touchline: configuration error: <message>" as one line to stderr and exits the
// process with code 2, without running destructors. For configuration the process cannot run
// with, found at start-up.
[[noreturn]] void Fatal(std::string_view message);

// Fatal("<what>: <status>") unless `status` is OK: for start-up steps a service cannot run
// without (migrations, connecting, binding its port).
void OkOrDie(const absl::Status& status, std::string_view what);

// The value, or Fatal as OkOrDie.
template <typename T>
T OrDie(absl::StatusOr<T> value, std::string_view what) {
  OkOrDie(value.status(), what);
  return *std::move(value);
}

// The whole content of the file `path` given by flag --<flag>: Fatal when the flag is empty
// ("--<flag> is required") or the file cannot be read or is empty.
std::string ReadFileOrDie(std::string_view flag, const std::string& path);

}  // namespace touchline::config

#endif  // TOUCHLINE_COMMON_CONFIG_FLAGS_H_
