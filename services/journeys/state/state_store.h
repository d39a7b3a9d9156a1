// Storage of where customers stand on journeys, for the per-customer RPCs. The mapping itself
// (journey_mapper.h) runs in the consumers' transactions; MoveCustomer runs it in the call's.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_STATE_STATE_STORE_H_
#define TOUCHLINE_SERVICES_JOURNEYS_STATE_STATE_STORE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "touchline/journeys/v1/journey.pb.h"
#include "touchline/journeys/v1/journeys_service.pb.h"

namespace touchline::journeys {

// A place in ListCustomersInStage's order.
struct StageMemberCursor {
  absl::Time stage_enter_time;
  std::string customer_id;
};

struct StageMembersQuery {
  std::string tenant_id;
  std::string journey_id;
  std::string stage_id;
  // Only those who entered the stage at or before this.
  absl::Time entered_by = absl::InfiniteFuture();
  std::optional<StageMemberCursor> after;
  int limit = 100;
  // Only customers this scope reads. Required.
  const auth::Scope* scope = nullptr;
};

// A manual move, as the manager checked it.
struct MoveRequest {
  auth::RequestContext caller;
  std::string customer_id;
  std::string journey_id;
  std::string to_stage_id;
  std::string reason;
  // Empty, or a valid request id: the move happens once for it.
  std::string request_id;
  std::string fingerprint;
  absl::Time now;
};

class JourneyStateStore {
 public:
  virtual ~JourneyStateStore() = default;

  // What row decisions need of the customer (the customer read model with its shares); nullopt
  // when the read model has no such customer.
  virtual absl::StatusOr<std::optional<auth::CustomerAttributes>> FindCustomer(
      const std::string& tenant_id, const std::string& customer_id) = 0;

  // Every journey the customer is on, by journey display name.
  virtual absl::StatusOr<std::vector<v1::CustomerJourney>> CustomerJourneys(
      const std::string& tenant_id, const std::string& customer_id) = 0;

  // The customer's visits on the journey after number `after_seq` (1 is the first), at most
  // `limit`, each with its number.
  virtual absl::StatusOr<std::vector<std::pair<int, v1::StageVisit>>> Visits(
      const std::string& tenant_id, const std::string& customer_id, const std::string& journey_id,
      int after_seq, int limit) = 0;

  // The customers in the stage, those in it longest first.
  virtual absl::StatusOr<std::vector<v1::StageMember>> StageMembers(
      const StageMembersQuery& query) = 0;

  // Moves the customer (journey_mapper.h MoveCustomer) and records the move in the audit log,
  // in one transaction; a request id used before returns where the customer stands without
  // moving it again, one used for another request is ALREADY_EXISTS.
  virtual absl::StatusOr<v1::CustomerJourney> MoveCustomer(const MoveRequest& move) = 0;
};

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_STATE_STATE_STORE_H_
