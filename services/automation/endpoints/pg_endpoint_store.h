// EndpointStore on PostgreSQL (the automation schema).
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_PG_ENDPOINT_STORE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_PG_ENDPOINT_STORE_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/pg/pool.h"
#include "services/automation/endpoints/endpoint_store.h"
#include "services/automation/endpoints/secret_box.h"

namespace touchline::automation {

class PgEndpointStore final : public EndpointStore {
 public:
  // `pool` and `box` must outlive the store; `events_written` wakes the outbox relay after a
  // commit that wrote events (the audit entries).
  PgEndpointStore(pg::Pool* pool, const SecretBox* box, std::function<void()> events_written)
      : pool_(pool), box_(box), events_written_(std::move(events_written)) {}

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
  pg::Pool* const pool_;
  const SecretBox* const box_;
  const std::function<void()> events_written_;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_PG_ENDPOINT_STORE_H_
