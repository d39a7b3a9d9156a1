#include "services/automation/engine/actions.h"

#include <sodium.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/status/macros.h"
#include "common/text/text.h"
#include "nlohmann/json.hpp"
#include "services/automation/engine/triggers.h"
#include "services/automation/rules/rule_validation.h"
#include "services/automation/rules/run_fields.h"
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

ActionOutcome RetryAt(absl::Time at, std::string error) {
  ActionOutcome outcome;
  outcome.kind = Kind::kRetry;
  outcome.error = std::move(error);
  outcome.retry_at = at;
  return outcome;
}

// Attempts at a change of a customer before it is dead-lettered (contacts unreachable, or the
// customer changed under every attempt).
constexpr int kMaxCustomerAttempts = 10;
// Reads and writes of the customer within one attempt when its etag keeps changing.
constexpr int kEtagRounds = 3;

// Whether a failure of another service may pass: it could not be reached or answered in time.
bool Transient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsResourceExhausted(status) || absl::IsInternal(status) || absl::IsUnknown(status);
}

// What to send contacts for `action` (update_customer or add_lead_score) given the customer
// as it is: fills request.customer (with the customer's etag) and request.update_mask, and
// returns what the change does, in words; nullopt when the customer is that way already.
absl::StatusOr<std::optional<std::string>> PlanChange(
    const v1::Action& action, const contacts::v1::Customer& current,
    contacts::v1::UpdateCustomerRequest& request) {
  namespace cv1 = ::touchline::contacts::v1;
  cv1::Customer& patch = *request.mutable_customer();
  patch.Clear();
  patch.set_customer_id(current.customer_id());
  patch.set_etag(current.etag());
  request.clear_update_mask();
  auto mask = [&](std::string path) { request.mutable_update_mask()->add_paths(std::move(path)); };
  if (action.has_add_lead_score()) {
    const v1::AddLeadScoreAction& add = action.add_lead_score();
    int64_t score = 0;
    const auto found = current.custom_fields().find(kLeadScoreField);
    if (found != current.custom_fields().end()) {
      if (found->second.kind_case() != type::v1::CustomValue::kIntValue) {
        return absl::FailedPreconditionError(absl::StrCat("custom field ", kLeadScoreField,
                                                          " holds ", FormatValue(found->second),
                                                          ", not a whole number"));
      }
      score = found->second.int_value();
    }
    (*patch.mutable_custom_fields())[kLeadScoreField].set_int_value(score + add.points());
    mask(absl::StrCat("custom_fields.", kLeadScoreField));
    // The points, not the score: a run is read by others, who may not see the customer's
    // custom fields (the score itself is in contacts, behind its field policies).
    std::string done = absl::StrCat("lead score ", add.points() >= 0 ? "+" : "", add.points());
    if (!add.reason().empty()) absl::StrAppend(&done, " (", add.reason(), ")");
    return done;
  }
  const v1::UpdateCustomerAction& update = action.update_customer();
  switch (update.kind_case()) {
    case v1::UpdateCustomerAction::kAddTag:
    case v1::UpdateCustomerAction::kRemoveTag: {
      const bool add = update.has_add_tag();
      const std::string& tag = add ? update.add_tag() : update.remove_tag();
      const bool has = absl::c_linear_search(current.tags(), tag);
      if (has == add) return std::nullopt;
      for (const std::string& kept : current.tags()) {
        if (kept != tag) patch.add_tags(kept);
      }
      if (add) patch.add_tags(tag);
      mask("tags");
      return absl::StrCat(add ? "added tag " : "removed tag ", tag);
    }
    case v1::UpdateCustomerAction::kSetField: {
      const v1::SetField& set = update.set_field();
      const std::string& field = set.field();
      const std::string& name = set.value().string_value();
      if (field == "level" || field == "lifecycle_status") {
        const google::protobuf::FieldDescriptor* descriptor =
            cv1::Customer::descriptor()->FindFieldByName(field);
        const google::protobuf::EnumValueDescriptor* value =
            descriptor->enum_type()->FindValueByName(name);
        if (value == nullptr) {
          return absl::FailedPreconditionError(absl::StrCat(name, " is not a value of ", field));
        }
        const google::protobuf::Reflection* reflection = cv1::Customer::GetReflection();
        if (reflection->GetEnumValue(current, descriptor) == value->number()) return std::nullopt;
        reflection->SetEnumValue(&patch, descriptor, value->number());
      } else if (absl::StartsWith(field, "custom_fields.")) {
        const std::string key = field.substr(std::string_view("custom_fields.").size());
        const auto found = current.custom_fields().find(key);
        if (found != current.custom_fields().end() &&
            found->second.SerializeAsString() == set.value().SerializeAsString()) {
          return std::nullopt;
        }
        (*patch.mutable_custom_fields())[key] = set.value();
      } else {
        return absl::FailedPreconditionError(absl::StrCat("field ", field, " cannot be set"));
      }
      mask(field);
      return absl::StrCat("set ", field, " to ", FormatValue(set.value()));
    }
    default:
      return absl::FailedPreconditionError("the customer update has no kind");
  }
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

ActionRunner::ActionRunner(TaskStore* tasks, EndpointStore* endpoints, const WebhookSender* sender,
                           Delegation* delegation, ratelimit::RateLimiter* limiter)
    : tasks_(tasks),
      endpoints_(endpoints),
      sender_(sender),
      delegation_(delegation),
      limiter_(limiter) {}

ActionOutcome ActionRunner::Run(const ActionCall& call) {
  if (call.owner_id.empty()) return Failed("the rule has no owner to act for");
  switch (call.action->kind_case()) {
    case v1::Action::kCreateTask:
      return CreateTask(call);
    case v1::Action::kWebhook:
      return SendWebhook(call);
    case v1::Action::kUpdateCustomer:
    case v1::Action::kAddLeadScore:
      return UpdateCustomer(call);
    default:
      return Failed("the action has no kind");
  }
}

ActionOutcome ActionRunner::FailureOf(const ActionCall& call, const absl::Status& status,
                                      std::string_view what) {
  std::string error =
      absl::StrCat(absl::string_view(what.data(), what.size()), ": ", status.ToString());
  const int attempts = call.attempts + 1;
  if (!Transient(status) || attempts >= kMaxCustomerAttempts) {
    if (Transient(status)) absl::StrAppend(&error, " (after ", attempts, " attempts)");
    return Failed(std::move(error));
  }
  absl::MutexLock lock(&mu_);
  ActionOutcome outcome = RetryAt(call.now + RetryDelay(attempts, gen_), std::move(error));
  outcome.attempted = true;
  return outcome;
}

ActionOutcome ActionRunner::UpdateCustomer(const ActionCall& call) {
  const std::string& customer_id = call.run->trigger().customer_id();
  contacts::v1::UpdateCustomerRequest request;
  // Keys the change in contacts (a retry after a lost answer is not applied twice), and its
  // event carries the run's depth, so a rule that triggers itself stops.
  request.set_request_id(EngineRequestId(call.run->depth() + 1, call.key));
  for (int round = 0; round < kEtagRounds; ++round) {
    absl::StatusOr<contacts::v1::Customer> customer =
        delegation_->GetCustomer(call.tenant_id, call.owner_id, customer_id);
    if (!customer.ok()) {
      return FailureOf(call, customer.status(), "reading the customer as the rule's owner");
    }
    absl::StatusOr<std::optional<std::string>> planned =
        PlanChange(*call.action, *customer, request);
    if (!planned.ok()) return Failed(std::string(planned.status().message()));
    if (!planned->has_value()) return Done("nothing to change: the customer is so already");
    const absl::StatusOr<contacts::v1::Customer> updated =
        delegation_->UpdateCustomer(call.tenant_id, call.owner_id, request);
    if (updated.ok()) return Done(**planned);
    // Changed by someone else since it was read: read it again.
    if (absl::IsAborted(updated.status())) continue;
    // The request id was used: an earlier attempt made the change, and its answer was lost.
    if (absl::IsAlreadyExists(updated.status())) return Done("changed by an earlier attempt");
    return FailureOf(call, updated.status(), "changing the customer as the rule's owner");
  }
  return FailureOf(call, absl::UnavailableError("the customer kept changing while it was updated"),
                   "changing the customer as the rule's owner");
}

absl::StatusOr<FieldValues> ActionRunner::VisibleValues(const ActionCall& call) {
  TL_ASSIGN_OR_RETURN(const std::shared_ptr<const auth::Scope> scope,
                      delegation_->ScopeOf(call.tenant_id, call.owner_id));
  const std::string& customer_id = call.run->trigger().customer_id();
  TL_ASSIGN_OR_RETURN(const std::optional<auth::CustomerAttributes> customer,
                      tasks_->FindCustomer(call.tenant_id, customer_id));
  if (!customer.has_value() || !scope->Allows(auth::Access::kRead, *customer)) {
    return absl::PermissionDeniedError(
        absl::StrCat("the rule's owner ", call.owner_id, " cannot see customer ", customer_id));
  }
  return ShownTo(*scope, *call.values);
}

absl::StatusOr<std::string> ActionRunner::AssigneeOf(const ActionCall& call,
                                                     const v1::Assignee& assignee) {
  const FieldValue* owner = FindValue(*call.values, "customer.owner_id");
  switch (assignee.kind_case()) {
    case v1::Assignee::kOwner:
      if (owner == nullptr) {
        return absl::FailedPreconditionError("the customer has no owner to assign the task to");
      }
      return FormatValue(*owner);
    case v1::Assignee::kUserId:
      return assignee.user_id();
    case v1::Assignee::kOwnerManager: {
      if (owner == nullptr) {
        return absl::FailedPreconditionError("the customer has no owner, so no owner's manager");
      }
      TL_ASSIGN_OR_RETURN(const permissions::v1::User user,
                          delegation_->GetUser(call.tenant_id, call.owner_id, FormatValue(*owner)));
      if (user.manager_id().empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("the customer's owner ", user.user_id(), " reports to nobody"));
      }
      return user.manager_id();
    }
    case v1::Assignee::kTeamId: {
      TL_ASSIGN_OR_RETURN(
          const std::vector<std::string> members,
          delegation_->TeamMembers(call.tenant_id, call.owner_id, assignee.team_id()));
      if (members.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("team ", assignee.team_id(), " has no members"));
      }
      TL_ASSIGN_OR_RETURN(const int64_t turn,
                          tasks_->NextTeamTurn(call.tenant_id, assignee.team_id()));
      return members[static_cast<size_t>(turn % static_cast<int64_t>(members.size()))];
    }
    default:
      return absl::InvalidArgumentError("the task has no assignee");
  }
}

ActionOutcome ActionRunner::CreateTask(const ActionCall& call) {
  const v1::CreateTaskAction& action = call.action->create_task();
  absl::StatusOr<FieldValues> visible = VisibleValues(call);
  if (!visible.ok()) return FailureOf(call, visible.status(), "acting for the rule's owner");
  const FieldValues& values = *visible;
  absl::StatusOr<std::string> assignee = AssigneeOf(call, action.assignee());
  if (!assignee.ok()) return FailureOf(call, assignee.status(), "choosing the assignee");
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
  t.set_assignee_id(*assignee);
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

std::string ActionRunner::DefaultPayload(const ActionCall& call, const FieldValues& values) {
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  for (const auto& [name, value] : values) {
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
  absl::StatusOr<FieldValues> visible = VisibleValues(call);
  if (!visible.ok()) return FailureOf(call, visible.status(), "acting for the rule's owner");
  const std::string body = action.payload_template().empty()
                               ? DefaultPayload(call, *visible)
                               : Render(action.payload_template(), *visible, Escaping::kJsonString);
  if (body.size() > kMaxPayloadTemplateBytes) {
    return Failed(absl::StrCat("the webhook payload is larger than ", kMaxPayloadTemplateBytes,
                               " bytes once filled in"));
  }
  const absl::Time slot =
      TakeSlot(call.tenant_id, endpoint->endpoint_id, endpoint->rate_limit_per_second, call.now);
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

absl::Time ActionRunner::TakeSlot(const std::string& tenant_id, const std::string& endpoint_id,
                                  int per_second, absl::Time now) {
  per_second = std::max(per_second, 1);
  if (limiter_ != nullptr) {
    const absl::StatusOr<ratelimit::RateDecision> decision =
        limiter_->Take(tenant_id, "webhook_endpoint", endpoint_id,
                       {.per_second = static_cast<double>(per_second), .burst = per_second});
    if (decision.ok()) return decision->allowed ? now : now + decision->retry_after;
    log::Warning("automation: the webhook rate limit is kept in this replica alone",
                 {{"endpoint", endpoint_id}, {"error", decision.status().ToString()}});
  }
  return TakeLocalSlot(absl::StrCat(tenant_id, "/", endpoint_id), per_second, now);
}

absl::Time ActionRunner::TakeLocalSlot(const std::string& endpoint_key, int per_second,
                                       absl::Time now) {
  // GCRA, as ratelimit::RateLimiter does it: requests are spaced 1/per_second apart in virtual
  // time, with bursts of up to one second's worth.
  const absl::Duration spacing = absl::Seconds(1) / per_second;
  const absl::Duration burst = absl::Seconds(1) - spacing;
  absl::MutexLock lock(&mu_);
  absl::Time& next = next_slot_[endpoint_key];
  next = std::max(next, now);
  if (next - now > burst) return next - burst;
  next += spacing;
  return now;
}

}  // namespace touchline::automation
