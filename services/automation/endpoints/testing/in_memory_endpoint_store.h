// EndpointStore in memory, for tests of what sits above it (EndpointManager) without
// PostgreSQL: the same contract as PgEndpointStore (secrets sealed by the box it is given,
// creates with an idempotency key, writes with an audit entry), every call atomic: a call that
// fails changes nothing. Thread-safe.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_TESTING_IN_MEMORY_ENDPOINT_STORE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_TESTING_IN_MEMORY_ENDPOINT_STORE_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/idempotency/idempotency.h"
#include "services/automation/endpoints/endpoint_store.h"
#include "services/automation/endpoints/secret_box.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::automation::testing {

class InMemoryEndpointStore final : public EndpointStore {
 public:
  // `box` must outlive the store.
  explicit InMemoryEndpointStore(const SecretBox* box) : box_(box) {}

  // The audit entries writes committed, oldest first.
  std::vector<events::v1::EventEnvelope> audit_entries() const;

  // The sealed secrets of endpoint `endpoint_id` of `tenant_id`, as stored; NOT_FOUND as Get.
  absl::StatusOr<endpoint_rules::StoredSecrets> StoredSecretsOf(const std::string& tenant_id,
                                                                const std::string& endpoint_id);

  absl::StatusOr<EndpointWithSecret> Create(const NewEndpoint& endpoint) override;
  absl::StatusOr<v1::WebhookEndpoint> Get(const std::string& tenant_id,
                                          const std::string& endpoint_id) override;
  absl::StatusOr<std::vector<v1::WebhookEndpoint>> List(const EndpointQuery& query) override;
  absl::StatusOr<v1::WebhookEndpoint> Update(const EndpointUpdate& update) override;
  absl::StatusOr<v1::WebhookEndpoint> Rotate(const SecretRotation& rotation) override;
  absl::StatusOr<SigningEndpoint> SigningSecrets(const std::string& tenant_id,
                                                 const std::string& endpoint_id,
                                                 absl::Time now) override;

 private:
  using Key = std::pair<std::string, std::string>;  // (tenant, id)
  struct Row {
    v1::WebhookEndpoint endpoint;
    endpoint_rules::StoredSecrets secrets;
  };

  const SecretBox* const box_;
  mutable absl::Mutex mu_;
  // By (tenant, endpoint id), ids lower case.
  std::map<Key, Row> rows_ ABSL_GUARDED_BY(mu_);
  // (tenant, request id) -> what the first create with it recorded.
  std::map<Key, idempotency::StoredRequest> keys_ ABSL_GUARDED_BY(mu_);
  std::vector<events::v1::EventEnvelope> audit_entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::automation::testing

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_TESTING_IN_MEMORY_ENDPOINT_STORE_H_
