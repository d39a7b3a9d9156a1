// StageStatsStore in memory, for tests of what sits above it (AnalyticsManager) without
// PostgreSQL: it keeps the members' contributions themselves, not their sums, and answers
// Totals as the aggregates would for them: the sum over the members the query selects
// (version, entry day) whose customers its scope reads, paths cut to the query's length.
// Thread-safe.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_TESTING_IN_MEMORY_STAGE_STATS_STORE_H_
#define TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_TESTING_IN_MEMORY_STAGE_STATS_STORE_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "services/journeys/analytics/stage_stats.h"
#include "services/journeys/analytics/stage_stats_store.h"

namespace touchline::journeys::analytics::testing {

// A member of a journey, as the aggregates count it.
struct StatsMember {
  // Whose row decisions apply (owner, region, level and shares).
  auth::CustomerAttributes customer;
  int version = 1;
  // The UTC day it entered the journey.
  absl::CivilDay entry_day;
  Contribution contribution;
};

class InMemoryStageStatsStore final : public StageStatsStore {
 public:
  // Adds or replaces version `journey.version()` of journey `journey.journey_id()`.
  void AddJourney(const std::string& tenant_id, v1::Journey journey);
  // Adds a member of the journey (its version need not have been added).
  void AddMember(const std::string& tenant_id, const std::string& journey_id, StatsMember member);

  absl::StatusOr<std::vector<v1::Journey>> Versions(const std::string& tenant_id,
                                                    const std::string& journey_id) override;
  absl::StatusOr<TotalsByStage> Totals(const TotalsQuery& query) override;

 private:
  using JourneyKey = std::pair<std::string, std::string>;  // (tenant, journey id)

  mutable absl::Mutex mu_;
  // Every version of each journey, by version.
  std::map<JourneyKey, std::map<int, v1::Journey>> journeys_ ABSL_GUARDED_BY(mu_);
  std::map<JourneyKey, std::vector<StatsMember>> members_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::journeys::analytics::testing

#endif  // TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_TESTING_IN_MEMORY_STAGE_STATS_STORE_H_
