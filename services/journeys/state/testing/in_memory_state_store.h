// JourneyStateStore in memory, for tests of what sits above it (JourneyStateManager) without
// PostgreSQL: the same contract as PgJourneyStateStore (the customer read model with shares,
// journey versions, members and their visits, manual moves with an audit entry and an
// idempotency key), every call atomic. Display names are ordered by ICU's zh collation, as
// PostgreSQL's "zh-Hans-x-icu". A manual move is the mapper's last step without the rest of
// the mapping: the move fact is folded onto the member's visits (path.h Advance) at the
// request's time, which the tests keep after every visit they add. Thread-safe.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_STATE_TESTING_IN_MEMORY_STATE_STORE_H_
#define TOUCHLINE_SERVICES_JOURNEYS_STATE_TESTING_IN_MEMORY_STATE_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/idempotency/idempotency.h"
#include "services/journeys/path/path.h"
#include "services/journeys/state/state_store.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::journeys::testing {

class InMemoryJourneyStateStore final : public JourneyStateStore {
 public:
  // --- Setup ---

  // Adds or replaces customer `customer.customer_id` of `tenant_id` in the read model.
  void AddCustomer(const std::string& tenant_id, auth::CustomerAttributes customer);
  // Adds or replaces version `journey.version()` of journey `journey.journey_id()`. Members
  // are placed on it and moved by it only while it is JOURNEY_STATE_PUBLISHED, as the mapper
  // reads only published versions.
  void AddJourney(const std::string& tenant_id, v1::Journey journey);
  // Puts the customer on version `version` of the journey with the path `visits` (in order,
  // only the last one not exited, as DerivePath gives them): it stands in the last visit's
  // stage since its enter time, on the journey since the first's. Replaces what it had on the
  // journey. FAILED_PRECONDITION for a version not added or no visits. The customer need not
  // be in the read model (the store then answers as for a customer it does not know).
  absl::Status AddMember(const std::string& tenant_id, const std::string& customer_id,
                         const std::string& journey_id, int version, std::vector<Visit> visits);

  // --- What the writes left ---

  // The audit entries moves committed, oldest first.
  std::vector<events::v1::EventEnvelope> audit_entries() const;

  // --- JourneyStateStore ---

  absl::StatusOr<std::optional<auth::CustomerAttributes>> FindCustomer(
      const std::string& tenant_id, const std::string& customer_id) override;
  absl::StatusOr<std::vector<v1::CustomerJourney>> CustomerJourneys(
      const std::string& tenant_id, const std::string& customer_id) override;
  absl::StatusOr<std::vector<std::pair<int, v1::StageVisit>>> Visits(const std::string& tenant_id,
                                                                     const std::string& customer_id,
                                                                     const std::string& journey_id,
                                                                     int after_seq,
                                                                     int limit) override;
  // A member whose customer the read model does not hold shows only to scopes that see every
  // customer (the PostgreSQL store joins the read model only for the others).
  absl::StatusOr<std::vector<v1::StageMember>> StageMembers(
      const StageMembersQuery& query) override;
  absl::StatusOr<v1::CustomerJourney> MoveCustomer(const MoveRequest& move) override;

 private:
  using CustomerKey = std::pair<std::string, std::string>;  // (tenant, customer id)
  using JourneyKey = std::pair<std::string, std::string>;   // (tenant, journey id)
  // (tenant, customer id, journey id).
  using MemberKey = std::tuple<std::string, std::string, std::string>;

  struct Member {
    int version = 0;
    std::vector<Visit> visits;  // never empty
  };

  // The version `version` of the journey; nullptr when it was not added.
  const v1::Journey* VersionOf(const JourneyKey& journey, int version) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Where the member stands, as CustomerJourneys shows it; nullopt when its version is gone.
  std::optional<v1::CustomerJourney> PlaceOf(const MemberKey& key, const Member& member) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<CustomerKey, auth::CustomerAttributes> customers_ ABSL_GUARDED_BY(mu_);
  // Every version of each journey, by version.
  std::map<JourneyKey, std::map<int, v1::Journey>> journeys_ ABSL_GUARDED_BY(mu_);
  std::map<MemberKey, Member> members_ ABSL_GUARDED_BY(mu_);
  // (tenant, request id) -> what the first move with it recorded.
  std::map<std::pair<std::string, std::string>, idempotency::StoredRequest> keys_
      ABSL_GUARDED_BY(mu_);
  std::vector<events::v1::EventEnvelope> audit_entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::journeys::testing

#endif  // TOUCHLINE_SERVICES_JOURNEYS_STATE_TESTING_IN_MEMORY_STATE_STORE_H_
