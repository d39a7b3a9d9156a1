// Structured logging: one JSON object per line on stderr, for the log collector to parse.
//
//   log::Info("customer merged", {{"survivor_id", id}, {"merged", count}});
//   -> {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"customer merged",
//       "request_id":"...","tenant":"acme","method":"MergeCustomers","survivor_id":"...",...}
//
// All functions are thread-safe. A line is written with a single write(2), so lines from
// different threads never interleave.
#ifndef TOUCHLINE_COMMON_LOG_LOG_H_
#define TOUCHLINE_COMMON_LOG_LOG_H_

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace touchline::log {

enum class Level { kDebug, kInfo, kWarning, kError };

// Lines below `level` are dropped. The default is kInfo.
void SetMinLevel(Level level);

// Parses "debug", "info", "warning" or "error" (exactly; the values of --log_level) into
// `*level`. Returns false, leaving `*level` unchanged, for anything else.
bool ParseLevel(std::string_view text, Level* level);

// Whether a line at `level` would be written; lets callers skip building costly fields.
bool Enabled(Level level);

// Writes one line: keys ts (RFC 3339, UTC, milliseconds), level, msg, then the fields of the
// innermost ScopedRequestFields alive on this thread, then `fields` in order. Text is written
// as UTF-8 unescaped (Chinese stays readable); invalid UTF-8 is replaced with U+FFFD. A field
// named like an earlier key replaces its value.
void Write(Level level, std::string_view message,
           std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {});

inline void Debug(
    std::string_view message,
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {}) {
  Write(Level::kDebug, message, fields);
}
inline void Info(std::string_view message,
                 std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {}) {
  Write(Level::kInfo, message, fields);
}
inline void Warning(
    std::string_view message,
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {}) {
  Write(Level::kWarning, message, fields);
}
inline void Error(
    std::string_view message,
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {}) {
  Write(Level::kError, message, fields);
}

// While alive, adds request_id, tenant and method to every line the constructing thread
// writes. Instances nest: the innermost wins and the outer one is restored on destruction.
// Must be destroyed on the thread that created it, in reverse order of creation.
class ScopedRequestFields {
 public:
  ScopedRequestFields(std::string_view request_id, std::string_view tenant,
                      std::string_view method);
  ~ScopedRequestFields();

  ScopedRequestFields(const ScopedRequestFields&) = delete;
  ScopedRequestFields& operator=(const ScopedRequestFields&) = delete;

  const std::string& request_id() const { return request_id_; }
  const std::string& tenant() const { return tenant_; }
  const std::string& method() const { return method_; }

 private:
  std::string request_id_;
  std::string tenant_;
  std::string method_;
  const ScopedRequestFields* previous_;
};

// Sends every line (with its trailing newline) to `sink` instead of stderr; an empty function
// restores stderr. For tests: call it while no other thread is logging.
void SetSinkForTest(std::function<void(std::string_view)> sink);

}  // namespace touchline::log

#endif  // TOUCHLINE_COMMON_LOG_LOG_H_
