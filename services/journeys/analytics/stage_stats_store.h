// Where the stage analytics are read from: the journey's versions and the sums of the
// aggregates (migrations/0005_stage_rollups.sql) a scope sees.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_STAGE_STATS_STORE_H_
#define TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_STAGE_STATS_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "common/auth/scope.h"
#include "common/pg/pool.h"
#include "services/journeys/analytics/stage_stats.h"
#include "touchline/journeys/v1/journey.pb.h"

namespace touchline::journeys::analytics {

// The figures of one stage of one version, summed over the members counted.
struct StageTotals {
  StageContribution figures;
  // The members in the stage now, by the UTC day they entered it: at least the days after
  // TotalsQuery::current_since_after (a store may give earlier days too), none when unset.
  std::map<absl::CivilDay, int64_t> current_since;
  // The members by the path (cut to TotalsQuery::path_length) they first reached it on.
  std::map<ChannelPath, int64_t> paths;
};

// By (version, stage_id).
using TotalsByStage = std::map<std::pair<int, std::string>, StageTotals>;

struct TotalsQuery {
  std::string tenant_id;
  std::string journey_id;
  int version = 0;  // 0: every version
  // Members who entered the journey on a UTC day in [from_day, before_day); unset: open.
  std::optional<absl::CivilDay> from_day;
  std::optional<absl::CivilDay> before_day;
  // Whose customers count. Not owned.
  const auth::Scope* scope = nullptr;
  // How many of the last channels of each path count (1 to kMaxPathLength).
  int path_length = 3;
  // The days of StageTotals::current_since needed: those after this one.
  std::optional<absl::CivilDay> current_since_after;
};

class StageStatsStore {
 public:
  virtual ~StageStatsStore() = default;
  // Every version of the journey, oldest first; empty when the tenant has no such journey.
  virtual absl::StatusOr<std::vector<v1::Journey>> Versions(const std::string& tenant_id,
                                                            const std::string& journey_id) = 0;
  // The sums over the members `query` selects, whose customers its scope sees.
  virtual absl::StatusOr<TotalsByStage> Totals(const TotalsQuery& query) = 0;
};

// Reads the aggregates (migrations/0005_stage_rollups.sql): the rows of detail kTenant for a
// scope that sees every customer; else those of detail kRegion for its territory, those of
// detail kOwner for its owners' customers outside the territory and, from the contributions
// they filed, the members whose customers it sees only through shares.
class PgStageStatsStore final : public StageStatsStore {
 public:
  // Not owned; must outlive the store.
  explicit PgStageStatsStore(pg::Pool* pool) : pool_(pool) {}

  absl::StatusOr<std::vector<v1::Journey>> Versions(const std::string& tenant_id,
                                                    const std::string& journey_id) override;
  absl::StatusOr<TotalsByStage> Totals(const TotalsQuery& query) override;

 private:
  pg::Pool* const pool_;
};

}  // namespace touchline::journeys::analytics

#endif  // TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_STAGE_STATS_STORE_H_
