#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/audit/audit.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "google/protobuf/util/time_util.h"
#include "services/automation/endpoints/endpoint_store.h"

namespace touchline::automation {

namespace endpoint_rules {

using ::google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ProtoTimeOf(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

google::protobuf::Duration ProtoDurationOf(absl::Duration d) {
  return TimeUtil::MicrosecondsToDuration(absl::ToInt64Microseconds(d));
}

absl::Duration DurationOf(const google::protobuf::Duration& d) {
  return absl::Microseconds(TimeUtil::DurationToMicroseconds(d));
}

std::string SecretContext(const std::string& tenant_id, const std::string& endpoint_id) {
  return absl::StrCat("webhook_endpoint/", tenant_id, "/", endpoint_id);
}

absl::StatusOr<std::string> NextEtag(const v1::WebhookEndpoint& endpoint) {
  int64_t version = 0;
  if (!absl::SimpleAtoi(endpoint.etag(), &version)) {
    return absl::InternalError(absl::StrCat("webhook endpoint ", endpoint.endpoint_id(),
                                            " has no version number (etag '", endpoint.etag(),
                                            "')"));
  }
  return absl::StrCat(version + 1);
}

absl::StatusOr<v1::WebhookEndpoint> ApplyUpdate(const v1::WebhookEndpoint& current,
                                                const EndpointUpdate& update) {
  if (!update.etag.empty() && update.etag != current.etag()) {
    return status::WithErrorInfo(
        absl::AbortedError(absl::StrCat("webhook endpoint ", current.endpoint_id(),
                                        " was changed by someone else (etag ", update.etag,
                                        " is stale); read it again and retry")),
        "ETAG_MISMATCH", {{"endpoint_id", current.endpoint_id()}});
  }
  v1::WebhookEndpoint next = current;
  const v1::WebhookEndpoint& from = update.endpoint;
  for (const std::string& field : update.fields) {
    if (field == "display_name") next.set_display_name(from.display_name());
    if (field == "url") next.set_url(from.url());
    if (field == "max_attempts") next.set_max_attempts(from.max_attempts());
    if (field == "rate_limit_per_second") {
      next.set_rate_limit_per_second(from.rate_limit_per_second());
    }
    if (field == "timeout") *next.mutable_timeout() = from.timeout();
  }
  *next.mutable_update_time() = ProtoTimeOf(update.context.now);
  TL_ASSIGN_OR_RETURN(*next.mutable_etag(), NextEtag(current));
  return next;
}

StoredSecrets Rotated(const StoredSecrets& stored, SealedSecret next, absl::Time now,
                      absl::Duration overlap) {
  return StoredSecrets{
      .current = std::move(next), .previous = stored.current, .previous_until = now + overlap};
}

absl::StatusOr<SigningEndpoint> SigningEndpointOf(const SecretBox& box,
                                                  const std::string& tenant_id,
                                                  const v1::WebhookEndpoint& endpoint,
                                                  const StoredSecrets& stored, absl::Time now) {
  const std::string context = SecretContext(tenant_id, endpoint.endpoint_id());
  SigningEndpoint signing{.endpoint_id = endpoint.endpoint_id(),
                          .url = endpoint.url(),
                          .max_attempts = endpoint.max_attempts(),
                          .rate_limit_per_second = endpoint.rate_limit_per_second(),
                          .timeout = DurationOf(endpoint.timeout()),
                          .secrets = {}};
  TL_ASSIGN_OR_RETURN(std::string current, box.Open(stored.current, context));
  signing.secrets.push_back(std::move(current));
  if (stored.previous.has_value() && now < stored.previous_until) {
    TL_ASSIGN_OR_RETURN(std::string previous, box.Open(*stored.previous, context));
    signing.secrets.push_back(std::move(previous));
  }
  return signing;
}

idempotency::Key CreateKey(const NewEndpoint& endpoint) {
  return idempotency::Key{.tenant_id = endpoint.context.caller.tenant_id,
                          .request_id = endpoint.request_id,
                          .method = kCreateEndpointMethod,
                          .fingerprint = endpoint.fingerprint};
}

std::string ReplayRecord(const std::string& endpoint_id, const SealedSecret& secret) {
  return absl::StrCat(endpoint_id, " ", secret.key_id, " ", absl::BytesToHexString(secret.box));
}

absl::StatusOr<std::pair<std::string, SealedSecret>> ParseReplayRecord(const std::string& record) {
  const std::vector<std::string> parts = absl::StrSplit(record, ' ');
  if (parts.size() != 3 || parts[2].size() % 2 != 0 ||
      parts[2].find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return absl::DataLossError("the record of a webhook endpoint's create is malformed");
  }
  return std::make_pair(parts[0],
                        SealedSecret{.key_id = parts[1], .box = absl::HexStringToBytes(parts[2])});
}

events::v1::EventEnvelope CreatedAuditEntry(const NewEndpoint& endpoint) {
  const v1::WebhookEndpoint& e = endpoint.endpoint;
  return audit::MakeAuditEnvelope(
      endpoint.context.caller, "webhook_endpoint.created", kEndpointResource, e.endpoint_id(),
      {"display_name", "url", "max_attempts", "rate_limit_per_second", "timeout", "secret"},
      absl::StrCat("to ", e.url()));
}

events::v1::EventEnvelope UpdatedAuditEntry(const EndpointUpdate& update) {
  std::string detail;
  for (const std::string& field : update.fields) {
    if (field == "url") detail = absl::StrCat("to ", update.endpoint.url());
  }
  return audit::MakeAuditEnvelope(update.context.caller, "webhook_endpoint.updated",
                                  kEndpointResource, update.endpoint.endpoint_id(), update.fields,
                                  std::move(detail));
}

events::v1::EventEnvelope RotatedAuditEntry(const SecretRotation& rotation) {
  return audit::MakeAuditEnvelope(
      rotation.context.caller, "webhook_endpoint.secret_rotated", kEndpointResource,
      rotation.endpoint_id, {"secret"},
      absl::StrCat("the previous secret signs until ",
                   absl::FormatTime(absl::RFC3339_full, rotation.context.now + rotation.overlap,
                                    absl::UTCTimeZone())));
}

absl::Status EndpointNotFound(const std::string& endpoint_id) {
  return absl::NotFoundError(absl::StrCat("webhook endpoint ", endpoint_id, " not found"));
}
}  // namespace endpoint_rules

}  // namespace touchline::automation
