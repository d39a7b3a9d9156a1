#include "common/log/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace touchline::log {
namespace {

std::atomic<int> min_level{static_cast<int>(Level::kInfo)};

// The sink is swapped only by tests while nothing else logs, so plain reads are race-free.
std::function<void(std::string_view)>& TestSink() {
  static auto* const sink = new std::function<void(std::string_view)>();
  return *sink;
}

thread_local const ScopedRequestFields* current_request_fields = nullptr;

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string Str(std::string_view text) { return std::string(text); }

// One write(2) per line: POSIX makes writes of up to PIPE_BUF bytes to a pipe atomic, and a
// file opened O_APPEND appends each write whole. Longer lines are retried from where a
// partial write stopped, which is the best any writer can do.
void WriteToStderr(std::string_view line) {
  while (!line.empty()) {
    const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // Nowhere left to report a failure to log.
    }
    line.remove_prefix(static_cast<size_t>(written));
  }
}

}  // namespace

void SetMinLevel(Level level) { min_level.store(static_cast<int>(level)); }

bool ParseLevel(std::string_view text, Level* level) {
  for (Level candidate : {Level::kDebug, Level::kInfo, Level::kWarning, Level::kError}) {
    if (text == LevelName(candidate)) {
      *level = candidate;
      return true;
    }
  }
  return false;
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed);
}

void Write(Level level, std::string_view message,
           std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  if (!Enabled(level)) return;
  nlohmann::ordered_json line;
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line["level"] = LevelName(level);
  line["msg"] = Str(message);
  if (const ScopedRequestFields* request = current_request_fields) {
    line["request_id"] = request->request_id();
    line["tenant"] = request->tenant();
    line["method"] = request->method();
  }
  for (const auto& [key, value] : fields) line[Str(key)] = Str(value);
  std::string text =
      line.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::ordered_json::error_handler_t::replace);
  text.push_back('\n');
  if (const auto& sink = TestSink()) {
    sink(text);
  } else {
    WriteToStderr(text);
  }
}

ScopedRequestFields::ScopedRequestFields(std::string_view request_id, std::string_view tenant,
                                         std::string_view method)
    : request_id_(request_id), tenant_(tenant), method_(method), previous_(current_request_fields) {
  current_request_fields = this;
}

ScopedRequestFields::~ScopedRequestFields() { current_request_fields = previous_; }

void SetSinkForTest(std::function<void(std::string_view)> sink) { TestSink() = std::move(sink); }

}  // namespace touchline::log
