#include "services/journeys/analytics/stage_stats.h"

#include <bit>
#include <cmath>
#include <tuple>
#include <utility>

#include "nlohmann/json.hpp"
#include "services/journeys/analytics/sql.h"

namespace touchline::journeys::analytics {
namespace {

using json = nlohmann::json;

bool IsZero(const StageContribution& figures) { return figures == StageContribution{}; }

// A row of a stats table: the key, the stage.
using StatsRow = std::tuple<int, std::string, std::string, int, absl::CivilDay, std::string>;
// A row of a current table: the key, the stage, the day the stay began.
using CurrentRow =
    std::tuple<int, std::string, std::string, int, absl::CivilDay, std::string, absl::CivilDay>;

struct Sums {
  std::map<StatsRow, StageContribution> stats;
  std::map<StatsRow, StageContribution> stats_all;
  std::map<CurrentRow, int64_t> current;
  std::map<CurrentRow, int64_t> current_all;

  void Add(const ContributionKey& k, const Contribution& c, int sign) {
    for (const auto& [stage, figures] : c.stages) {
      AddFigures(stats[{k.version, k.owner_id, k.region, k.level, k.entry_day, stage}], figures,
                 sign);
      AddFigures(stats_all[{k.version, "", "", 0, k.entry_day, stage}], figures, sign);
    }
    if (c.current_stage.empty()) return;
    current[{k.version, k.owner_id, k.region, k.level, k.entry_day, c.current_stage,
             c.current_since}] += sign;
    current_all[{k.version, "", "", 0, k.entry_day, c.current_stage, c.current_since}] += sign;
  }
};

ContributionKey KeyOf(const StatsRow& row) {
  return ContributionKey{.version = std::get<0>(row),
                         .owner_id = std::get<1>(row),
                         .region = std::get<2>(row),
                         .level = std::get<3>(row),
                         .entry_day = std::get<4>(row)};
}

std::vector<StatsDelta::Stats> StatsRows(const std::map<StatsRow, StageContribution>& sums) {
  std::vector<StatsDelta::Stats> rows;
  for (const auto& [row, figures] : sums) {
    if (!IsZero(figures)) rows.push_back({KeyOf(row), std::get<5>(row), figures});
  }
  return rows;
}

std::vector<StatsDelta::Current> CurrentRows(const std::map<CurrentRow, int64_t>& sums) {
  std::vector<StatsDelta::Current> rows;
  for (const auto& [row, current] : sums) {
    if (current == 0) continue;
    const auto& [version, owner, region, level, entry_day, stage, since] = row;
    rows.push_back(
        {ContributionKey{version, owner, region, level, entry_day}, stage, since, current});
  }
  return rows;
}

json KeyJson(const ContributionKey& key, const std::string& stage_id) {
  return json{{"version", key.version},
              {"owner_id", key.owner_id},
              {"region", key.region},
              {"level", key.level},
              {"entry_day", absl::FormatCivilTime(key.entry_day)},
              {"stage_id", stage_id}};
}

json StatsJson(const std::vector<StatsDelta::Stats>& rows) {
  json out = json::array();
  for (const StatsDelta::Stats& row : rows) {
    json item = KeyJson(row.key, row.stage_id);
    item["reached"] = row.figures.reached;
    item["current"] = row.figures.current;
    item["exits"] = row.figures.exits;
    item["exit_seconds"] = row.figures.exit_seconds;
    item["exit_histogram"] = row.figures.histogram;
    out.push_back(std::move(item));
  }
  return out;
}

json CurrentJson(const std::vector<StatsDelta::Current>& rows) {
  json out = json::array();
  for (const StatsDelta::Current& row : rows) {
    json item = KeyJson(row.key, row.stage_id);
    item["stage_enter_day"] = absl::FormatCivilTime(row.stage_enter_day);
    item["current"] = row.current;
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

void AddFigures(StageContribution& to, const StageContribution& from, int sign) {
  to.reached += sign * from.reached;
  to.current += sign * from.current;
  to.exits += sign * from.exits;
  to.exit_seconds += sign * from.exit_seconds;
  for (int i = 0; i < kHistogramBuckets; ++i) to.histogram[i] += sign * from.histogram[i];
}

int HistogramBucket(absl::Duration length) {
  const int64_t minutes = absl::ToInt64Minutes(length);
  if (minutes < 1) return 0;
  return std::min(static_cast<int>(std::bit_width(static_cast<uint64_t>(minutes))),
                  kHistogramBuckets - 1);
}

absl::Duration BucketMiddle(int bucket) { return absl::Minutes(std::exp2(bucket - 0.5)); }

absl::Duration HistogramPercentile(const Histogram& histogram, int percent) {
  int64_t stays = 0;
  for (int64_t count : histogram) stays += count;
  if (stays <= 0) return absl::ZeroDuration();
  const int64_t rank = std::max<int64_t>(1, (percent * stays + 99) / 100);
  int64_t seen = 0;
  for (int i = 0; i < kHistogramBuckets; ++i) {
    seen += histogram[i];
    if (seen >= rank) return BucketMiddle(i);
  }
  return BucketMiddle(kHistogramBuckets - 1);
}

absl::CivilDay UtcDay(absl::Time time) { return absl::ToCivilDay(time, absl::UTCTimeZone()); }

Contribution TailContribution(const std::vector<Visit>& tail,
                              const std::vector<std::string>& reached_before) {
  Contribution c;
  for (const std::string& stage : reached_before) c.stages[stage].reached = 1;
  for (const Visit& visit : tail) {
    StageContribution& stage = c.stages[visit.stage_id];
    stage.reached = 1;
    if (visit.exit_time == absl::InfiniteFuture()) {
      stage.current = 1;
      c.current_stage = visit.stage_id;
      c.current_since = UtcDay(visit.enter_time);
      continue;
    }
    const absl::Duration length = visit.exit_time - visit.enter_time;
    ++stage.exits;
    stage.exit_seconds += absl::ToDoubleSeconds(length);
    ++stage.histogram[HistogramBucket(length)];
  }
  return c;
}

Contribution ContributionOf(const std::vector<Visit>& visits) {
  return TailContribution(visits, {});
}

StatsDelta Diff(const ContributionKey& before_key, const Contribution& before,
                const ContributionKey& after_key, const Contribution& after) {
  Sums sums;
  sums.Add(before_key, before, -1);
  sums.Add(after_key, after, 1);
  StatsDelta delta;
  delta.stats = StatsRows(sums.stats);
  delta.stats_all = StatsRows(sums.stats_all);
  delta.current = CurrentRows(sums.current);
  delta.current_all = CurrentRows(sums.current_all);
  return delta;
}

void ApplyStatsDelta(pqxx::work& txn, const std::string& tenant, const std::string& journey_id,
                     const StatsDelta& delta) {
  if (delta.empty()) return;
  const json rows = {{"stats", StatsJson(delta.stats)},
                     {"stats_all", StatsJson(delta.stats_all)},
                     {"current", CurrentJson(delta.current)},
                     {"current_all", CurrentJson(delta.current_all)}};
  txn.exec_prepared(sql::kAddStatsName, tenant, journey_id, rows.dump());
}

}  // namespace touchline::journeys::analytics
