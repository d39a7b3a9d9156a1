// Storage of webhook endpoints (a row of `webhook_endpoints`, migrations/0004) with their
// secrets, sealed by a SecretBox the store is given: a secret goes in and comes out in clear,
// and is never in the table in clear. Every method is one transaction: what a write stores,
// its idempotency key and its audit entry commit together or not at all. Every method is scoped
// to one tenant. Errors are absl::Status (the mapped PostgreSQL error: UNAVAILABLE,
// DEADLINE_EXCEEDED ...); never a libpqxx exception.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_ENDPOINT_STORE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_ENDPOINT_STORE_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/idempotency/idempotency.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/automation/endpoints/secret_box.h"
#include "touchline/automation/v1/automation_service.pb.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::automation {

// Who asked for a write: its tenant, actor and request id go into its audit entry.
struct EndpointWriteContext {
  auth::RequestContext caller;
  absl::Time now;  // Truncated to microseconds, as PostgreSQL stores it.
};

// A validated endpoint to insert: endpoint_id, display_name, url, max_attempts,
// rate_limit_per_second, timeout (whole milliseconds), create_time, update_time and secret_time
// set (the store sets the etag).
struct NewEndpoint {
  EndpointWriteContext context;
  v1::WebhookEndpoint endpoint;
  // Its first secret, in clear ("whsec_..."); the store seals it.
  std::string secret;
  // The idempotency key (CreateWebhookEndpointRequest.request_id); empty for none.
  std::string request_id;
  // Tells a retry from another request reusing the key (ids::Fingerprint of the endpoint as
  // the client sent it).
  std::string fingerprint;
};

// An endpoint and a secret shown once (CreateWebhookEndpoint, RotateWebhookSecret).
struct EndpointWithSecret {
  v1::WebhookEndpoint endpoint;
  std::string secret;
};

// A checked change of an endpoint's settings.
struct EndpointUpdate {
  EndpointWriteContext context;
  // endpoint_id and the new values of `fields`.
  v1::WebhookEndpoint endpoint;
  // Which fields change: display_name, url, max_attempts, rate_limit_per_second, timeout.
  std::vector<std::string> fields;
  // When not empty, the change applies only to this version (ABORTED otherwise).
  std::string etag;
};

// A new secret for an endpoint; the current one keeps signing until now + overlap.
struct SecretRotation {
  EndpointWriteContext context;
  std::string endpoint_id;
  // The new secret, in clear; the store seals it.
  std::string secret;
  // 0 to 7 days; 0: the old secret stops signing at once.
  absl::Duration overlap;
};

// A place in ListWebhookEndpoints' order: by display name (code point order), then by id.
struct EndpointCursor {
  std::string display_name;
  std::string endpoint_id;
};

// One ListWebhookEndpoints page.
struct EndpointQuery {
  std::string tenant_id;
  // Only endpoints after this place.
  std::optional<EndpointCursor> after;
  // At most this many.
  int limit = 50;
};

// What the engine needs to deliver to an endpoint now.
struct SigningEndpoint {
  std::string endpoint_id;
  std::string url;
  int max_attempts = 0;
  int rate_limit_per_second = 0;
  absl::Duration timeout;
  // The secrets that sign now, in clear: the current one first, then the previous one while
  // its overlap lasts. Never empty.
  std::vector<std::string> secrets;
};

class EndpointStore {
 public:
  virtual ~EndpointStore() = default;

  // Inserts the endpoint with its secret sealed and its "webhook_endpoint.created" audit
  // entry; returns it with etag "1" and the secret. With a request id the key is claimed in the
  // same transaction, recording the endpoint's id and the secret (sealed): a key used before
  // with the same fingerprint returns the endpoint the first call created, as it is now, and
  // that call's secret (even after a rotation), and writes nothing; with another fingerprint
  // (or by another method) ALREADY_EXISTS with ErrorInfo reason REQUEST_ID_REUSED.
  virtual absl::StatusOr<EndpointWithSecret> Create(const NewEndpoint& endpoint) = 0;

  // The endpoint, without secrets; NOT_FOUND "webhook endpoint <id> not found" when the tenant
  // has none with the id.
  virtual absl::StatusOr<v1::WebhookEndpoint> Get(const std::string& tenant_id,
                                                  const std::string& endpoint_id) = 0;

  // The endpoints after query.after by display name then id, at most query.limit.
  virtual absl::StatusOr<std::vector<v1::WebhookEndpoint>> List(const EndpointQuery& query) = 0;

  // Applies `update` (endpoint_rules::ApplyUpdate) to the endpoint, locked, with its
  // "webhook_endpoint.updated" audit entry; returns it changed, its etag the next one.
  // NOT_FOUND as Get; ABORTED when update.etag is set and is not the endpoint's.
  virtual absl::StatusOr<v1::WebhookEndpoint> Update(const EndpointUpdate& update) = 0;

  // Makes rotation.secret the current secret (secret_time now) and the current one the
  // previous, signing until now + overlap (a secret before that is dropped), with its
  // "webhook_endpoint.secret_rotated" audit entry; returns the endpoint, its etag the next one.
  // NOT_FOUND as Get. The secrets stay sealed: nothing is opened.
  virtual absl::StatusOr<v1::WebhookEndpoint> Rotate(const SecretRotation& rotation) = 0;

  // The endpoint's address, limits and the secrets that sign at `now`, opened. NOT_FOUND as
  // Get; FAILED_PRECONDITION or DATA_LOSS (SecretBox::Open) when a secret cannot be opened.
  virtual absl::StatusOr<SigningEndpoint> SigningSecrets(const std::string& tenant_id,
                                                         const std::string& endpoint_id,
                                                         absl::Time now) = 0;
};

// What both stores decide and record alike (endpoint_rules.cc). Pure.
namespace endpoint_rules {

// The resource type of the audit entries of endpoint writes.
inline constexpr char kEndpointResource[] = "webhook_endpoint";
// The method idempotency keys of creates are claimed for.
inline constexpr char kCreateEndpointMethod[] = "CreateWebhookEndpoint";

// Times and durations as the protos carry them, in microseconds.
google::protobuf::Timestamp ProtoTimeOf(absl::Time t);
absl::Time TimeOf(const google::protobuf::Timestamp& t);
google::protobuf::Duration ProtoDurationOf(absl::Duration d);
absl::Duration DurationOf(const google::protobuf::Duration& d);

// What a secret of endpoint `endpoint_id` of `tenant_id` is sealed for (SecretBox context).
std::string SecretContext(const std::string& tenant_id, const std::string& endpoint_id);

// `current` after `update` at update.context.now: the fields named copied, update_time now, the
// next etag. ABORTED with ErrorInfo reason ETAG_MISMATCH when update.etag is set and is not
// current's.
absl::StatusOr<v1::WebhookEndpoint> ApplyUpdate(const v1::WebhookEndpoint& current,
                                                const EndpointUpdate& update);

// The etag after endpoint.etag (a version number); INTERNAL when it is not one.
absl::StatusOr<std::string> NextEtag(const v1::WebhookEndpoint& endpoint);

// An endpoint's secrets as stored, sealed.
struct StoredSecrets {
  SealedSecret current;
  // The secret before the last rotation; nullopt before the first.
  std::optional<SealedSecret> previous;
  // Until when `previous` signs too (excluded).
  absl::Time previous_until = absl::InfinitePast();
};

// `stored` after a rotation to `next` at `now` with `overlap`: the current secret becomes the
// previous one, signing until now + overlap.
StoredSecrets Rotated(const StoredSecrets& stored, SealedSecret next, absl::Time now,
                      absl::Duration overlap);

// What SigningSecrets returns for `endpoint` of `tenant_id` with `stored` at `now`: the current
// secret opened, then the previous one while now < previous_until. SecretBox::Open's errors.
absl::StatusOr<SigningEndpoint> SigningEndpointOf(const SecretBox& box,
                                                  const std::string& tenant_id,
                                                  const v1::WebhookEndpoint& endpoint,
                                                  const StoredSecrets& stored, absl::Time now);

// The idempotency key of `endpoint` (its request_id must not be empty).
idempotency::Key CreateKey(const NewEndpoint& endpoint);

// What a create's idempotency key records: the endpoint's id and its first secret, sealed.
std::string ReplayRecord(const std::string& endpoint_id, const SealedSecret& secret);
// The endpoint id and sealed secret of a ReplayRecord; DATA_LOSS when `record` is not one.
absl::StatusOr<std::pair<std::string, SealedSecret>> ParseReplayRecord(const std::string& record);

// The audit entries of writes; never a secret.
events::v1::EventEnvelope CreatedAuditEntry(const NewEndpoint& endpoint);
events::v1::EventEnvelope UpdatedAuditEntry(const EndpointUpdate& update);
events::v1::EventEnvelope RotatedAuditEntry(const SecretRotation& rotation);

// NOT_FOUND "webhook endpoint <id> not found".
absl::Status EndpointNotFound(const std::string& endpoint_id);
}  // namespace endpoint_rules

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_ENDPOINT_STORE_H_
