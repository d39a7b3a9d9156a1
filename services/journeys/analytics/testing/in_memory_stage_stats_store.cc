#include "services/journeys/analytics/testing/in_memory_stage_stats_store.h"

#include <algorithm>

namespace touchline::journeys::analytics::testing {

void InMemoryStageStatsStore::AddJourney(const std::string& tenant_id, v1::Journey journey) {
  absl::MutexLock lock(&mu_);
  const int version = journey.version();
  journeys_[{tenant_id, journey.journey_id()}][version] = std::move(journey);
}

void InMemoryStageStatsStore::AddMember(const std::string& tenant_id, const std::string& journey_id,
                                        StatsMember member) {
  absl::MutexLock lock(&mu_);
  members_[{tenant_id, journey_id}].push_back(std::move(member));
}

absl::StatusOr<std::vector<v1::Journey>> InMemoryStageStatsStore::Versions(
    const std::string& tenant_id, const std::string& journey_id) {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Journey> versions;
  const auto found = journeys_.find({tenant_id, journey_id});
  if (found == journeys_.end()) return versions;
  for (const auto& [version, journey] : found->second) versions.push_back(journey);
  return versions;
}

absl::StatusOr<TotalsByStage> InMemoryStageStatsStore::Totals(const TotalsQuery& query) {
  absl::MutexLock lock(&mu_);
  TotalsByStage totals;
  const auto found = members_.find({query.tenant_id, query.journey_id});
  if (found == members_.end()) return totals;
  for (const StatsMember& member : found->second) {
    if (query.version != 0 && member.version != query.version) continue;
    if (query.from_day && member.entry_day < *query.from_day) continue;
    if (query.before_day && member.entry_day >= *query.before_day) continue;
    if (!query.scope->Allows(auth::Access::kRead, member.customer)) continue;
    const Contribution& c = member.contribution;
    for (const auto& [stage, figures] : c.stages) {
      AddFigures(totals[{member.version, stage}].figures, figures);
    }
    if (!c.current_stage.empty()) {
      ++totals[{member.version, c.current_stage}].current_since[c.current_since];
    }
    for (const auto& [stage, path] : c.paths) {
      const size_t keep = std::min<size_t>(path.size(), static_cast<size_t>(query.path_length));
      ++totals[{member.version, stage}].paths[ChannelPath(path.end() - keep, path.end())];
    }
  }
  return totals;
}

}  // namespace touchline::journeys::analytics::testing
