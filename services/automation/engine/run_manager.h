// The run and dead-letter RPCs: ListRuleRuns, GetRuleRun, ListDeadLetters, RedriveDeadLetter,
// DiscardDeadLetter. Runs show the values a rule saw, so every call needs
// PERMISSION_ADMINISTER, as the rules themselves do.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENGINE_RUN_MANAGER_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENGINE_RUN_MANAGER_H_

#include "absl/status/statusor.h"
#include "common/auth/request_context.h"
#include "common/paging/page_token.h"
#include "services/automation/engine/engine.h"
#include "touchline/automation/v1/automation_service.pb.h"

namespace touchline::automation {

inline constexpr int kDefaultRunPageSize = 50;
inline constexpr int kMaxRunPageSize = 200;

// Thread-safe.
class RunManager {
 public:
  // Not owned; each must outlive the manager.
  RunManager(Engine* engine, const paging::PageTokens* page_tokens)
      : engine_(engine), page_tokens_(page_tokens) {}

  // Runs of a rule, the newest first, filtered by state and customer. INVALID_ARGUMENT for a
  // rule_id or customer_id that is not a UUID, a page_size out of 0..200 or a page token of
  // another query.
  absl::StatusOr<v1::ListRuleRunsResponse> ListRuleRuns(const auth::RequestContext& caller,
                                                        const v1::ListRuleRunsRequest& request) const;
  // NOT_FOUND "run <id> not found".
  absl::StatusOr<v1::GetRuleRunResponse> GetRuleRun(const auth::RequestContext& caller,
                                                    const v1::GetRuleRunRequest& request) const;
  // The dead letters, the latest first, of one rule when rule_id is set.
  absl::StatusOr<v1::ListDeadLettersResponse> ListDeadLetters(
      const auth::RequestContext& caller, const v1::ListDeadLettersRequest& request) const;
  // The action pending again (attempts from zero); FAILED_PRECONDITION when it is no dead
  // letter any more, NOT_FOUND when there is none with the id.
  absl::StatusOr<v1::RedriveDeadLetterResponse> RedriveDeadLetter(
      const auth::RequestContext& caller, const v1::RedriveDeadLetterRequest& request) const;
  // The action skipped and the run going on with its next action; errors as Redrive.
  absl::StatusOr<v1::DiscardDeadLetterResponse> DiscardDeadLetter(
      const auth::RequestContext& caller, const v1::DiscardDeadLetterRequest& request) const;

 private:
  Engine* const engine_;
  const paging::PageTokens* const page_tokens_;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENGINE_RUN_MANAGER_H_
