// What one action of a run does outside the engine's own records: a task in the task store, a
// signed webhook to an endpoint, a change of the customer through contacts. Each is keyed by the
// action's idempotency key, so a second attempt after a crash makes no second task, the receiver
// sees the same webhook-id, and contacts answers a repeated change without applying it again.
// What leaves (a task's title and body, a webhook's payload) shows only what the rule's owner
// may see: their field policies hide and mask the run's values first.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ACTIONS_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ACTIONS_H_

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/ratelimit/rate_limiter.h"
#include "services/automation/endpoints/endpoint_store.h"
#include "services/automation/engine/delegation.h"
#include "services/automation/rules/field_catalogue.h"
#include "services/automation/tasks/task_store.h"
#include "services/automation/webhooks/sender.h"
#include "touchline/automation/v1/automation_service.pb.h"

namespace touchline::automation {

// One action to do.
struct ActionCall {
  std::string tenant_id;
  const v1::RuleRun* run = nullptr;
  // The user the rule acts for (Rule.owner_id): their field policies apply to what leaves, and
  // changes of customers are made as them.
  std::string owner_id;
  const v1::Action* action = nullptr;
  // The action's name in the run: its id, or "<sequence's id>/<step's id>" for a step (the
  // task's source, unique within the run).
  std::string label;
  // The action's idempotency key (rule version, cause, action; the step for a sequence's).
  std::string key;
  // The values the run saw (the trigger's and the customer's).
  const FieldValues* values = nullptr;
  // Attempts that reached the outside so far (rate-limit waits do not count).
  int attempts = 0;
  absl::Time now;
};

// What it gave.
struct ActionOutcome {
  enum class Kind {
    kDone,     // it happened: `result` says what it made
    kRetry,    // try again at `retry_at` (an attempt that failed and may succeed later)
    kWait,     // not tried: try at `retry_at` (the endpoint's rate limit), no attempt used
    kFailed,   // failed for good: a dead letter
    kSkipped,  // not done, and the run goes on (a discarded dead letter)
  };
  Kind kind = Kind::kDone;
  std::string result;
  std::string error;
  absl::Time retry_at;
  // kSkipped: the customer left the sequence; its later steps are skipped too.
  bool ends_sequence = false;
  // Whether the attempt reached the outside (counts against the endpoint's max_attempts).
  bool attempted = false;
};

// The customer's custom field add_lead_score adds to.
inline constexpr char kLeadScoreField[] = "lead_score";

// The action id of the default webhook payload's "type".
inline constexpr char kWebhookEventType[] = "automation.rule.action";

// Does actions. Thread-safe.
class ActionRunner {
 public:
  // Not owned; each must outlive the runner. `limiter` keeps each webhook endpoint's
  // rate_limit_per_second in Redis, shared by every replica; null, or when Redis cannot be
  // asked (logged), each replica keeps it on its own.
  ActionRunner(TaskStore* tasks, EndpointStore* endpoints, const WebhookSender* sender,
               Delegation* delegation, ratelimit::RateLimiter* limiter = nullptr);

  // Does create_task, webhook, update_customer and add_lead_score actions as the rule's owner
  // (call.owner_id); start_sequence is the engine's own (never passed here). An owner who
  // cannot see the customer, or is disabled, fails the action (kFailed, saying why).
  ActionOutcome Run(const ActionCall& call);

  // The JSON body of a webhook action without a payload template: the rule, the action, the
  // trigger event and `values` (the run's, as the owner may see them).
  static std::string DefaultPayload(const ActionCall& call, const FieldValues& values);

 private:
  // The run's values as the owner may see them; a failure when the owner cannot see the
  // customer at all.
  absl::StatusOr<FieldValues> VisibleValues(const ActionCall& call);
  // Who a task goes to.
  absl::StatusOr<std::string> AssigneeOf(const ActionCall& call, const v1::Assignee& assignee);
  ActionOutcome CreateTask(const ActionCall& call);
  ActionOutcome SendWebhook(const ActionCall& call);
  // update_customer and add_lead_score: read the customer, plan the change, write it with the
  // customer's etag (read again when it changed meanwhile).
  ActionOutcome UpdateCustomer(const ActionCall& call);
  // The outcome of a failure in another service: retried with backoff when it may pass
  // (unreachable, overloaded), dead-lettered after some attempts or at once otherwise.
  ActionOutcome FailureOf(const ActionCall& call, const absl::Status& status,
                          std::string_view what);
  // When endpoint `endpoint_id` of `tenant_id` may take its next request at `now` under
  // `per_second`, with bursts of up to a second's worth: `now` when it may now (the slot is
  // taken), a later time otherwise.
  absl::Time TakeSlot(const std::string& tenant_id, const std::string& endpoint_id, int per_second,
                      absl::Time now);
  // TakeSlot in this replica alone.
  absl::Time TakeLocalSlot(const std::string& endpoint_key, int per_second, absl::Time now);

  TaskStore* const tasks_;
  EndpointStore* const endpoints_;
  const WebhookSender* const sender_;
  Delegation* const delegation_;
  ratelimit::RateLimiter* const limiter_;
  absl::Mutex mu_;
  // Per endpoint, without `limiter_`: when its next request may go (a virtual-time rate
  // limiter).
  absl::flat_hash_map<std::string, absl::Time> next_slot_ ABSL_GUARDED_BY(mu_);
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ACTIONS_H_
