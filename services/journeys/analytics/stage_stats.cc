#include "services/journeys/analytics/stage_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <set>
#include <tuple>
#include <utility>

#include "nlohmann/json.hpp"
#include "services/journeys/analytics/sql.h"

namespace touchline::journeys::analytics {
namespace {

using json = nlohmann::json;

bool IsZero(const StageContribution& figures) { return figures == StageContribution{}; }

// A row of a stats table: the key, the stage.
using StatsRow = std::pair<RollupKey, std::string>;
// A row of a current table: the key, the stage, the day the stay began.
using CurrentRow = std::tuple<RollupKey, std::string, absl::CivilDay>;
// A row of a paths table: the key, the stage, the channels.
using PathRow = std::tuple<RollupKey, std::string, ChannelPath>;

struct Sums {
  std::map<StatsRow, StageContribution> stats;
  std::map<CurrentRow, int64_t> current;
  std::map<PathRow, int64_t> paths;

  void Add(const StatsDelta& delta) {
    for (const StatsDelta::Stats& row : delta.stats) {
      AddFigures(stats[{row.key, row.stage_id}], row.figures);
    }
    for (const StatsDelta::Current& row : delta.current) {
      current[{row.key, row.stage_id, row.stage_enter_day}] += row.current;
    }
    for (const StatsDelta::Path& row : delta.paths) {
      paths[{row.key, row.stage_id, row.channels}] += row.customers;
    }
  }

  void Add(const ContributionKey& member, const Contribution& c, int sign) {
    for (const RollupKey& k : RollupsOf(member)) {
      for (const auto& [stage, figures] : c.stages) AddFigures(stats[{k, stage}], figures, sign);
      for (const auto& [stage, path] : c.paths) paths[{k, stage, path}] += sign;
      if (!c.current_stage.empty()) current[{k, c.current_stage, c.current_since}] += sign;
    }
  }

  StatsDelta Delta() const {
    StatsDelta delta;
    for (const auto& [row, figures] : stats) {
      if (!IsZero(figures)) delta.stats.push_back({row.first, row.second, figures});
    }
    for (const auto& [row, count] : current) {
      const auto& [key, stage, since] = row;
      if (count != 0) delta.current.push_back({key, stage, since, count});
    }
    for (const auto& [row, customers] : paths) {
      const auto& [key, stage, channels] = row;
      if (customers != 0) delta.paths.push_back({key, stage, channels, customers});
    }
    return delta;
  }
};

json KeyJson(const RollupKey& rollup, const std::string& stage_id) {
  const ContributionKey& key = rollup.key;
  return json{{"detail", static_cast<int>(rollup.detail)},
              {"months", rollup.months},
              {"version", key.version},
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
    item["touchpoints"] = row.figures.touchpoints;
    item["sentiments"] = row.figures.sentiments;
    item["emotions"] = row.figures.emotions;
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

json PathsJson(const std::vector<StatsDelta::Path>& rows) {
  json out = json::array();
  for (const StatsDelta::Path& row : rows) {
    json item = KeyJson(row.key, row.stage_id);
    item["channels"] = row.channels;
    item["customers"] = row.customers;
    out.push_back(std::move(item));
  }
  return out;
}

// A touchpoint fact's place in the fold: (time, id), as path/path.h orders facts.
using FoldKey = std::pair<absl::Time, std::string>;

FoldKey KeyOfFact(const internal::Fact& fact) {
  return {absl::FromUnixSeconds(fact.occur_time().seconds()) +
              absl::Nanoseconds(fact.occur_time().nanos()),
          fact.fact_id()};
}

FoldKey KeyOfVisit(const Visit& visit) { return {visit.enter_time, visit.cause_id}; }

void AddTouchpoint(StageContribution& stage, const touchpoints::v1::Touchpoint& t) {
  ++stage.touchpoints;
  if (t.sentiment() >= 1 && t.sentiment() <= kSentiments) ++stage.sentiments[t.sentiment() - 1];
  for (const int label : t.emotion_labels()) {
    if (label >= 1 && label <= kEmotionLabels) ++stage.emotions[label - 1];
  }
}

// Adds a stay that ended to `stage`.
void AddExit(StageContribution& stage, const Visit& visit) {
  const absl::Duration length = visit.exit_time - visit.enter_time;
  ++stage.exits;
  stage.exit_seconds += absl::ToDoubleSeconds(length);
  ++stage.histogram[HistogramBucket(length)];
}

// The stay `visit` begins (the member is in it now).
void Enter(Contribution& c, const Visit& visit) {
  ++c.stages[visit.stage_id].current;
  c.current_stage = visit.stage_id;
  c.current_since = UtcDay(visit.enter_time);
}

constexpr absl::CivilDay kEpochDay(1970, 1, 1);

}  // namespace

bool RollupKey::operator<(const RollupKey& other) const {
  const auto tie = [](const RollupKey& r) {
    const ContributionKey& k = r.key;
    return std::tie(r.detail, r.months, k.version, k.owner_id, k.region, k.level, k.entry_day);
  };
  return tie(*this) < tie(other);
}

std::vector<RollupKey> RollupsOf(const ContributionKey& key) {
  const ContributionKey by_region{key.version, "", key.region, key.level, key.entry_day};
  const ContributionKey all{key.version, "", "", 0, key.entry_day};
  std::vector<RollupKey> rollups;
  for (const auto& [detail, cut] :
       {std::pair{Detail::kTenant, &all}, std::pair{Detail::kRegion, &by_region},
        std::pair{Detail::kOwner, &key}}) {
    rollups.push_back({detail, false, *cut});
    RollupKey month{detail, true, *cut};
    month.key.entry_day = absl::CivilDay(absl::CivilMonth(cut->entry_day));
    rollups.push_back(std::move(month));
  }
  return rollups;
}

void AddFigures(StageContribution& to, const StageContribution& from, int sign) {
  to.reached += sign * from.reached;
  to.current += sign * from.current;
  to.exits += sign * from.exits;
  to.exit_seconds += sign * from.exit_seconds;
  for (int i = 0; i < kHistogramBuckets; ++i) to.histogram[i] += sign * from.histogram[i];
  to.touchpoints += sign * from.touchpoints;
  for (int i = 0; i < kSentiments; ++i) to.sentiments[i] += sign * from.sentiments[i];
  for (int i = 0; i < kEmotionLabels; ++i) to.emotions[i] += sign * from.emotions[i];
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

Contribution ContributionOf(const std::vector<Visit>& visits,
                            std::span<const internal::Fact> facts) {
  Contribution c;
  for (const Visit& visit : visits) {
    c.stages[visit.stage_id].reached = 1;
    if (visit.exit_time == absl::InfiniteFuture()) {
      Enter(c, visit);
    } else {
      AddExit(c.stages[visit.stage_id], visit);
    }
  }
  std::vector<std::pair<FoldKey, const touchpoints::v1::Touchpoint*>> touchpoints;
  for (const internal::Fact& fact : facts) {
    if (fact.has_touchpoint()) touchpoints.emplace_back(KeyOfFact(fact), &fact.touchpoint());
  }
  std::sort(touchpoints.begin(), touchpoints.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // Walks the visits and the touchpoints in fold order together: `next` is the first
  // touchpoint not yet counted in a stage.
  size_t next = 0;
  std::set<std::string> seen;
  for (size_t i = 0; i < visits.size(); ++i) {
    const FoldKey start = KeyOfVisit(visits[i]);
    for (; next < touchpoints.size() && touchpoints[next].first < start; ++next) {
      if (i > 0) AddTouchpoint(c.stages[visits[i - 1].stage_id], *touchpoints[next].second);
    }
    if (!seen.insert(visits[i].stage_id).second) continue;
    // The path includes the touchpoint that began the visit, if one did.
    size_t end = next;
    while (end < touchpoints.size() && touchpoints[end].first <= start) ++end;
    if (end == 0) continue;
    ChannelPath& path = c.paths[visits[i].stage_id];
    for (size_t j = end - std::min<size_t>(end, kMaxPathLength); j < end; ++j) {
      path.push_back(touchpoints[j].second->channel());
    }
  }
  for (; next < touchpoints.size() && !visits.empty(); ++next) {
    AddTouchpoint(c.stages[visits.back().stage_id], *touchpoints[next].second);
  }
  for (size_t j = touchpoints.size() - std::min<size_t>(touchpoints.size(), kMaxPathLength);
       j < touchpoints.size(); ++j) {
    c.recent.push_back(touchpoints[j].second->channel());
  }
  return c;
}

Contribution Advanced(Contribution c, const internal::Fact& fact,
                      const std::vector<Visit>& visits) {
  if (fact.has_touchpoint()) {
    c.recent.push_back(fact.touchpoint().channel());
    if (c.recent.size() > kMaxPathLength) c.recent.erase(c.recent.begin());
  }
  if (visits.size() == 2) {
    StageContribution& ended = c.stages[visits[0].stage_id];
    --ended.current;
    AddExit(ended, visits[0]);
    StageContribution& entered = c.stages[visits[1].stage_id];
    if (entered.reached == 0) {
      entered.reached = 1;
      if (!c.recent.empty()) c.paths[visits[1].stage_id] = c.recent;
    }
    Enter(c, visits[1]);
  }
  if (fact.has_touchpoint() && !visits.empty()) {
    AddTouchpoint(c.stages[visits.back().stage_id], fact.touchpoint());
  }
  return c;
}

internal::Contribution ToProto(const Contribution& c) {
  internal::Contribution proto;
  for (const auto& [id, figures] : c.stages) {
    internal::Contribution::Stage& stage = (*proto.mutable_stages())[id];
    stage.set_reached(figures.reached);
    stage.set_current(figures.current);
    stage.set_exits(figures.exits);
    stage.set_exit_seconds(figures.exit_seconds);
    for (int i = 0; i < kHistogramBuckets; ++i) {
      if (figures.histogram[i] != 0) (*stage.mutable_histogram())[i] = figures.histogram[i];
    }
    stage.set_touchpoints(figures.touchpoints);
    *stage.mutable_sentiments() = {figures.sentiments.begin(), figures.sentiments.end()};
    *stage.mutable_emotions() = {figures.emotions.begin(), figures.emotions.end()};
    if (const auto path = c.paths.find(id); path != c.paths.end()) {
      *stage.mutable_path() = {path->second.begin(), path->second.end()};
    }
  }
  proto.set_current_stage(c.current_stage);
  proto.set_current_since(c.current_since - kEpochDay);
  *proto.mutable_recent_channels() = {c.recent.begin(), c.recent.end()};
  return proto;
}

Contribution FromProto(const internal::Contribution& proto) {
  Contribution c;
  for (const auto& [id, stage] : proto.stages()) {
    StageContribution& figures = c.stages[id];
    figures.reached = stage.reached();
    figures.current = stage.current();
    figures.exits = stage.exits();
    figures.exit_seconds = stage.exit_seconds();
    for (const auto& [bucket, count] : stage.histogram()) {
      if (bucket >= 0 && bucket < kHistogramBuckets) figures.histogram[bucket] = count;
    }
    figures.touchpoints = stage.touchpoints();
    for (int i = 0; i < kSentiments && i < stage.sentiments_size(); ++i) {
      figures.sentiments[i] = stage.sentiments(i);
    }
    for (int i = 0; i < kEmotionLabels && i < stage.emotions_size(); ++i) {
      figures.emotions[i] = stage.emotions(i);
    }
    if (stage.path_size() > 0) c.paths[id] = {stage.path().begin(), stage.path().end()};
  }
  c.current_stage = proto.current_stage();
  c.current_since = kEpochDay + proto.current_since();
  c.recent = {proto.recent_channels().begin(), proto.recent_channels().end()};
  return c;
}

StatsDelta Diff(const ContributionKey& before_key, const Contribution& before,
                const ContributionKey& after_key, const Contribution& after) {
  Sums sums;
  sums.Add(before_key, before, -1);
  sums.Add(after_key, after, 1);
  return sums.Delta();
}

void ApplyStatsDelta(pqxx::work& txn, const std::string& tenant, const std::string& journey_id,
                     const StatsDelta& delta) {
  if (delta.empty()) return;
  const json rows = {{"stats", StatsJson(delta.stats)},
                     {"current", CurrentJson(delta.current)},
                     {"paths", PathsJson(delta.paths)}};
  txn.exec_prepared(sql::kAddStatsName, tenant, journey_id, rows.dump());
}

void PendingStats::Add(const std::string& tenant, const std::string& journey_id, StatsDelta delta) {
  if (!delta.empty()) deltas_[{tenant, journey_id}].push_back(std::move(delta));
}

void PendingStats::Apply(pqxx::work& txn) {
  for (const auto& [journey, deltas] : deltas_) {
    Sums sums;
    for (const StatsDelta& delta : deltas) sums.Add(delta);
    ApplyStatsDelta(txn, journey.first, journey.second, sums.Delta());
  }
  deltas_.clear();
}

}  // namespace touchline::journeys::analytics
