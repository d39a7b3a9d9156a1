// What one member of a journey adds to the stage analytics (migrations/0002_stage_stats.sql,
// 0003_emotions_and_paths.sql), computed from its visits and its touchpoints, and how a change
// of the member changes the sums: the mapper (state/journey_mapper.cc) keeps each member's
// contribution as last filed (journey_members.filed) and files the difference to the new one
// with each change, in the change's transaction, so the aggregates always equal the sum of the
// members' contributions. Everything but ApplyStatsDelta is pure.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_STAGE_STATS_H_
#define TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_STAGE_STATS_H_

#include <array>
#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/journeys/facts.pb.h"
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

// Sentiments counted (touchline.touchpoints.v1.Sentiment 1 to 3: positive, neutral,
// negative) and emotion labels (EmotionLabel 1 to 6), each at its number - 1.
inline constexpr int kSentiments = 3;
inline constexpr int kEmotionLabels = 6;
using SentimentCounts = std::array<int64_t, kSentiments>;
using EmotionCounts = std::array<int64_t, kEmotionLabels>;

// One stage's share of a member's figures.
struct StageContribution {
  int64_t reached = 0;  // 1 when the path reached the stage, however often
  int64_t current = 0;  // 1 when the member is in it now
  int64_t exits = 0;    // stays in it that ended
  double exit_seconds = 0;
  Histogram histogram{};
  // The member's touchpoints recorded while it was in the stage, their sentiments and emotions.
  int64_t touchpoints = 0;
  SentimentCounts sentiments{};
  EmotionCounts emotions{};

  bool operator==(const StageContribution&) const = default;
};

// Adds `sign` times `from` to `to`.
void AddFigures(StageContribution& to, const StageContribution& from, int sign = 1);

// The channels (touchline.touchpoints.v1.Channel numbers) of a customer's last touchpoints up to
// some point, oldest first, at most kMaxPathLength.
inline constexpr int kMaxPathLength = 5;
using ChannelPath = std::vector<int>;

// A member's contribution: its figures by stage, the stay it is in now, and its common paths.
//
// A touchpoint counts in the stage of the last visit that began at or before it, comparing
// (time, fact id) as the path is folded: the touchpoint that moved the customer into a stage
// counts in that stage. A stage's path is the channels of the last kMaxPathLength touchpoints
// at or before the start of the stage's first visit (that touchpoint included); none when
// there were none.
struct Contribution {
  std::map<std::string, StageContribution> stages;
  // The stage of the visit not yet exited ("" when none) and the UTC day it began.
  std::string current_stage;
  absl::CivilDay current_since;
  // By stage reached after at least one touchpoint.
  std::map<std::string, ChannelPath> paths;
  // The channels of the last touchpoints folded: not filed, what the next stage reached takes
  // as its path.
  ChannelPath recent;

  bool operator==(const Contribution&) const = default;
};

// The contribution of a member whose path is `visits` (in order) given its facts `facts` (any
// order; only touchpoints count).
Contribution ContributionOf(const std::vector<Visit>& visits,
                            std::span<const internal::Fact> facts = {});

// `filed` (a member's contribution) after one more fact, later than every fact folded into it,
// has been folded into its path: `visits` are the visit the member was in before it and the one
// it entered (when it moved the member), or the visit it is still in. Equals ContributionOf
// over the whole path and every fact, without them.
Contribution Advanced(Contribution filed, const internal::Fact& fact,
                      const std::vector<Visit>& visits);

// The stored form of a contribution (journey_members.filed), and back.
internal::Contribution ToProto(const Contribution& c);
Contribution FromProto(const internal::Contribution& proto);

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

// How much of a member's key a row of the aggregates keeps (migrations/0005_stage_rollups.sql):
// every customer of the journey, per region and level, or per owner, region and level.
enum class Detail { kTenant = 0, kRegion = 1, kOwner = 2 };

// The key of a row of the aggregates: a member's key cut to `detail` (owner_id and region
// empty, level 0, where it keeps none), its entry day the first of its month when `months`.
struct RollupKey {
  Detail detail = Detail::kTenant;
  bool months = false;
  ContributionKey key;

  bool operator==(const RollupKey&) const = default;
  bool operator<(const RollupKey& other) const;
};

// The six rows a member keyed `key` is filed in: each detail, by day and by month.
std::vector<RollupKey> RollupsOf(const ContributionKey& key);

// What to add to the three tables: rows with their key, none of them all zeros.
struct StatsDelta {
  struct Stats {
    RollupKey key;
    std::string stage_id;
    StageContribution figures;  // may be negative
  };
  struct Current {
    RollupKey key;
    std::string stage_id;
    absl::CivilDay stage_enter_day;
    int64_t current = 0;
  };
  struct Path {
    RollupKey key;
    std::string stage_id;
    ChannelPath channels;
    int64_t customers = 0;
  };
  std::vector<Stats> stats;
  std::vector<Current> current;
  std::vector<Path> paths;

  bool empty() const { return stats.empty() && current.empty() && paths.empty(); }
};

// after (filed under `after_key`) minus before (under `before_key`), summed per row of each
// table (so a change of owner alone leaves the rows of detail kTenant alone), zero rows left
// out.
StatsDelta Diff(const ContributionKey& before_key, const Contribution& before,
                const ContributionKey& after_key, const Contribution& after);

// Adds `delta` to the three tables for journey `journey_id` of `tenant`, in the caller's
// transaction: one statement, none when the delta is empty. A row left negative fails the
// statement (check_violation): the aggregates and the paths disagreed.
void ApplyStatsDelta(pqxx::work& txn, const std::string& tenant, const std::string& journey_id,
                     const StatsDelta& delta);

// The deltas of the changes of one transaction, summed per row, to be added at its end: one
// statement per journey however many changes there were (a batch of touchpoints of customers
// with the same owner, region, level and entry day adds to the same few rows).
class PendingStats {
 public:
  void Add(const std::string& tenant, const std::string& journey_id, StatsDelta delta);
  // ApplyStatsDelta of the sums, per tenant and journey; then nothing is pending.
  void Apply(pqxx::work& txn);

 private:
  std::map<std::pair<std::string, std::string>, std::vector<StatsDelta>> deltas_;
};

}  // namespace touchline::journeys::analytics

#endif  // TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_STAGE_STATS_H_
