#include "services/automation/rules/rule_validation.h"

#include <algorithm>
#include <array>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/status/time_fields.h"
#include "common/validation/field_checker.h"
#include "google/protobuf/duration.pb.h"
#include "nlohmann/json.hpp"
#include "services/automation/rules/conditions.h"
#include "services/automation/rules/field_catalogue.h"
#include "services/automation/rules/templates.h"
#include "services/automation/schedule/cron.h"
#include "touchline/contacts/v1/customer.pb.h"

namespace touchline::automation {
namespace {

using validation::ControlCharacters;
using validation::FieldPath;
using validation::ItemPath;

namespace cv1 = ::touchline::contacts::v1;

constexpr validation::TextRule kRequiredSingleLine{.required = true,
                                                   .controls = ControlCharacters::kForbidden};
constexpr validation::TextRule kSingleLine{.controls = ControlCharacters::kForbidden};
constexpr validation::TextRule kMultiLine{.controls = ControlCharacters::kTabAndLineBreaks};

constexpr validation::TokenShape kActionId{
    .max_length = kMaxActionIdChars, .upper_case = true, .punctuation = "_-"};
// journey.proto's stage ids.
constexpr validation::TokenShape kStageId{.max_length = kMaxTriggerStageIdChars,
                                          .punctuation = "_-"};

// The catalogue names customer fields under this prefix; rules name them without it.
constexpr std::string_view kCustomerPrefix = "customer.";
constexpr std::string_view kCustomFieldsPrefix = "custom_fields.";

// The customer fields a customer_changed trigger watches and a set_field action sets.
constexpr std::array<std::string_view, 5> kWatchedFields = {"level", "lifecycle_status", "region",
                                                            "owner_id", "tags"};
constexpr std::array<std::string_view, 2> kSettableFields = {"level", "lifecycle_status"};

// "1 hour", "365 days", "0": a limit as a description states it.
std::string InWords(absl::Duration duration) {
  const auto count = [&](absl::Duration unit, std::string_view name) {
    const int64_t n = absl::IDivDuration(duration, unit, &duration);
    return absl::StrCat(n, " ", std::string(name), n == 1 ? "" : "s");
  };
  if (duration == absl::ZeroDuration()) return "0";
  if (duration % absl::Hours(24) == absl::ZeroDuration()) return count(absl::Hours(24), "day");
  if (duration % absl::Hours(1) == absl::ZeroDuration()) return count(absl::Hours(1), "hour");
  if (duration % absl::Minutes(1) == absl::ZeroDuration()) return count(absl::Minutes(1), "minute");
  return absl::FormatDuration(duration);
}

// The field checker with what the shared checks outside it need: the violations they add to
// and the rule's trigger, which decides the fields templates and conditions may name.
class Checker : public validation::FieldChecker {
 public:
  Checker(status::FieldViolations& violations, const v1::Trigger& trigger)
      : FieldChecker(violations), violations_(violations), trigger_(trigger) {}

  status::FieldViolations& violations() { return violations_; }
  const v1::Trigger& trigger() const { return trigger_; }

  // A valid Duration from `min` to kMaxRuleDuration; unset reads as 0, so a required one
  // (`required`) must be set.
  void DurationWithin(bool present, const google::protobuf::Duration& duration,
                      const std::string& path, absl::Duration min, bool required) {
    if (required && !Required(present, path)) return;
    if (!status::CheckDuration(duration, path, violations_)) return;
    const absl::Duration value =
        absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
    if (value < min || value > kMaxRuleDuration) {
      Add(path, absl::StrCat("must be between ", InWords(min), " and ", InWords(kMaxRuleDuration)));
    }
  }

  // A oneof member that is a flag: "must be true" when it was chosen but is false.
  void ChosenFlag(bool value, const std::string& path) {
    if (!value) Add(path, "must be true");
  }

  // A user or team id: 1 to kMaxAssigneeIdChars characters without white space, trimmed.
  void AssigneeId(std::string& value, const std::string& path) {
    if (Text(value, path, kMaxAssigneeIdChars, kRequiredSingleLine)) NoWhiteSpace(value, path);
  }

  // A tag the action adds or removes: 1 to kMaxActionTagChars characters, one line, trimmed.
  void Tag(std::string& value, const std::string& path) {
    Text(value, path, kMaxActionTagChars, kRequiredSingleLine);
  }

  // A required UUID, trimmed first.
  void TrimmedUuid(std::string& value, const std::string& path) {
    if (Trim(value, path)) Uuid(value, path);
  }

  // A task template: its text, then (when that passed) its placeholders.
  void Template(std::string& text, const std::string& path, size_t max_chars,
                validation::TextRule rule) {
    if (Text(text, path, max_chars, rule)) CheckTemplate(text, trigger_, path, violations_);
  }

 private:
  status::FieldViolations& violations_;
  const v1::Trigger& trigger_;
};

// The catalogue's spec of a customer field a rule names without "customer." ("level",
// "custom_fields.plan"), one of `fixed` or a custom field; null (and the problem reported)
// otherwise. `names` is `fixed` in words, for the description.
template <size_t N>
const FieldSpec* CustomerField(Checker& check, const std::string& field,
                               const std::array<std::string_view, N>& fixed, std::string_view names,
                               const std::string& path) {
  if (!check.Encoding(field, path) || !check.Required(!field.empty(), path)) return nullptr;
  const std::string qualified = absl::StrCat(std::string(kCustomerPrefix), field);
  if (field.starts_with(kCustomFieldsPrefix)) {
    const FieldSpec* spec = FindField(qualified);
    // The catalogue's wording, without the prefix this field is written without.
    if (spec == nullptr) {
      check.Add(path, UnknownFieldProblem(qualified).substr(kCustomerPrefix.size()));
    }
    return spec;
  }
  for (std::string_view name : fixed) {
    if (field == name) return FindField(qualified);
  }
  check.Add(path, absl::StrCat("must be ", std::string(names), " or custom_fields.<key>"));
  return nullptr;
}

void CheckCustomerChanged(Checker& check, v1::CustomerChanged& trigger, const std::string& path) {
  const FieldSpec* spec =
      CustomerField(check, trigger.field(), kWatchedFields,
                    "level, lifecycle_status, region, owner_id, tags", FieldPath(path, "field"));
  if (spec == nullptr) return;
  if (trigger.has_from()) {
    CheckFieldValue(*spec, trigger.from(), FieldPath(path, "from"), check.violations());
  }
  if (trigger.has_to()) {
    CheckFieldValue(*spec, trigger.to(), FieldPath(path, "to"), check.violations());
  }
}

void CheckStageTransition(Checker& check, v1::StageTransition& trigger, const std::string& path) {
  check.TrimmedUuid(*trigger.mutable_journey_id(), FieldPath(path, "journey_id"));
  if (!trigger.stage_id().empty()) {
    check.Token(trigger.stage_id(), FieldPath(path, "stage_id"), kStageId);
  }
}

void CheckSchedule(Checker& check, v1::Schedule& schedule, const std::string& path) {
  const std::string cron_path = FieldPath(path, "cron");
  if (check.Text(*schedule.mutable_cron(), cron_path, kMaxCronLength, kRequiredSingleLine)) {
    if (absl::StatusOr<CronSchedule> parsed = CronSchedule::Parse(schedule.cron()); !parsed.ok()) {
      check.Add(cron_path, std::string(parsed.status().message()));
    }
  }
  const std::string zone_path = FieldPath(path, "time_zone");
  if (check.Trim(*schedule.mutable_time_zone(), zone_path)) {
    if (absl::StatusOr<absl::TimeZone> zone = LoadZone(schedule.time_zone()); !zone.ok()) {
      check.Add(zone_path, std::string(zone.status().message()));
    }
  }
}

void CheckTrigger(Checker& check, v1::Trigger& trigger, const std::string& path) {
  switch (trigger.kind_case()) {
    case v1::Trigger::kTouchpointRecorded:
      break;
    case v1::Trigger::kCustomerChanged:
      CheckCustomerChanged(check, *trigger.mutable_customer_changed(),
                           FieldPath(path, "customer_changed"));
      break;
    case v1::Trigger::kStageEntered:
      CheckStageTransition(check, *trigger.mutable_stage_entered(),
                           FieldPath(path, "stage_entered"));
      break;
    case v1::Trigger::kStageExited:
      CheckStageTransition(check, *trigger.mutable_stage_exited(), FieldPath(path, "stage_exited"));
      break;
    case v1::Trigger::kInactivity: {
      const std::string inactivity_path = FieldPath(path, "inactivity");
      check.DurationWithin(trigger.inactivity().has_after(), trigger.inactivity().after(),
                           FieldPath(inactivity_path, "after"), kMinInactivity,
                           /*required=*/true);
      break;
    }
    case v1::Trigger::kSchedule:
      CheckSchedule(check, *trigger.mutable_schedule(), FieldPath(path, "schedule"));
      break;
    case v1::Trigger::KIND_NOT_SET:
      check.Add(path,
                "must have one kind: touchpoint_recorded, customer_changed, stage_entered, "
                "stage_exited, inactivity or schedule");
      break;
  }
  check.DurationWithin(trigger.has_delay(), trigger.delay(), FieldPath(path, "delay"),
                       absl::ZeroDuration(), /*required=*/false);
}

void CheckAssignee(Checker& check, v1::Assignee& assignee, const std::string& path) {
  switch (assignee.kind_case()) {
    case v1::Assignee::kOwner:
      check.ChosenFlag(assignee.owner(), FieldPath(path, "owner"));
      break;
    case v1::Assignee::kOwnerManager:
      check.ChosenFlag(assignee.owner_manager(), FieldPath(path, "owner_manager"));
      break;
    case v1::Assignee::kUserId:
      check.AssigneeId(*assignee.mutable_user_id(), FieldPath(path, "user_id"));
      break;
    case v1::Assignee::kTeamId:
      check.AssigneeId(*assignee.mutable_team_id(), FieldPath(path, "team_id"));
      break;
    case v1::Assignee::KIND_NOT_SET:
      check.Add(path, "must have one kind: owner, owner_manager, user_id or team_id");
      break;
  }
}

void CheckCreateTask(Checker& check, v1::CreateTaskAction& task, const std::string& path) {
  const std::string assignee_path = FieldPath(path, "assignee");
  if (check.Required(task.has_assignee(), assignee_path)) {
    CheckAssignee(check, *task.mutable_assignee(), assignee_path);
  }
  check.DurationWithin(task.has_due_in(), task.due_in(), FieldPath(path, "due_in"), kMinTaskDueIn,
                       /*required=*/true);
  check.Template(*task.mutable_title_template(), FieldPath(path, "title_template"),
                 kMaxTitleTemplateChars, kRequiredSingleLine);
  check.Template(*task.mutable_body_template(), FieldPath(path, "body_template"),
                 kMaxBodyTemplateChars, kMultiLine);
  check.KnownEnum(task.priority(), v1::TaskPriority_IsValid, FieldPath(path, "priority"));
}

// Where `text` (valid UTF-8) is not JSON, as a description; "" when it is.
std::string JsonProblem(std::string_view text) {
  try {
    [[maybe_unused]] const nlohmann::json parsed = nlohmann::json::parse(text);
    return "";
  } catch (const nlohmann::json::parse_error& error) {
    // error.byte counts from 1 the byte the parser stopped at; count the characters to it.
    size_t characters = 0;
    const size_t end = std::min(error.byte, text.size());
    for (size_t i = 0; i < end; ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++characters;
    }
    return absl::StrCat("must be valid JSON when it has no placeholders: invalid at character ",
                        std::max<size_t>(characters, 1));
  }
}

void CheckWebhook(Checker& check, v1::WebhookAction& webhook, const std::string& path) {
  check.TrimmedUuid(*webhook.mutable_endpoint_id(), FieldPath(path, "endpoint_id"));
  const std::string payload_path = FieldPath(path, "payload_template");
  std::string& payload = *webhook.mutable_payload_template();
  // Sent as written: not trimmed. Empty: the default payload.
  if (payload.empty() || !check.Encoding(payload, payload_path) ||
      !check.MaxBytes(payload, payload_path, kMaxPayloadTemplateBytes)) {
    return;
  }
  const size_t before = check.violations().size();
  CheckTemplate(payload, check.trigger(), payload_path, check.violations());
  if (check.violations().size() != before || !ParseTemplate(payload).placeholders.empty()) return;
  if (const std::string problem = JsonProblem(payload); !problem.empty()) {
    check.Add(payload_path, problem);
  }
}

void CheckUpdateCustomer(Checker& check, v1::UpdateCustomerAction& update,
                         const std::string& path) {
  switch (update.kind_case()) {
    case v1::UpdateCustomerAction::kSetField: {
      v1::SetField& set = *update.mutable_set_field();
      const std::string set_path = FieldPath(path, "set_field");
      const FieldSpec* spec =
          CustomerField(check, set.field(), kSettableFields, "level, lifecycle_status",
                        FieldPath(set_path, "field"));
      const std::string value_path = FieldPath(set_path, "value");
      if (check.Required(set.has_value(), value_path) && spec != nullptr) {
        CheckFieldValue(*spec, set.value(), value_path, check.violations());
      }
      break;
    }
    case v1::UpdateCustomerAction::kAddTag:
      check.Tag(*update.mutable_add_tag(), FieldPath(path, "add_tag"));
      break;
    case v1::UpdateCustomerAction::kRemoveTag:
      check.Tag(*update.mutable_remove_tag(), FieldPath(path, "remove_tag"));
      break;
    case v1::UpdateCustomerAction::KIND_NOT_SET:
      check.Add(path, "must have one kind: set_field, add_tag or remove_tag");
      break;
  }
}

void CheckAddLeadScore(Checker& check, v1::AddLeadScoreAction& score, const std::string& path) {
  const std::string points_path = FieldPath(path, "points");
  if (score.points() < -kMaxLeadScorePoints || score.points() > kMaxLeadScorePoints) {
    check.Add(points_path,
              absl::StrCat("must be between ", -kMaxLeadScorePoints, " and ", kMaxLeadScorePoints));
  } else if (score.points() == 0) {
    check.Add(points_path, "must not be 0");
  }
  check.Text(*score.mutable_reason(), FieldPath(path, "reason"), kMaxLeadScoreReasonChars,
             kSingleLine);
}

void CheckAction(Checker& check, v1::Action& action, const std::string& path, bool in_sequence);

void CheckStartSequence(Checker& check, v1::StartSequenceAction& sequence,
                        const std::string& path) {
  const std::string steps_path = FieldPath(path, "steps");
  if (check.Required(!sequence.steps().empty(), steps_path)) {
    check.MaxEntries(static_cast<size_t>(sequence.steps_size()), steps_path, kMaxSequenceSteps);
  }
  validation::DuplicateCheck unique_ids("steps", ".action.action_id");
  for (int i = 0; i < sequence.steps_size(); ++i) {
    v1::SequenceStep& step = *sequence.mutable_steps(i);
    const std::string step_path = ItemPath(steps_path, static_cast<size_t>(i));
    check.DurationWithin(step.has_wait(), step.wait(), FieldPath(step_path, "wait"),
                         absl::ZeroDuration(), /*required=*/false);
    const std::string action_path = FieldPath(step_path, "action");
    if (!check.Required(step.has_action(), action_path)) continue;
    const std::string id_path = FieldPath(action_path, "action_id");
    if (check.Token(step.action().action_id(), id_path, kActionId)) {
      unique_ids.First(check, step.action().action_id(), static_cast<size_t>(i), id_path);
    }
    CheckAction(check, *step.mutable_action(), action_path, /*in_sequence=*/true);
  }
  const std::string status_path = FieldPath(path, "exit_on_lifecycle_status");
  const std::string& status = sequence.exit_on_lifecycle_status();
  if (status.empty() || !check.Encoding(status, status_path)) return;
  const google::protobuf::EnumValueDescriptor* value =
      cv1::LifecycleStatus_descriptor()->FindValueByName(status);
  if (value == nullptr) {
    check.Add(status_path, absl::StrCat("must name a value of ",
                                        cv1::LifecycleStatus_descriptor()->full_name()));
  } else if (value->number() == 0) {
    check.Add(status_path, absl::StrCat("must not be ", value->name()));
  }
}

// Everything of an action but its action_id, which the caller checks against its siblings.
void CheckAction(Checker& check, v1::Action& action, const std::string& path, bool in_sequence) {
  switch (action.kind_case()) {
    case v1::Action::kCreateTask:
      CheckCreateTask(check, *action.mutable_create_task(), FieldPath(path, "create_task"));
      break;
    case v1::Action::kWebhook:
      CheckWebhook(check, *action.mutable_webhook(), FieldPath(path, "webhook"));
      break;
    case v1::Action::kUpdateCustomer:
      CheckUpdateCustomer(check, *action.mutable_update_customer(),
                          FieldPath(path, "update_customer"));
      break;
    case v1::Action::kAddLeadScore:
      CheckAddLeadScore(check, *action.mutable_add_lead_score(), FieldPath(path, "add_lead_score"));
      break;
    case v1::Action::kStartSequence:
      if (in_sequence) {
        check.Add(FieldPath(path, "start_sequence"),
                  "must not be in a sequence: sequences do not nest");
      } else {
        CheckStartSequence(check, *action.mutable_start_sequence(),
                           FieldPath(path, "start_sequence"));
      }
      break;
    case v1::Action::KIND_NOT_SET:
      check.Add(path,
                "must have one kind: create_task, webhook, update_customer, add_lead_score or "
                "start_sequence");
      break;
  }
}

void CheckActions(Checker& check, google::protobuf::RepeatedPtrField<v1::Action>& actions,
                  const std::string& path) {
  if (!check.Required(!actions.empty(), path)) return;
  check.MaxEntries(static_cast<size_t>(actions.size()), path, kMaxActions);
  validation::DuplicateCheck unique_ids("actions", ".action_id");
  for (int i = 0; i < actions.size(); ++i) {
    v1::Action& action = *actions.Mutable(i);
    const std::string action_path = ItemPath(path, static_cast<size_t>(i));
    const std::string id_path = FieldPath(action_path, "action_id");
    if (check.Token(action.action_id(), id_path, kActionId)) {
      unique_ids.First(check, action.action_id(), static_cast<size_t>(i), id_path);
    }
    CheckAction(check, action, action_path, /*in_sequence=*/false);
  }
}

void CheckReenrollment(Checker& check, const v1::Reenrollment& reenrollment,
                       const std::string& path) {
  switch (reenrollment.kind_case()) {
    case v1::Reenrollment::kEveryTime:
      check.ChosenFlag(reenrollment.every_time(), FieldPath(path, "every_time"));
      break;
    case v1::Reenrollment::kOncePerCustomer:
      check.ChosenFlag(reenrollment.once_per_customer(), FieldPath(path, "once_per_customer"));
      break;
    case v1::Reenrollment::kAtMostOncePer:
      check.DurationWithin(true, reenrollment.at_most_once_per(),
                           FieldPath(path, "at_most_once_per"), kMinReenrollmentPeriod,
                           /*required=*/true);
      break;
    case v1::Reenrollment::KIND_NOT_SET:
      break;
  }
}

}  // namespace

void NormalizeAndValidate(v1::Rule& rule, std::string_view prefix,
                          status::FieldViolations& violations) {
  Checker check(violations, rule.trigger());
  check.Text(*rule.mutable_display_name(), FieldPath(prefix, "display_name"), kMaxRuleNameChars,
             kRequiredSingleLine);
  check.Text(*rule.mutable_description(), FieldPath(prefix, "description"),
             kMaxRuleDescriptionChars, kMultiLine);
  const std::string trigger_path = FieldPath(prefix, "trigger");
  if (check.Required(rule.has_trigger(), trigger_path)) {
    CheckTrigger(check, *rule.mutable_trigger(), trigger_path);
  }
  const std::string condition_path = FieldPath(prefix, "condition");
  if (rule.trigger().has_schedule() && !NamesCustomerField(rule.condition())) {
    check.Add(condition_path,
              "must name a customer field for a schedule trigger, which runs once per customer "
              "the condition selects");
  }
  CheckCondition(rule.condition(), rule.trigger(), condition_path, violations);
  CheckActions(check, *rule.mutable_actions(), FieldPath(prefix, "actions"));
  CheckReenrollment(check, rule.reenrollment(), FieldPath(prefix, "reenrollment"));
  check.KnownEnum(rule.misfire_policy(), v1::MisfirePolicy_IsValid,
                  FieldPath(prefix, "misfire_policy"));
}

}  // namespace touchline::automation
