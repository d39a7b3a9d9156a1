// What one member of a journey adds to the stage analytics (migrations/0002_stage_stats.sql),
// computed from its visits alone, and how a change of the member changes the sums: the
// mapper (state/journey_mapper.cc) files the difference of a member's contribution before and
// after each change, in the change's transaction, so the aggregates always equal a
// recomputation from stage_visits and journey_members. Everything but ApplyStatsDelta is pure.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_STAGE_STATS_H_
#define TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_STAGE_STATS_H_

#include <array>
#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/journeys/path/path.h"

namespace touchline::journeys::analytics {

// Stays by length: bucket 0 under a minute, bucket i in [2^(i-1), 2^i) minutes, the last
// bucket open-ended.
inline constexpr int kHistogramBuckets = 32;
using Histogram = std::array<int64_t, kHistogramBuckets>;

// The bucket of a stay that lasted `length` (negative lengths count as 0).
int HistogramBucket(absl::Duration length);
// What a bucket reports: its geometric middle, 2^(i - 1/2) minutes (bucket 0 by the same
// formula, about 42 seconds).
absl::Duration BucketMiddle(int bucket);
// The `percent` percentile (1 to 100) of the stays `histogram` counts, by nearest rank (the
// ceil(percent/100 * n)-th shortest stay), as its bucket's middle; zero when it counts none.
absl::Duration HistogramPercentile(const Histogram& histogram, int percent);

// One stage's share of a member's figures.
struct StageContribution {
  int64_t reached = 0;  // 1 when the path reached the stage, however often
  int64_t current = 0;  // 1 when the member is in it now
  int64_t exits = 0;    // stays in it that ended
  double exit_seconds = 0;
  Histogram histogram{};

  bool operator==(const StageContribution&) const = default;
};

// Adds `sign` times `from` to `to`.
void AddFigures(StageContribution& to, const StageContribution& from, int sign = 1);

// A member's contribution: its figures by stage, and the stay it is in now.
struct Contribution {
  std::map<std::string, StageContribution> stages;
  // The stage of the visit not yet exited ("" when none) and the UTC day it began.
  std::string current_stage;
  absl::CivilDay current_since;

  bool operator==(const Contribution&) const = default;
};

// The contribution of a member whose path is `visits` (in order).
Contribution ContributionOf(const std::vector<Visit>& visits);

// The contribution of `tail`, the last visits of a path whose earlier visits reached the
// stages `reached_before`: those stages count as reached and their earlier stays are left out.
// Equal earlier visits cancel in a diff, so the diff of two tails over the same earlier visits
// is the diff of the whole paths (what an advance needs without loading the path).
Contribution TailContribution(const std::vector<Visit>& tail,
                              const std::vector<std::string>& reached_before);

// Where a member's contribution is filed.
struct ContributionKey {
  int version = 0;
  std::string owner_id;
  std::string region;
  int level = 0;
  absl::CivilDay entry_day;  // UTC day of journey_members.enter_time

  bool operator==(const ContributionKey&) const = default;
};

// The UTC day of `time`.
absl::CivilDay UtcDay(absl::Time time);

// What to add to the four tables: rows with their key, none of them all zeros.
struct StatsDelta {
  struct Stats {
    ContributionKey key;  // owner, region and level empty/0 in stats_all
    std::string stage_id;
    StageContribution figures;  // may be negative
  };
  struct Current {
    ContributionKey key;
    std::string stage_id;
    absl::CivilDay stage_enter_day;
    int64_t current = 0;
  };
  std::vector<Stats> stats;
  std::vector<Stats> stats_all;
  std::vector<Current> current;
  std::vector<Current> current_all;

  bool empty() const {
    return stats.empty() && stats_all.empty() && current.empty() && current_all.empty();
  }
};

// after (filed under `after_key`) minus before (under `before_key`), summed per row of each
// table (so a change of owner alone leaves the _all tables alone), zero rows left out.
StatsDelta Diff(const ContributionKey& before_key, const Contribution& before,
                const ContributionKey& after_key, const Contribution& after);

// Adds `delta` to the four tables for journey `journey_id` of `tenant`, in the caller's
// transaction: one statement, none when the delta is empty. A row left negative fails the
// statement (check_violation): the aggregates and the paths disagreed.
void ApplyStatsDelta(pqxx::work& txn, const std::string& tenant, const std::string& journey_id,
                     const StatsDelta& delta);

}  // namespace touchline::journeys::analytics

#endif  // TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_STAGE_STATS_H_
