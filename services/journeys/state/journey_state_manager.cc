#include "services/journeys/state/journey_state_manager.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/validation/field_checker.h"
#include "nlohmann/json.hpp"
#include "services/journeys/state/visit_rows.h"

namespace touchline::journeys {
namespace {

using json = nlohmann::json;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr size_t kMaxReasonChars = 500;
constexpr int kMaxDaysInStage = 3650;

// Checks page_size (0 to kMaxPageSize) with `checker`; returns the size to use.
int PageSize(int requested, validation::FieldChecker& checker) {
  if (requested < 0 || requested > kMaxPageSize) {
    checker.Add("page_size", absl::StrCat("must be between 0 and ", kMaxPageSize));
  }
  return requested == 0 ? kDefaultPageSize : requested;
}

absl::Status CustomerNotFound(const std::string& customer_id) {
  return absl::NotFoundError(absl::StrCat("customer ", customer_id, " not found"));
}

}  // namespace

absl::Status JourneyStateManager::CheckCustomer(const auth::RequestContext& caller,
                                                const std::string& customer_id,
                                                auth::Access access) const {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_ASSIGN_OR_RETURN(const std::optional<auth::CustomerAttributes> customer,
                      store_->FindCustomer(caller.tenant_id, customer_id));
  if (!customer.has_value()) return CustomerNotFound(customer_id);
  return scope->CheckRow(access, *customer, CustomerNotFound(customer_id));
}

absl::StatusOr<v1::GetCustomerJourneysResponse> JourneyStateManager::GetCustomerJourneys(
    const auth::RequestContext& caller, const v1::GetCustomerJourneysRequest& request) const {
  status::FieldViolations violations;
  validation::FieldChecker(violations).Uuid(request.customer_id(), "customer_id");
  TL_RETURN_IF_ERROR(violations.ToStatus());
  TL_RETURN_IF_ERROR(CheckCustomer(caller, request.customer_id(), auth::Access::kRead));
  TL_ASSIGN_OR_RETURN(std::vector<v1::CustomerJourney> journeys,
                      store_->CustomerJourneys(caller.tenant_id, request.customer_id()));
  v1::GetCustomerJourneysResponse response;
  for (v1::CustomerJourney& journey : journeys) *response.add_journeys() = std::move(journey);
  return response;
}

absl::StatusOr<v1::ListStageHistoryResponse> JourneyStateManager::ListStageHistory(
    const auth::RequestContext& caller, const v1::ListStageHistoryRequest& request) const {
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  checker.Uuid(request.customer_id(), "customer_id");
  checker.Uuid(request.journey_id(), "journey_id");
  const int page_size = PageSize(request.page_size(), checker);
  TL_RETURN_IF_ERROR(violations.ToStatus());
  const std::string hash =
      paging::QueryHash(absl::StrCat(request.customer_id(), "\n", request.journey_id()));
  int after_seq = 0;
  if (!request.page_token().empty()) {
    TL_ASSIGN_OR_RETURN(const json cursor, page_tokens_->Decode(request.page_token(), hash));
    if (!cursor.contains("s") || !cursor["s"].is_number_integer()) {
      return status::InvalidArgument("page_token", "is not a token of this list");
    }
    after_seq = cursor["s"].get<int>();
  }
  TL_RETURN_IF_ERROR(CheckCustomer(caller, request.customer_id(), auth::Access::kRead));
  TL_ASSIGN_OR_RETURN(auto visits, store_->Visits(caller.tenant_id, request.customer_id(),
                                                  request.journey_id(), after_seq, page_size + 1));
  v1::ListStageHistoryResponse response;
  for (size_t i = 0; i < visits.size() && i < static_cast<size_t>(page_size); ++i) {
    *response.add_visits() = std::move(visits[i].second);
  }
  if (visits.size() > static_cast<size_t>(page_size)) {
    response.set_next_page_token(page_tokens_->Encode({{"s", visits[page_size - 1].first}}, hash));
  }
  return response;
}

absl::StatusOr<v1::MoveCustomerResponse> JourneyStateManager::MoveCustomer(
    const auth::RequestContext& caller, const v1::MoveCustomerRequest& request) const {
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  checker.Uuid(request.customer_id(), "customer_id");
  checker.Uuid(request.journey_id(), "journey_id");
  checker.Required(!request.to_stage_id().empty(), "to_stage_id");
  std::string reason = request.reason();
  checker.Text(reason, "reason", kMaxReasonChars, {.required = true});
  if (const auto problem = idempotency::RequestIdProblem(request.request_id())) {
    checker.Add("request_id", *problem);
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, permissions::v1::PERMISSION_CUSTOMERS_WRITE));
  TL_RETURN_IF_ERROR(CheckCustomer(caller, request.customer_id(), auth::Access::kWrite));
  TL_ASSIGN_OR_RETURN(v1::CustomerJourney journey,
                      store_->MoveCustomer({.caller = caller,
                                            .customer_id = request.customer_id(),
                                            .journey_id = request.journey_id(),
                                            .to_stage_id = request.to_stage_id(),
                                            .reason = std::move(reason),
                                            .request_id = request.request_id(),
                                            .fingerprint = ids::Fingerprint(request),
                                            .now = clock_()}));
  v1::MoveCustomerResponse response;
  *response.mutable_journey() = std::move(journey);
  return response;
}

absl::StatusOr<v1::ListCustomersInStageResponse> JourneyStateManager::ListCustomersInStage(
    const auth::RequestContext& caller, const v1::ListCustomersInStageRequest& request) const {
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  checker.Uuid(request.journey_id(), "journey_id");
  checker.Required(!request.stage_id().empty(), "stage_id");
  const int page_size = PageSize(request.page_size(), checker);
  if (request.min_days_in_stage() < 0 || request.min_days_in_stage() > kMaxDaysInStage) {
    checker.Add("min_days_in_stage", absl::StrCat("must be between 0 and ", kMaxDaysInStage));
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  StageMembersQuery query;
  query.tenant_id = caller.tenant_id;
  query.journey_id = request.journey_id();
  query.stage_id = request.stage_id();
  query.limit = page_size + 1;
  query.scope = scope;
  if (request.min_days_in_stage() > 0) {
    query.entered_by = clock_() - absl::Hours(24) * request.min_days_in_stage();
  }
  const std::string hash = paging::QueryHash(absl::StrCat(
      request.journey_id(), "\n", request.stage_id(), "\n", request.min_days_in_stage()));
  if (!request.page_token().empty()) {
    TL_ASSIGN_OR_RETURN(const json cursor, page_tokens_->Decode(request.page_token(), hash));
    if (!cursor.contains("t") || !cursor["t"].is_number_integer() || !cursor.contains("c") ||
        !cursor["c"].is_string()) {
      return status::InvalidArgument("page_token", "is not a token of this list");
    }
    query.after = StageMemberCursor{absl::FromUnixMicros(cursor["t"].get<int64_t>()),
                                    cursor["c"].get<std::string>()};
    // The cut-off stays where the first page put it, so pages do not overlap or skip.
    if (cursor.contains("e") && cursor["e"].is_number_integer()) {
      query.entered_by = absl::FromUnixMicros(cursor["e"].get<int64_t>());
    }
  }
  TL_ASSIGN_OR_RETURN(std::vector<v1::StageMember> members, store_->StageMembers(query));
  v1::ListCustomersInStageResponse response;
  for (size_t i = 0; i < members.size() && i < static_cast<size_t>(page_size); ++i) {
    *response.add_customers() = members[i];
  }
  if (members.size() > static_cast<size_t>(page_size)) {
    const v1::StageMember& last = members[page_size - 1];
    json cursor = {{"t", absl::ToUnixMicros(FromProtoTime(last.stage_enter_time()))},
                   {"c", last.customer_id()}};
    if (query.entered_by != absl::InfiniteFuture()) {
      cursor["e"] = absl::ToUnixMicros(query.entered_by);
    }
    response.set_next_page_token(page_tokens_->Encode(std::move(cursor), hash));
  }
  return response;
}

}  // namespace touchline::journeys
