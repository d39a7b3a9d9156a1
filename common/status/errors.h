// Building absl::Status values that carry the standard google.rpc error details, so the gRPC
// adapter (grpc_status.h) can hand callers machine-readable reasons instead of prose only.
#ifndef TOUCHLINE_COMMON_STATUS_ERRORS_H_
#define TOUCHLINE_COMMON_STATUS_ERRORS_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace touchline::status {

// Payload type URLs, as google.protobuf.Any spells them. absl::Status payloads keyed by a URL
// under this prefix are forwarded to gRPC callers; any other payload stays inside the process.
inline constexpr char kGoogleRpcTypeUrlPrefix[] = "type.googleapis.com/google.rpc.";
inline constexpr char kBadRequestTypeUrl[] = "type.googleapis.com/google.rpc.BadRequest";
inline constexpr char kErrorInfoTypeUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr char kRetryInfoTypeUrl[] = "type.googleapis.com/google.rpc.RetryInfo";

// ErrorInfo.domain of every error Touchline raises.
inline constexpr char kErrorDomain[] = "touchline.dev";

// Collects every problem with a request before failing, so a caller can fix all of them in
// one round trip. Not thread-safe.
class FieldViolations {
 public:
  // Records that `field` (a request field path, e.g. "customer.display_name") is invalid
  // because of `description` (lower-case, no trailing period, e.g. "must not be empty").
  void Add(std::string field, std::string description);

  bool empty() const { return violations_.empty(); }
  size_t size() const { return violations_.size(); }

  // OK when no violation was added. Otherwise INVALID_ARGUMENT with the message
  // "<message>: <field>: <description>; <field>: <description>" and a google.rpc.BadRequest
  // payload (kBadRequestTypeUrl) listing the violations in the order they were added.
  absl::Status ToStatus(std::string_view message = "invalid argument") const;

 private:
  std::vector<std::pair<std::string, std::string>> violations_;
};

// INVALID_ARGUMENT for a single bad field; the same as a FieldViolations with one entry.
absl::Status InvalidArgument(std::string field, std::string description);

// Returns `status` with a google.rpc.ErrorInfo payload (kErrorInfoTypeUrl) whose domain is
// kErrorDomain, whose reason is `reason` and whose metadata is `metadata`. `reason` must be
// UPPER_SNAKE_CASE, e.g. "ETAG_MISMATCH"; it is part of the API, so callers may branch on it.
// An OK `status` is returned unchanged (an OK status carries no payloads).
absl::Status WithErrorInfo(absl::Status status, std::string_view reason,
                           std::map<std::string, std::string> metadata = {});

// Returns `status` with a google.rpc.RetryInfo payload (kRetryInfoTypeUrl) saying to retry
// after `delay` (for RESOURCE_EXHAUSTED: a rate limit, a throttled login). An OK `status` is
// returned unchanged.
absl::Status WithRetryInfo(absl::Status status, absl::Duration delay);

// The (field, description) pairs of the BadRequest payload of `status`, in order; empty
// when it has none. For tests and for code that reacts to specific fields.
std::vector<std::pair<std::string, std::string>> FieldViolationsOf(const absl::Status& status);

// The ErrorInfo reason attached to `status` by WithErrorInfo, or "" when it has none.
std::string ErrorReasonOf(const absl::Status& status);

}  // namespace touchline::status

#endif  // TOUCHLINE_COMMON_STATUS_ERRORS_H_
