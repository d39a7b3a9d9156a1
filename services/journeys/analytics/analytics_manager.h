// GetStageAnalytics: a journey's funnel from the stage aggregates, for the customers the caller
// sees. Owns the rules: the request's checks, the journey's stages (one version, or every
// version matched by stage_id in the latest version's order), and the figures the proto
// defines (conversion, drop-off, stalled, mean and percentiles of the stays).
#ifndef TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_ANALYTICS_MANAGER_H_
#define TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_ANALYTICS_MANAGER_H_

#include <functional>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "services/journeys/analytics/stage_stats_store.h"
#include "touchline/journeys/v1/journeys_service.pb.h"

namespace touchline::journeys {

// Thread-safe.
class AnalyticsManager {
 public:
  // Not owned; must outlive the manager. `clock` says what "today" is for the stalled counts.
  AnalyticsManager(analytics::StageStatsStore* store, std::function<absl::Time()> clock)
      : store_(store), clock_(std::move(clock)) {}

  // INVALID_ARGUMENT (BadRequest) for a bad journey_id, a negative version, an invalid
  // timestamp or entered_after not before entered_before; NOT_FOUND when the tenant has no
  // such journey (or no such version of it).
  absl::StatusOr<v1::GetStageAnalyticsResponse> GetStageAnalytics(
      const auth::RequestContext& caller, const v1::GetStageAnalyticsRequest& request) const;

 private:
  analytics::StageStatsStore* const store_;
  const std::function<absl::Time()> clock_;
};

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_ANALYTICS_MANAGER_H_
