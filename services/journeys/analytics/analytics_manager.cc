#include "services/journeys/analytics/analytics_manager.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/status/macros.h"
#include "common/status/time_fields.h"
#include "common/validation/field_checker.h"
#include "google/protobuf/util/time_util.h"
#include "services/journeys/state/visit_rows.h"

namespace touchline::journeys {
namespace {

using analytics::StageTotals;
using analytics::TotalsByStage;
using ::google::protobuf::util::TimeUtil;

google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}

// The stages listed, in order, each as the version that shows its name and kind: the
// version asked for, or (for every version) the latest published one's stages, then those of
// earlier versions only, the newest first.
std::vector<const v1::Stage*> ListedStages(const std::vector<const v1::Journey*>& versions) {
  std::vector<const v1::Stage*> listed;
  absl::flat_hash_set<std::string> seen;
  for (const v1::Journey* journey : versions) {
    for (const v1::Stage& stage : journey->stages()) {
      if (seen.insert(stage.stage_id()).second) listed.push_back(&stage);
    }
  }
  return listed;
}

// The versions whose stages are listed, the one that orders them first; nullptr-free.
absl::StatusOr<std::vector<const v1::Journey*>> VersionsListed(
    const std::vector<v1::Journey>& versions, const v1::GetStageAnalyticsRequest& request) {
  const std::string missing =
      request.version() == 0
          ? absl::StrCat("journey ", request.journey_id(), " not found")
          : absl::StrCat("journey ", request.journey_id(), " has no version ", request.version());
  std::vector<const v1::Journey*> listed;
  for (const v1::Journey& journey : versions) {
    if (request.version() == 0 ? journey.state() != v1::JOURNEY_STATE_DRAFT
                               : journey.version() == request.version()) {
      listed.push_back(&journey);
    }
  }
  // Only drafts: the latest draft's stages (no one is on a draft).
  if (request.version() == 0 && listed.empty() && !versions.empty()) {
    listed.push_back(&versions.back());
  }
  if (listed.empty()) return absl::NotFoundError(missing);
  std::sort(listed.begin(), listed.end(),
            [](const v1::Journey* a, const v1::Journey* b) { return a->version() > b->version(); });
  return listed;
}

constexpr int kDefaultPathLength = 3;
constexpr int kMaxPathCount = 20;
constexpr int kDefaultPathCount = 5;

// The emotion curve's point of one stage: its touchpoints' sentiments and emotions.
void SetEmotions(const analytics::StageContribution& sums, v1::StageFigures& figures) {
  figures.set_touchpoints(sums.touchpoints);
  const auto& [positive, neutral, negative] = sums.sentiments;
  figures.mutable_sentiment()->set_positive(positive);
  figures.mutable_sentiment()->set_neutral(neutral);
  figures.mutable_sentiment()->set_negative(negative);
  if (const int64_t rated = positive + neutral + negative; rated > 0) {
    figures.set_mean_sentiment(static_cast<double>(positive - negative) /
                               static_cast<double>(rated));
  }
  std::vector<std::pair<int64_t, int>> emotions;  // (touchpoints, label)
  for (int i = 0; i < analytics::kEmotionLabels; ++i) {
    if (sums.emotions[i] > 0) emotions.emplace_back(sums.emotions[i], i + 1);
  }
  std::stable_sort(emotions.begin(), emotions.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [count, label] : emotions) {
    v1::EmotionCount* emotion = figures.add_emotions();
    emotion->set_label(static_cast<touchpoints::v1::EmotionLabel>(label));
    emotion->set_touchpoints(count);
  }
}

// The `count` most frequent of `paths`, the most frequent first, ties in channel order.
void SetCommonPaths(const std::map<analytics::ChannelPath, int64_t>& paths, int count,
                    v1::StageFigures& figures) {
  std::vector<std::pair<const analytics::ChannelPath*, int64_t>> ranked;
  for (const auto& [path, customers] : paths) {
    if (customers > 0) ranked.emplace_back(&path, customers);
  }
  // `paths` is in channel order, so a stable sort by count keeps ties in it.
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (ranked.size() > static_cast<size_t>(count)) ranked.resize(count);
  for (const auto& [path, customers] : ranked) {
    v1::ChannelPath* common = figures.add_common_paths();
    for (const int channel : *path) {
      common->add_channels(static_cast<touchpoints::v1::Channel>(channel));
    }
    common->set_customers(customers);
    if (figures.reached() > 0) {
      common->set_share(static_cast<double>(customers) / static_cast<double>(figures.reached()));
    }
  }
}

}  // namespace

absl::StatusOr<v1::GetStageAnalyticsResponse> AnalyticsManager::GetStageAnalytics(
    const auth::RequestContext& caller, const v1::GetStageAnalyticsRequest& request) const {
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  checker.Uuid(request.journey_id(), "journey_id");
  if (request.version() < 0) checker.Add("version", "must be at least 0");
  if (request.path_length() < 0 || request.path_length() > analytics::kMaxPathLength) {
    checker.Add("path_length", absl::StrCat("must be 0 to ", analytics::kMaxPathLength));
  }
  if (request.path_count() < 0 || request.path_count() > kMaxPathCount) {
    checker.Add("path_count", absl::StrCat("must be 0 to ", kMaxPathCount));
  }
  analytics::TotalsQuery query;
  if (request.has_entered_after() &&
      status::CheckTimestamp(request.entered_after(), "entered_after", violations)) {
    query.from_day = analytics::UtcDay(FromProtoTime(request.entered_after()));
  }
  if (request.has_entered_before() &&
      status::CheckTimestamp(request.entered_before(), "entered_before", violations)) {
    query.before_day = analytics::UtcDay(FromProtoTime(request.entered_before()));
  }
  if (query.from_day && query.before_day && *query.from_day >= *query.before_day) {
    checker.Add("entered_before", "must be on a later day than entered_after");
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  TL_ASSIGN_OR_RETURN(query.scope, auth::ScopeOf(caller));
  TL_ASSIGN_OR_RETURN(const std::vector<v1::Journey> versions,
                      store_->Versions(caller.tenant_id, request.journey_id()));
  TL_ASSIGN_OR_RETURN(const std::vector<const v1::Journey*> listed,
                      VersionsListed(versions, request));
  absl::flat_hash_map<int, const v1::Journey*> by_version;
  for (const v1::Journey& journey : versions) by_version[journey.version()] = &journey;

  query.tenant_id = caller.tenant_id;
  query.journey_id = request.journey_id();
  query.version = request.version();
  query.path_length = request.path_length() > 0 ? request.path_length() : kDefaultPathLength;
  // The stalled counts need the days members entered their stage in only as far back as the
  // longest stalled_after_days: those in it longer are all stalled.
  const absl::CivilDay today = analytics::UtcDay(clock_());
  int longest = 0;
  for (const v1::Journey& journey : versions) {
    for (const v1::Stage& stage : journey.stages()) {
      longest = std::max(longest, stage.stalled_after_days());
    }
  }
  if (longest > 0) query.current_since_after = today - longest;
  TL_ASSIGN_OR_RETURN(const TotalsByStage totals, store_->Totals(query));

  v1::GetStageAnalyticsResponse response;
  for (const auto& [key, stage_totals] : totals) {
    response.set_entered(response.entered() + stage_totals.figures.current);
  }
  const v1::StageFigures* previous = nullptr;
  for (const v1::Stage* stage : ListedStages(listed)) {
    v1::StageFigures* figures = response.add_stages();
    figures->set_stage_id(stage->stage_id());
    figures->set_display_name(stage->display_name());
    figures->set_kind(stage->kind());
    analytics::StageContribution sums;
    std::map<analytics::ChannelPath, int64_t> paths;
    int64_t stalled = 0;
    for (const auto& [key, stage_totals] : totals) {
      if (key.second != stage->stage_id()) continue;
      analytics::AddFigures(sums, stage_totals.figures);
      for (const auto& [path, customers] : stage_totals.paths) paths[path] += customers;
      // The threshold of the version the customers are on.
      const auto version = by_version.find(key.first);
      const v1::Stage* own =
          version == by_version.end() ? nullptr : StageOf(*version->second, key.second);
      const int days = own == nullptr ? 0 : own->stalled_after_days();
      if (days <= 0) continue;
      // In the stage, less those who entered it within `days`.
      stalled += stage_totals.figures.current;
      for (const auto& [since, count] : stage_totals.current_since) {
        if (since > today - days) stalled -= count;
      }
    }
    figures->set_reached(sums.reached);
    figures->set_current(sums.current);
    figures->set_stalled(stalled);
    if (previous == nullptr) {
      figures->set_conversion_from_previous(1);
    } else {
      if (previous->reached() > 0) {
        figures->set_conversion_from_previous(static_cast<double>(sums.reached) /
                                              static_cast<double>(previous->reached()));
      }
      figures->set_dropped_off(std::max<int64_t>(0, previous->reached() - sums.reached));
    }
    SetEmotions(sums, *figures);
    SetCommonPaths(paths, request.path_count() > 0 ? request.path_count() : kDefaultPathCount,
                   *figures);
    figures->set_completed_stays(sums.exits);
    if (sums.exits > 0) {
      *figures->mutable_mean_time_in_stage() =
          ToProtoDuration(absl::Seconds(sums.exit_seconds / static_cast<double>(sums.exits)));
      *figures->mutable_p50_time_in_stage() =
          ToProtoDuration(analytics::HistogramPercentile(sums.histogram, 50));
      *figures->mutable_p90_time_in_stage() =
          ToProtoDuration(analytics::HistogramPercentile(sums.histogram, 90));
    }
    previous = figures;
  }
  return response;
}

}  // namespace touchline::journeys
