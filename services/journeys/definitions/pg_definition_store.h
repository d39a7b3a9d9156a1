// DefinitionStore on PostgreSQL (libpqxx), with audit entries through the transactional
// outbox. The schema on the pool's search_path holds the journeys tables, the outbox and the
// idempotency keys (service_host::StandardMigrations with request_ids).
#ifndef TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_PG_DEFINITION_STORE_H_
#define TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_PG_DEFINITION_STORE_H_

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pg/pool.h"
#include "services/journeys/definitions/definition_store.h"

namespace touchline::journeys {

class PgDefinitionStore final : public DefinitionStore {
 public:
  // `pool` must outlive the store. `events_written` runs after each commit that wrote to the
  // outbox (it wakes the relay: host.RelayWaker()).
  PgDefinitionStore(pg::Pool* pool, std::function<void()> events_written);

  absl::StatusOr<v1::Journey> Create(const NewJourney& journey) override;
  absl::StatusOr<v1::Journey> Get(std::string_view tenant_id, std::string_view journey_id,
                                  int version) override;
  absl::StatusOr<JourneyPage> List(std::string_view tenant_id, bool show_archived, int page_size,
                                   const std::optional<JourneyCursor>& after) override;
  absl::StatusOr<std::vector<v1::Journey>> ListPublished(std::string_view tenant_id) override;
  absl::StatusOr<v1::Journey> Write(const WriteContext& context, std::string_view journey_id,
                                    const Decide& decide) override;

 private:
  pg::Pool* pool_;
  std::function<void()> events_written_;
};

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_PG_DEFINITION_STORE_H_
