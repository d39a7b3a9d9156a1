#include "common/status/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "google/rpc/error_details.pb.h"

namespace touchline::status {
namespace {

// Parses the payload stored under `type_url` into `message`; false when absent or corrupt.
template <typename Message>
bool ParsePayload(const absl::Status& status, const char* type_url, Message* message) {
  absl::optional<absl::Cord> payload = status.GetPayload(type_url);
  return payload.has_value() && message->ParseFromString(std::string(*payload));
}

}  // namespace

void FieldViolations::Add(std::string field, std::string description) {
  violations_.emplace_back(std::move(field), std::move(description));
}

absl::Status FieldViolations::ToStatus(std::string_view message) const {
  if (violations_.empty()) return absl::OkStatus();
  google::rpc::BadRequest bad_request;
  std::string text(message);
  absl::StrAppend(&text, ": ");
  for (size_t i = 0; i < violations_.size(); ++i) {
    const auto& [field, description] = violations_[i];
    absl::StrAppend(&text, i == 0 ? "" : "; ", field, ": ", description);
    google::rpc::BadRequest::FieldViolation* violation = bad_request.add_field_violations();
    violation->set_field(field);
    violation->set_description(description);
  }
  absl::Status status = absl::InvalidArgumentError(text);
  status.SetPayload(kBadRequestTypeUrl, absl::Cord(bad_request.SerializeAsString()));
  return status;
}

absl::Status InvalidArgument(std::string field, std::string description) {
  FieldViolations violations;
  violations.Add(std::move(field), std::move(description));
  return violations.ToStatus();
}

absl::Status WithErrorInfo(absl::Status status, std::string_view reason,
                           std::map<std::string, std::string> metadata) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kErrorDomain);
  for (auto& [key, value] : metadata) (*info.mutable_metadata())[key] = std::move(value);
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

absl::Status WithRetryInfo(absl::Status status, absl::Duration delay) {
  if (status.ok()) return status;
  google::rpc::RetryInfo retry;
  const int64_t seconds = absl::ToInt64Seconds(delay);
  retry.mutable_retry_delay()->set_seconds(seconds);
  retry.mutable_retry_delay()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(delay - absl::Seconds(seconds))));
  status.SetPayload(kRetryInfoTypeUrl, absl::Cord(retry.SerializeAsString()));
  return status;
}

std::vector<std::pair<std::string, std::string>> FieldViolationsOf(const absl::Status& status) {
  std::vector<std::pair<std::string, std::string>> result;
  google::rpc::BadRequest bad_request;
  if (!ParsePayload(status, kBadRequestTypeUrl, &bad_request)) return result;
  for (const auto& violation : bad_request.field_violations()) {
    result.emplace_back(violation.field(), violation.description());
  }
  return result;
}

std::string ErrorReasonOf(const absl::Status& status) {
  google::rpc::ErrorInfo info;
  if (!ParsePayload(status, kErrorInfoTypeUrl, &info)) return "";
  return info.reason();
}

}  // namespace touchline::status
