// What one action of a run does outside the engine's own records: a task in the task store, a
// signed webhook to an endpoint. Each is keyed by the action's idempotency key, so a second
// attempt after a crash makes no second task and the receiver sees the same webhook-id.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ACTIONS_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ACTIONS_H_

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/automation/endpoints/endpoint_store.h"
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

// The action id of the default webhook payload's "type".
inline constexpr char kWebhookEventType[] = "automation.rule.action";

// Does actions. Thread-safe.
class ActionRunner {
 public:
  // Not owned; each must outlive the runner.
  ActionRunner(TaskStore* tasks, EndpointStore* endpoints, const WebhookSender* sender);

  // Does create_task and webhook actions; update_customer and add_lead_score are refused
  // (kFailed, saying why) until the engine can act through contacts on the rule owner's
  // behalf; start_sequence is the engine's own (never passed here).
  ActionOutcome Run(const ActionCall& call);

  // The JSON body of a webhook action without a payload template: the rule, the action, the
  // trigger event and the values the run saw.
  static std::string DefaultPayload(const ActionCall& call);

 private:
  ActionOutcome CreateTask(const ActionCall& call);
  ActionOutcome SendWebhook(const ActionCall& call);
  // When the endpoint may take its next request at `now` under `per_second`: `now` when it
  // may now (the slot is taken), a later time otherwise.
  absl::Time TakeSlot(const std::string& endpoint_key, int per_second, absl::Time now);

  TaskStore* const tasks_;
  EndpointStore* const endpoints_;
  const WebhookSender* const sender_;
  absl::Mutex mu_;
  // Per endpoint: when its next request may go (a virtual-time rate limiter).
  absl::flat_hash_map<std::string, absl::Time> next_slot_ ABSL_GUARDED_BY(mu_);
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ACTIONS_H_
