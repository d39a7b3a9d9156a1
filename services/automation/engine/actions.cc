#include "services/automation/engine/actions.h"

#include <sodium.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/text/text.h"
#include "nlohmann/json.hpp"
#include "services/automation/rules/rule_validation.h"
#include "services/automation/rules/templates.h"
#include "services/automation/tasks/task_change.h"

namespace touchline::automation {
namespace {

using Kind = ActionOutcome::Kind;

ActionOutcome Failed(std::string error) {
  ActionOutcome outcome;
  outcome.kind = Kind::kFailed;
  outcome.error = std::move(error);
  return outcome;
}

ActionOutcome Done(std::string result) {
  ActionOutcome outcome;
  outcome.result = std::move(result);
  return outcome;
}

// The webhook-id of the action keyed `key`: "msg_" and a digest of the key, the same on every
// attempt.
std::string WebhookId(std::string_view key) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return absl::StrCat(
      "msg_", absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16)));
}

}  // namespace

ActionRunner::ActionRunner(TaskStore* tasks, EndpointStore* endpoints, const WebhookSender* sender)
    : tasks_(tasks), endpoints_(endpoints), sender_(sender) {}

ActionOutcome ActionRunner::Run(const ActionCall& call) {
  switch (call.action->kind_case()) {
    case v1::Action::kCreateTask:
      return CreateTask(call);
    case v1::Action::kWebhook:
      return SendWebhook(call);
    case v1::Action::kUpdateCustomer:
    case v1::Action::kAddLeadScore:
      return Failed(
          "customer updates are not available yet: the engine cannot yet change a customer "
          "through contacts on the rule owner's behalf");
    default:
      return Failed("the action has no kind");
  }
}

ActionOutcome ActionRunner::CreateTask(const ActionCall& call) {
  const v1::CreateTaskAction& action = call.action->create_task();
  const FieldValues& values = *call.values;
  std::string assignee;
  switch (action.assignee().kind_case()) {
    case v1::Assignee::kOwner: {
      const FieldValue* owner = FindValue(values, "customer.owner_id");
      if (owner == nullptr) return Failed("the customer has no owner to assign the task to");
      assignee = FormatValue(*owner);
      break;
    }
    case v1::Assignee::kUserId:
      assignee = action.assignee().user_id();
      break;
    case v1::Assignee::kOwnerManager:
    case v1::Assignee::kTeamId:
      return Failed(
          "tasks for the owner's manager or a team are not available yet: the engine cannot "
          "yet look up managers and team members");
    default:
      return Failed("the task has no assignee");
  }
  std::string title = Render(action.title_template(), values);
  const std::string body = Render(action.body_template(), values);
  if (text::CodePointCount(title) == 0) return Failed("the task title is empty once filled in");
  if (text::CodePointCount(title) > kMaxTitleTemplateChars) {
    return Failed(absl::StrCat("the task title is longer than ", kMaxTitleTemplateChars,
                               " characters once filled in"));
  }
  if (text::CodePointCount(body) > kMaxBodyTemplateChars) {
    return Failed(absl::StrCat("the task body is longer than ", kMaxBodyTemplateChars,
                               " characters once filled in"));
  }
  NewTask task;
  task.context.caller.tenant_id = call.tenant_id;
  task.context.caller.caller_id = "service:automation";
  task.context.caller.request_id = call.key;
  task.context.caller.client = absl::StrCat("rule ", call.run->rule_id());
  task.context.now = absl::FromUnixMicros(absl::ToUnixMicros(call.now));
  v1::Task& t = task.task;
  t.set_task_id(ids::NewUuid(call.now));
  t.set_customer_id(call.run->trigger().customer_id());
  t.set_title(std::move(title));
  t.set_body(body);
  t.set_assignee_id(assignee);
  *t.mutable_due_time() = ToProtoTime(task.context.now + absl::Seconds(action.due_in().seconds()) +
                                      absl::Nanoseconds(action.due_in().nanos()));
  t.set_priority(action.priority());
  t.set_state(v1::TASK_STATE_OPEN);
  v1::RuleSource& source = *t.mutable_source()->mutable_rule();
  source.set_rule_id(call.run->rule_id());
  source.set_rule_version(call.run->rule_version());
  source.set_run_id(call.run->run_id());
  source.set_action_id(call.label);
  *t.mutable_create_time() = ToProtoTime(task.context.now);
  *t.mutable_update_time() = ToProtoTime(task.context.now);
  absl::StatusOr<v1::Task> created = tasks_->Create(task);
  if (!created.ok()) {
    ActionOutcome outcome;
    outcome.kind = Kind::kRetry;
    outcome.error = created.status().ToString();
    outcome.retry_at = call.now + absl::Seconds(5);
    return outcome;
  }
  return Done(absl::StrCat("task ", created->task_id()));
}

std::string ActionRunner::DefaultPayload(const ActionCall& call) {
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  for (const auto& [name, value] : *call.values) {
    if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
      fields[name] = *list;
    } else {
      fields[name] = FormatValue(value);
    }
  }
  const v1::TriggerEvent& trigger = call.run->trigger();
  type::v1::CustomValue occur_time;
  *occur_time.mutable_timestamp_value() = trigger.occur_time();
  nlohmann::ordered_json body = {
      {"type", kWebhookEventType},
      {"rule_id", call.run->rule_id()},
      {"rule_version", call.run->rule_version()},
      {"run_id", call.run->run_id()},
      {"action_id", call.label},
      {"trigger",
       {{"kind", trigger.kind()},
        {"event_id", trigger.event_id()},
        {"customer_id", trigger.customer_id()},
        {"occur_time", FormatValue(occur_time)}}},
      {"fields", std::move(fields)},
  };
  // Invalid UTF-8 is replaced rather than thrown on.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ActionOutcome ActionRunner::SendWebhook(const ActionCall& call) {
  const v1::WebhookAction& action = call.action->webhook();
  absl::StatusOr<SigningEndpoint> endpoint =
      endpoints_->SigningSecrets(call.tenant_id, action.endpoint_id(), call.now);
  if (absl::IsNotFound(endpoint.status())) {
    return Failed(absl::StrCat("webhook endpoint ", action.endpoint_id(), " not found"));
  }
  if (!endpoint.ok()) {
    ActionOutcome outcome;
    outcome.kind = Kind::kRetry;
    outcome.error = endpoint.status().ToString();
    outcome.retry_at = call.now + absl::Seconds(5);
    return outcome;
  }
  const std::string body =
      action.payload_template().empty()
          ? DefaultPayload(call)
          : Render(action.payload_template(), *call.values, Escaping::kJsonString);
  if (body.size() > kMaxPayloadTemplateBytes) {
    return Failed(absl::StrCat("the webhook payload is larger than ", kMaxPayloadTemplateBytes,
                               " bytes once filled in"));
  }
  const absl::Time slot = TakeSlot(absl::StrCat(call.tenant_id, "/", endpoint->endpoint_id),
                                   endpoint->rate_limit_per_second, call.now);
  if (slot > call.now) {
    ActionOutcome outcome;
    outcome.kind = Kind::kWait;
    outcome.retry_at = slot;
    return outcome;
  }
  WebhookRequest request;
  request.url = endpoint->url;
  request.id = WebhookId(call.key);
  request.timestamp = absl::ToUnixSeconds(call.now);
  request.body = body;
  request.secrets = endpoint->secrets;
  request.timeout = endpoint->timeout;
  const DeliveryResult result = sender_->Send(request);
  ActionOutcome outcome;
  outcome.attempted = true;
  if (result.succeeded) {
    outcome.result = absl::StrCat("HTTP ", result.http_status);
    return outcome;
  }
  outcome.error = result.error_message;
  const int attempts = call.attempts + 1;
  if (!result.retryable || attempts >= endpoint->max_attempts) {
    outcome.kind = Kind::kFailed;
    if (result.retryable) absl::StrAppend(&outcome.error, " (after ", attempts, " attempts)");
    return outcome;
  }
  outcome.kind = Kind::kRetry;
  absl::MutexLock lock(&mu_);
  outcome.retry_at = call.now + RetryDelay(attempts, gen_);
  return outcome;
}

absl::Time ActionRunner::TakeSlot(const std::string& endpoint_key, int per_second, absl::Time now) {
  // GCRA: requests are spaced 1/per_second apart in virtual time, with bursts of up to one
  // second's worth.
  const absl::Duration spacing = absl::Seconds(1) / std::max(per_second, 1);
  const absl::Duration burst = absl::Seconds(1) - spacing;
  absl::MutexLock lock(&mu_);
  absl::Time& next = next_slot_[endpoint_key];
  next = std::max(next, now);
  if (next - now > burst) return next - burst;
  next += spacing;
  return now;
}

}  // namespace touchline::automation
