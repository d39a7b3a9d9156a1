// The per-customer RPCs of JourneysService: where a customer stands, its history, manual
// moves, and who is in a stage. Owns the rules: the caller sees a customer's journeys exactly
// when it sees the customer (NOT_FOUND otherwise, worded as for a missing customer); a manual
// move needs PERMISSION_CUSTOMERS_WRITE and a customer the caller may write.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_STATE_JOURNEY_STATE_MANAGER_H_
#define TOUCHLINE_SERVICES_JOURNEYS_STATE_JOURNEY_STATE_MANAGER_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/paging/page_token.h"
#include "services/journeys/state/state_store.h"
#include "touchline/journeys/v1/journeys_service.pb.h"

namespace touchline::journeys {

// Thread-safe.
class JourneyStateManager {
 public:
  // Not owned; must outlive the manager.
  JourneyStateManager(JourneyStateStore* store, const paging::PageTokens* page_tokens,
                      std::function<absl::Time()> clock)
      : store_(store), page_tokens_(page_tokens), clock_(std::move(clock)) {}

  absl::StatusOr<v1::GetCustomerJourneysResponse> GetCustomerJourneys(
      const auth::RequestContext& caller, const v1::GetCustomerJourneysRequest& request) const;
  absl::StatusOr<v1::ListStageHistoryResponse> ListStageHistory(
      const auth::RequestContext& caller, const v1::ListStageHistoryRequest& request) const;
  absl::StatusOr<v1::MoveCustomerResponse> MoveCustomer(
      const auth::RequestContext& caller, const v1::MoveCustomerRequest& request) const;
  absl::StatusOr<v1::ListCustomersInStageResponse> ListCustomersInStage(
      const auth::RequestContext& caller, const v1::ListCustomersInStageRequest& request) const;

 private:
  // OK when the caller may do `access` to the customer; NOT_FOUND when it cannot see it (or
  // the read model does not know it), PERMISSION_DENIED when it sees but may not write it.
  absl::Status CheckCustomer(const auth::RequestContext& caller, const std::string& customer_id,
                             auth::Access access) const;

  JourneyStateStore* const store_;
  const paging::PageTokens* const page_tokens_;
  const std::function<absl::Time()> clock_;
};

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_STATE_JOURNEY_STATE_MANAGER_H_
