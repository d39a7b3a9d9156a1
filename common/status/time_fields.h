// The one check of the google.protobuf.Timestamp and Duration values a request carries, so a
// time outside what the types define (and PostgreSQL stores) is a bad field, never a 500 or a
// silently shifted value.
#ifndef TOUCHLINE_COMMON_STATUS_TIME_FIELDS_H_
#define TOUCHLINE_COMMON_STATUS_TIME_FIELDS_H_

#include <string>

#include "common/status/errors.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace touchline::status {

// Whether `timestamp` is one google.protobuf.Timestamp defines: from 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z, with 0 <= nanos <= 999999999.
bool IsValidTimestamp(const google::protobuf::Timestamp& timestamp);

// Whether `duration` is one google.protobuf.Duration defines: seconds within +-315576000000
// (about 10,000 years), |nanos| <= 999999999, and nanos of the same sign as seconds.
bool IsValidDuration(const google::protobuf::Duration& duration);

// IsValidTimestamp; when not, adds a violation naming `field` ("nanos must be between 0 and
// 999999999" or "must be a time between the years 1 and 9999") and returns false.
bool CheckTimestamp(const google::protobuf::Timestamp& timestamp, const std::string& field,
                    FieldViolations& violations);

// IsValidDuration; when not, adds "must be a valid duration" naming `field` and returns false.
bool CheckDuration(const google::protobuf::Duration& duration, const std::string& field,
                   FieldViolations& violations);

}  // namespace touchline::status

#endif  // TOUCHLINE_COMMON_STATUS_TIME_FIELDS_H_
