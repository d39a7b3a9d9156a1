// JourneyStateStore on PostgreSQL (the journeys schema, the customer read model and the shares
// read model beside it).
#ifndef TOUCHLINE_SERVICES_JOURNEYS_STATE_PG_STATE_STORE_H_
#define TOUCHLINE_SERVICES_JOURNEYS_STATE_PG_STATE_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/pg/pool.h"
#include "services/journeys/state/state_store.h"

namespace touchline::journeys {

class PgJourneyStateStore final : public JourneyStateStore {
 public:
  // `pool` must outlive the store; `events_written` wakes the outbox relay after a commit
  // that wrote events.
  PgJourneyStateStore(pg::Pool* pool, std::function<void()> events_written)
      : pool_(pool), events_written_(std::move(events_written)) {}

  absl::StatusOr<std::optional<auth::CustomerAttributes>> FindCustomer(
      const std::string& tenant_id, const std::string& customer_id) override;
  absl::StatusOr<std::vector<v1::CustomerJourney>> CustomerJourneys(
      const std::string& tenant_id, const std::string& customer_id) override;
  absl::StatusOr<std::vector<std::pair<int, v1::StageVisit>>> Visits(const std::string& tenant_id,
                                                                     const std::string& customer_id,
                                                                     const std::string& journey_id,
                                                                     int after_seq,
                                                                     int limit) override;
  absl::StatusOr<std::vector<v1::StageMember>> StageMembers(
      const StageMembersQuery& query) override;
  absl::StatusOr<v1::CustomerJourney> MoveCustomer(const MoveRequest& move) override;

 private:
  pg::Pool* const pool_;
  const std::function<void()> events_written_;
};

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_STATE_PG_STATE_STORE_H_
