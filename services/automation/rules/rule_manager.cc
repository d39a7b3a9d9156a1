#include "services/automation/rules/rule_manager.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/auth/scope.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/validation/field_checker.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"
#include "services/automation/rules/conditions.h"
#include "services/automation/rules/rule_validation.h"
#include "services/automation/rules/run_fields.h"
#include "services/automation/rules/templates.h"

namespace touchline::automation {
namespace {

using ::google::protobuf::util::FieldMaskUtil;
using ::google::protobuf::util::TimeUtil;
using nlohmann::json;
namespace pv1 = ::touchline::permissions::v1;

// What UpdateRule's mask may name, in the contract's order.
constexpr std::string_view kEditable[] = {"display_name",  "description", "trigger",
                                          "condition",     "actions",     "reenrollment",
                                          "misfire_policy"};

google::protobuf::Timestamp Stamp(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

std::string Lower(std::string_view id) {
  return absl::AsciiStrToLower(absl::string_view(id.data(), id.size()));
}

// `rule` with only what a client may set.
v1::Rule ClientFields(const v1::Rule& rule) {
  v1::Rule kept = rule;
  for (const auto clear :
       {&v1::Rule::clear_rule_id, &v1::Rule::clear_version, &v1::Rule::clear_state,
        &v1::Rule::clear_paused, &v1::Rule::clear_owner_id, &v1::Rule::clear_create_time,
        &v1::Rule::clear_update_time, &v1::Rule::clear_publish_time, &v1::Rule::clear_etag}) {
    (kept.*clear)();
  }
  return kept;
}

// The names of the top-level fields set in `rule`, for the audit entry of a create.
std::vector<std::string> NamesSet(const v1::Rule& rule) {
  std::vector<const google::protobuf::FieldDescriptor*> set;
  rule.GetReflection()->ListFields(rule, &set);
  std::vector<std::string> names(set.size());
  std::transform(set.begin(), set.end(), names.begin(),
                 [](const google::protobuf::FieldDescriptor* f) { return f->name(); });
  return names;
}

// `rule` checked as CreateRule checks it, with the request id; INVALID_ARGUMENT naming each bad
// field.
absl::Status CheckNewRule(v1::Rule& rule, std::string_view request_id) {
  status::FieldViolations violations;
  NormalizeAndValidate(rule, "rule", violations);
  if (const std::optional<std::string> problem = idempotency::RequestIdProblem(request_id)) {
    violations.Add("request_id", *problem);
  }
  return violations.ToStatus();
}

// ABORTED with ETAG_MISMATCH unless `etag` is empty or the one of `version`.
absl::Status SameVersion(const v1::Rule& version, std::string_view etag) {
  if (etag.empty() || etag == version.etag()) return absl::OkStatus();
  return status::WithErrorInfo(
      absl::AbortedError(absl::StrCat("rule ", version.rule_id(), " version ", version.version(),
                                      " has changed since it was read (etag ", std::string(etag),
                                      ", now ", version.etag(), "); read it again")),
      "ETAG_MISMATCH", {{"rule_id", version.rule_id()}});
}

// FAILED_PRECONDITION for a change of an archived rule.
absl::Status RefuseIfArchived(const StoredRule& rule, std::string_view what) {
  if (!rule.status.archived) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("rule ", rule.versions.back().rule_id(),
                                                    " is archived: it cannot ", std::string(what)));
}

// The query a page token is bound to: the tenant and whether archived rules are listed.
std::string ListHash(const auth::RequestContext& caller, bool show_archived) {
  return paging::QueryHash(absl::StrCat("automation.rules\n", caller.tenant_id, "\n",
                                        show_archived ? "with archived" : "without archived"));
}

// What a RuleStatus change records in the audit.
RuleWrite StatusWrite(std::string action, RuleStatus status, const v1::Rule& latest) {
  return RuleWrite{.versions = {},
                   .status = status,
                   .action = std::move(action),
                   .fields = {"paused"},
                   .detail = absl::StrCat("latest version ", latest.version())};
}

// --- TestRule ---

// The value of `field` as text, or `absent` when it has none.
std::string Text(const FieldValues& values, std::string_view field, std::string absent = "") {
  const FieldValue* value = FindValue(values, field);
  return value == nullptr ? absent : FormatValue(*value);
}

// Why the event does not start `trigger`, or nullopt when it does. `values` are the event's,
// `before` the customer's before a change.
std::optional<std::string> TriggerMismatch(const v1::Trigger& trigger,
                                           const v1::TriggerEvent& event, const FieldValues& values,
                                           const FieldValues& before) {
  const std::string_view waits = TriggerKindName(trigger.kind_case());
  if (event.kind() != waits) {
    return absl::StrCat("the event is ", event.kind().empty() ? "of no kind" : "a " + event.kind(),
                        "; the rule waits for ", std::string(waits));
  }
  if (trigger.has_customer_changed()) {
    const v1::CustomerChanged& changed = trigger.customer_changed();
    const std::string field = Text(values, "change.field");
    if (field != changed.field()) {
      return absl::StrCat("the event changes ", field.empty() ? "no named field" : field,
                          "; the rule waits for changes of ", changed.field());
    }
    // As the engine matches it (triggers.h Matches).
    if (!Evaluate(ChangeCondition(changed), values, before).holds) {
      const std::string name = absl::StrCat("customer.", changed.field());
      return absl::StrCat(
          "the event changes ", changed.field(), " from ", Text(before, name, "no value"), " to ",
          Text(values, name, "no value"), "; the rule waits for a change",
          changed.has_from() ? absl::StrCat(" from ", FormatValue(changed.from())) : "",
          changed.has_to() ? absl::StrCat(" to ", FormatValue(changed.to())) : "");
    }
  }
  const v1::StageTransition* stage = trigger.has_stage_entered()  ? &trigger.stage_entered()
                                     : trigger.has_stage_exited() ? &trigger.stage_exited()
                                                                  : nullptr;
  if (stage != nullptr) {
    const std::string journey = Text(values, "stage.journey_id");
    const std::string stage_id = Text(values, "stage.stage_id");
    if (Lower(journey) != Lower(stage->journey_id())) {
      return absl::StrCat("the event is of journey ", journey, "; the rule waits for journey ",
                          stage->journey_id());
    }
    if (!stage->stage_id().empty() && stage_id != stage->stage_id()) {
      return absl::StrCat("the event is of stage ", stage_id, "; the rule waits for stage ",
                          stage->stage_id());
    }
  }
  return std::nullopt;
}

std::string AssigneeWords(const v1::Assignee& assignee, const FieldValues& values) {
  switch (assignee.kind_case()) {
    case v1::Assignee::kOwner: {
      const std::string owner = Text(values, "customer.owner_id");
      return owner.empty() ? "the customer's owner" : owner;
    }
    case v1::Assignee::kOwnerManager:
      return "the manager of the customer's owner";
    case v1::Assignee::kUserId:
      return assignee.user_id();
    case v1::Assignee::kTeamId:
      return absl::StrCat("team ", assignee.team_id(), " (in turn)");
    case v1::Assignee::KIND_NOT_SET:
      break;
  }
  return "nobody";
}

std::string ChangeWords(const v1::UpdateCustomerAction& change) {
  switch (change.kind_case()) {
    case v1::UpdateCustomerAction::kSetField:
      return absl::StrCat("set ", change.set_field().field(), " to ",
                          FormatValue(change.set_field().value()));
    case v1::UpdateCustomerAction::kAddTag:
      return absl::StrCat("add tag ", change.add_tag());
    case v1::UpdateCustomerAction::kRemoveTag:
      return absl::StrCat("remove tag ", change.remove_tag());
    case v1::UpdateCustomerAction::KIND_NOT_SET:
      break;
  }
  return "change nothing";
}

// What `action` would do on `values`, run at `run_time`.
v1::ActionPreview Preview(const v1::Action& action, const FieldValues& values,
                          absl::Time run_time) {
  v1::ActionPreview preview;
  preview.set_action_id(action.action_id());
  switch (action.kind_case()) {
    case v1::Action::kCreateTask: {
      const v1::CreateTaskAction& task = action.create_task();
      const absl::Time due = run_time + absl::Seconds(task.due_in().seconds()) +
                             absl::Nanoseconds(task.due_in().nanos());
      const std::string title = Render(task.title_template(), values);
      preview.set_summary(absl::StrCat(
          "task for ", AssigneeWords(task.assignee(), values), " due ",
          absl::FormatTime("%Y-%m-%d %H:%M UTC", due, absl::UTCTimeZone()), ": ", title));
      const std::string body = Render(task.body_template(), values);
      preview.set_content(body.empty() ? title : absl::StrCat(title, "\n\n", body));
      break;
    }
    case v1::Action::kWebhook: {
      const v1::WebhookAction& webhook = action.webhook();
      if (webhook.payload_template().empty()) {
        preview.set_summary(
            absl::StrCat("POST the default payload to webhook endpoint ", webhook.endpoint_id()));
      } else {
        preview.set_summary(absl::StrCat("POST to webhook endpoint ", webhook.endpoint_id()));
        preview.set_content(Render(webhook.payload_template(), values, Escaping::kJsonString));
      }
      break;
    }
    case v1::Action::kUpdateCustomer:
      preview.set_summary(ChangeWords(action.update_customer()));
      break;
    case v1::Action::kAddLeadScore: {
      const v1::AddLeadScoreAction& score = action.add_lead_score();
      preview.set_summary(absl::StrCat("add ", score.points(), " points to the lead score",
                                       score.reason().empty() ? "" : ": ", score.reason()));
      break;
    }
    case v1::Action::kStartSequence: {
      const v1::StartSequenceAction& sequence = action.start_sequence();
      std::vector<std::string> steps;
      for (const v1::SequenceStep& step : sequence.steps()) {
        steps.push_back(absl::StrCat(step.action().action_id(), " after ",
                                     absl::FormatDuration(absl::Seconds(step.wait().seconds()) +
                                                          absl::Nanoseconds(step.wait().nanos()))));
      }
      preview.set_summary(absl::StrCat("start a sequence of ", sequence.steps_size(), " steps",
                                       sequence.exit_on_reply() ? ", left on a reply" : ""));
      preview.set_content(absl::StrJoin(steps, "\n"));
      break;
    }
    case v1::Action::KIND_NOT_SET:
      break;
  }
  return preview;
}

}  // namespace

RuleManager::RuleManager(RuleStore* store, const paging::PageTokens* page_tokens,
                         std::function<absl::Time()> clock, CustomerLookup customers)
    : store_(store),
      page_tokens_(page_tokens),
      clock_(std::move(clock)),
      customers_(std::move(customers)) {}

RuleWriteContext RuleManager::NewWriteContext(const auth::RequestContext& caller) const {
  return RuleWriteContext{caller, absl::FromUnixMicros(absl::ToUnixMicros(clock_()))};
}

absl::StatusOr<v1::Rule> RuleManager::Write(const auth::RequestContext& caller,
                                            std::string_view rule_id, std::string_view field,
                                            const Decide& decide) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  status::FieldViolations violations;
  validation::FieldChecker(violations).Uuid(rule_id, field);
  TL_RETURN_IF_ERROR(violations.ToStatus());
  const RuleWriteContext context = NewWriteContext(caller);
  return store_->Write(context, Lower(rule_id),
                       [&](const StoredRule& stored) { return decide(stored, context.now); });
}

absl::StatusOr<v1::CreateRuleResponse> RuleManager::CreateRule(
    const auth::RequestContext& caller, const v1::CreateRuleRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  if (!request.has_rule()) return status::InvalidArgument("rule", "is required");
  v1::Rule rule = ClientFields(request.rule());
  TL_RETURN_IF_ERROR(CheckNewRule(rule, request.request_id()));
  const RuleWriteContext context = NewWriteContext(caller);
  // Of what the client asked for, before the server fills anything in.
  NewRule created{.context = context,
                  .rule = {},
                  .request_id = request.request_id(),
                  .fingerprint = ids::Fingerprint(rule),
                  .fields = NamesSet(rule)};
  rule.set_rule_id(ids::NewUuid(context.now));
  rule.set_version(1);
  rule.set_state(v1::RULE_STATE_DRAFT);
  rule.set_owner_id(caller.caller_id);
  *rule.mutable_create_time() = Stamp(context.now);
  *rule.mutable_update_time() = Stamp(context.now);
  created.rule = std::move(rule);
  v1::CreateRuleResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_rule(), store_->Create(created));
  return response;
}

absl::StatusOr<v1::GetRuleResponse> RuleManager::GetRule(const auth::RequestContext& caller,
                                                         const v1::GetRuleRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  checker.Uuid(request.rule_id(), "rule_id");
  if (request.version() < 0) checker.Add("version", "must not be negative");
  TL_RETURN_IF_ERROR(violations.ToStatus());
  v1::GetRuleResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_rule(),
                      store_->Get(caller.tenant_id, Lower(request.rule_id()), request.version()));
  return response;
}

absl::StatusOr<v1::ListRulesResponse> RuleManager::ListRules(
    const auth::RequestContext& caller, const v1::ListRulesRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  if (request.page_size() < 0 || request.page_size() > kMaxRulePageSize) {
    return status::InvalidArgument("page_size",
                                   absl::StrCat("must be between 0 and ", kMaxRulePageSize));
  }
  const int page_size = request.page_size() > 0 ? request.page_size() : kDefaultRulePageSize;
  const std::string hash = ListHash(caller, request.show_archived());
  std::optional<RuleCursor> after;
  if (!request.page_token().empty()) {
    TL_ASSIGN_OR_RETURN(const json cursor, page_tokens_->Decode(request.page_token(), hash));
    const bool readable = cursor.is_object() && cursor.value("n", json()).is_string() &&
                          cursor.value("i", json()).is_string() &&
                          ids::IsUuid(cursor["i"].get<std::string>());
    if (!readable)
      return status::InvalidArgument("page_token", "is not a token this query returned");
    after = RuleCursor{cursor["n"].get<std::string>(), cursor["i"].get<std::string>()};
  }
  TL_ASSIGN_OR_RETURN(RulePage page,
                      store_->List(caller.tenant_id, request.show_archived(), page_size, after));
  v1::ListRulesResponse response;
  response.mutable_rules()->Reserve(static_cast<int>(page.rules.size()));
  for (v1::Rule& rule : page.rules) *response.add_rules() = std::move(rule);
  if (page.next) {
    response.set_next_page_token(page_tokens_->Encode(
        json{{"n", page.next->display_name}, {"i", page.next->rule_id}}, hash));
  }
  return response;
}

absl::StatusOr<v1::UpdateRuleResponse> RuleManager::UpdateRule(
    const auth::RequestContext& caller, const v1::UpdateRuleRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  if (!request.has_rule()) return status::InvalidArgument("rule", "is required");
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  if (checker.Required(request.update_mask().paths_size() > 0, "update_mask")) {
    for (int i = 0; i < request.update_mask().paths_size(); ++i) {
      if (std::find(std::begin(kEditable), std::end(kEditable), request.update_mask().paths(i)) ==
          std::end(kEditable)) {
        checker.Add(validation::ItemPath("update_mask.paths", i),
                    "must be one of display_name, description, trigger, condition, actions, "
                    "reenrollment, misfire_policy");
      }
    }
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  const auto decide = [&](const StoredRule& stored, absl::Time now) -> absl::StatusOr<RuleWrite> {
    TL_RETURN_IF_ERROR(RefuseIfArchived(stored, "change"));
    const v1::Rule& latest = stored.versions.back();
    TL_RETURN_IF_ERROR(SameVersion(latest, request.rule().etag()));
    v1::Rule edited = latest;
    FieldMaskUtil::MergeOptions replace;
    replace.set_replace_message_fields(true);
    replace.set_replace_repeated_fields(true);
    FieldMaskUtil::MergeMessageTo(request.rule(), request.update_mask(), replace, &edited);
    status::FieldViolations problems;
    NormalizeAndValidate(edited, "rule", problems);
    TL_RETURN_IF_ERROR(problems.ToStatus());
    edited.set_owner_id(caller.caller_id);
    *edited.mutable_update_time() = Stamp(now);
    std::string detail = absl::StrCat("version ", latest.version());
    if (latest.state() == v1::RULE_STATE_PUBLISHED) {
      // A published version never changes: the change is the next version's draft.
      edited.set_version(latest.version() + 1);
      edited.set_state(v1::RULE_STATE_DRAFT);
      *edited.mutable_create_time() = Stamp(now);
      edited.clear_publish_time();
      detail = absl::StrCat("version ", edited.version(), ", a new draft from version ",
                            latest.version());
    }
    return RuleWrite{
        .versions = {std::move(edited)},
        .status = std::nullopt,
        .action = "rule.updated",
        .fields = {request.update_mask().paths().begin(), request.update_mask().paths().end()},
        .detail = std::move(detail)};
  };
  v1::UpdateRuleResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_rule(),
                      Write(caller, request.rule().rule_id(), "rule.rule_id", decide));
  return response;
}

absl::StatusOr<v1::PublishRuleResponse> RuleManager::PublishRule(
    const auth::RequestContext& caller, const v1::PublishRuleRequest& request) const {
  const auto decide = [&](const StoredRule& stored, absl::Time now) -> absl::StatusOr<RuleWrite> {
    TL_RETURN_IF_ERROR(RefuseIfArchived(stored, "be published"));
    const v1::Rule& draft = stored.versions.back();
    if (draft.state() != v1::RULE_STATE_DRAFT) {
      return absl::FailedPreconditionError(
          absl::StrCat("rule ", draft.rule_id(), " has no draft to publish: its latest version, ",
                       draft.version(), ", is published already"));
    }
    TL_RETURN_IF_ERROR(SameVersion(draft, request.etag()));
    v1::Rule published = draft;
    published.set_state(v1::RULE_STATE_PUBLISHED);
    *published.mutable_publish_time() = Stamp(now);
    *published.mutable_update_time() = Stamp(now);
    return RuleWrite{.versions = {std::move(published)},
                     .status = std::nullopt,
                     .action = "rule.published",
                     .fields = {"state", "publish_time"},
                     .detail = absl::StrCat("version ", draft.version())};
  };
  v1::PublishRuleResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_rule(),
                      Write(caller, request.rule_id(), "rule_id", decide));
  return response;
}

absl::StatusOr<v1::PauseRuleResponse> RuleManager::PauseRule(
    const auth::RequestContext& caller, const v1::PauseRuleRequest& request) const {
  const auto decide = [](const StoredRule& stored, absl::Time now) -> absl::StatusOr<RuleWrite> {
    TL_RETURN_IF_ERROR(RefuseIfArchived(stored, "be paused"));
    if (stored.status.paused) return RuleWrite{};
    RuleStatus paused = stored.status;
    paused.paused = true;
    paused.paused_time = now;
    return StatusWrite("rule.paused", paused, stored.versions.back());
  };
  v1::PauseRuleResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_rule(),
                      Write(caller, request.rule_id(), "rule_id", decide));
  return response;
}

absl::StatusOr<v1::ResumeRuleResponse> RuleManager::ResumeRule(
    const auth::RequestContext& caller, const v1::ResumeRuleRequest& request) const {
  const auto decide = [](const StoredRule& stored, absl::Time now) -> absl::StatusOr<RuleWrite> {
    TL_RETURN_IF_ERROR(RefuseIfArchived(stored, "be resumed"));
    if (!stored.status.paused) return RuleWrite{};
    RuleStatus running = stored.status;
    running.paused = false;
    running.resume_time = now;
    return StatusWrite("rule.resumed", running, stored.versions.back());
  };
  v1::ResumeRuleResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_rule(),
                      Write(caller, request.rule_id(), "rule_id", decide));
  return response;
}

absl::StatusOr<v1::ArchiveRuleResponse> RuleManager::ArchiveRule(
    const auth::RequestContext& caller, const v1::ArchiveRuleRequest& request) const {
  const auto decide = [](const StoredRule& stored, absl::Time now) -> absl::StatusOr<RuleWrite> {
    if (stored.status.archived) return RuleWrite{};
    RuleWrite write{.versions = stored.versions,
                    .status = stored.status,
                    .action = "rule.archived",
                    .fields = {"state"},
                    .detail = absl::StrCat("versions 1 to ", stored.versions.back().version())};
    write.status->archived = true;
    for (v1::Rule& version : write.versions) {
      version.set_state(v1::RULE_STATE_ARCHIVED);
      *version.mutable_update_time() = Stamp(now);
    }
    return write;
  };
  v1::ArchiveRuleResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_rule(),
                      Write(caller, request.rule_id(), "rule_id", decide));
  return response;
}

absl::StatusOr<v1::Rule> RuleManager::TestSubject(const auth::RequestContext& caller,
                                                  const v1::TestRuleRequest& request) const {
  switch (request.subject_case()) {
    case v1::TestRuleRequest::kRule: {
      v1::Rule rule = ClientFields(request.rule());
      TL_RETURN_IF_ERROR(CheckNewRule(rule, ""));
      return rule;
    }
    case v1::TestRuleRequest::kSaved: {
      status::FieldViolations violations;
      validation::FieldChecker checker(violations);
      checker.Uuid(request.saved().rule_id(), "saved.rule_id");
      if (request.saved().version() < 0) checker.Add("saved.version", "must not be negative");
      TL_RETURN_IF_ERROR(violations.ToStatus());
      return store_->Get(caller.tenant_id, Lower(request.saved().rule_id()),
                         request.saved().version());
    }
    case v1::TestRuleRequest::SUBJECT_NOT_SET:
      break;
  }
  return status::InvalidArgument("rule", "is required: a rule, or saved naming a saved one");
}

absl::StatusOr<v1::TestRuleResponse> RuleManager::TestRule(
    const auth::RequestContext& caller, const v1::TestRuleRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  if (request.input_case() == v1::TestRuleRequest::INPUT_NOT_SET) {
    return status::InvalidArgument("event", "is required: an event, or a customer_id");
  }
  if (request.has_customer_id()) {
    status::FieldViolations violations;
    validation::FieldChecker checker(violations);
    checker.Uuid(request.customer_id(), "customer_id");
    if (request.has_before()) {
      checker.Add("before", "is read only with an event: a customer_id is tested as it is now");
    }
    TL_RETURN_IF_ERROR(violations.ToStatus());
  }
  TL_ASSIGN_OR_RETURN(const v1::Rule rule, TestSubject(caller, request));
  v1::TestRuleResponse response;
  FieldValues values;
  const FieldValues before = TriggerEventValues(request.before());
  absl::Time run_time = clock_();
  if (request.has_event()) {
    values = TriggerEventValues(request.event());
    if (const std::optional<std::string> mismatch =
            TriggerMismatch(rule.trigger(), request.event(), values, before)) {
      response.set_reason(*mismatch);
      return response;
    }
    if (request.event().has_occur_time()) {
      run_time =
          absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(request.event().occur_time()));
    }
  } else {
    if (!customers_) return absl::InternalError("TestRule has no customer lookup: a wiring defect");
    TL_ASSIGN_OR_RETURN(values, customers_(caller, Lower(request.customer_id())));
  }
  Evaluation evaluation = Evaluate(rule.condition(), values, before);
  // What the caller may see of the values (the customer's, when they come from the read
  // model): the caller is the rule's owner once they save it.
  const auth::Scope& scope = *caller.scope;
  for (v1::ComparisonResult& result : evaluation.comparisons) {
    ShowTo(scope, result);
    *response.add_comparisons() = std::move(result);
  }
  if (!evaluation.holds) {
    response.set_reason("the condition does not hold");
    return response;
  }
  response.set_matched(true);
  // The run starts when the trigger's delay has passed.
  run_time += absl::Seconds(rule.trigger().delay().seconds()) +
              absl::Nanoseconds(rule.trigger().delay().nanos());
  const FieldValues shown = ShownTo(scope, values);
  for (const v1::Action& action : rule.actions()) {
    *response.add_actions() = Preview(action, shown, run_time);
  }
  return response;
}

}  // namespace touchline::automation
