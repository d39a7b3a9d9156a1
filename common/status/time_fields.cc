#include "common/status/time_fields.h"

#include <cstdint>

namespace touchline::status {
namespace {

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
constexpr int64_t kMaxDurationSeconds = 315576000000;
constexpr int32_t kMaxNanos = 999999999;

bool ValidNanos(const google::protobuf::Timestamp& timestamp) {
  return timestamp.nanos() >= 0 && timestamp.nanos() <= kMaxNanos;
}

bool ValidSeconds(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() >= kMinTimestampSeconds && timestamp.seconds() <= kMaxTimestampSeconds;
}

}  // namespace

bool IsValidTimestamp(const google::protobuf::Timestamp& timestamp) {
  return ValidNanos(timestamp) && ValidSeconds(timestamp);
}

bool IsValidDuration(const google::protobuf::Duration& duration) {
  const int64_t seconds = duration.seconds();
  const int32_t nanos = duration.nanos();
  return seconds >= -kMaxDurationSeconds && seconds <= kMaxDurationSeconds && nanos >= -kMaxNanos &&
         nanos <= kMaxNanos && !(seconds > 0 && nanos < 0) && !(seconds < 0 && nanos > 0);
}

bool CheckTimestamp(const google::protobuf::Timestamp& timestamp, const std::string& field,
                    FieldViolations& violations) {
  if (!ValidNanos(timestamp)) {
    violations.Add(field, "nanos must be between 0 and 999999999");
    return false;
  }
  if (!ValidSeconds(timestamp)) {
    violations.Add(field, "must be a time between the years 1 and 9999");
    return false;
  }
  return true;
}

bool CheckDuration(const google::protobuf::Duration& duration, const std::string& field,
                   FieldViolations& violations) {
  if (IsValidDuration(duration)) return true;
  violations.Add(field, "must be a valid duration");
  return false;
}

}  // namespace touchline::status
