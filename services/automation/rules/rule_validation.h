// The rules an automation rule must satisfy before it is stored (rule.proto's comments): its
// trigger, condition, actions (sequences included), templates and cron schedule, checked whole
// with the shared field checker: one wording per problem, lengths in code points. Pure logic
// but for the zone files LoadZone reads.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_VALIDATION_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/time/time.h"
#include "common/status/errors.h"
#include "touchline/automation/v1/rule.pb.h"

namespace touchline::automation {

// Limits (see rule.proto).
inline constexpr size_t kMaxRuleNameChars = 200;
inline constexpr size_t kMaxRuleDescriptionChars = 2000;
inline constexpr size_t kMaxActions = 20;
inline constexpr size_t kMaxActionIdChars = 64;
// StageTransition.stage_id, as journey.proto has stage ids.
inline constexpr size_t kMaxTriggerStageIdChars = 63;
// Assignee.user_id and team_id.
inline constexpr size_t kMaxAssigneeIdChars = 128;
// Template lengths as written, placeholders included (see NormalizeAndValidate).
inline constexpr size_t kMaxTitleTemplateChars = 500;
inline constexpr size_t kMaxBodyTemplateChars = 10000;
inline constexpr size_t kMaxPayloadTemplateBytes = 64 * 1024;
// UpdateCustomerAction.add_tag and remove_tag.
inline constexpr size_t kMaxActionTagChars = 64;
inline constexpr int32_t kMaxLeadScorePoints = 1000;
inline constexpr size_t kMaxLeadScoreReasonChars = 200;
inline constexpr size_t kMaxSequenceSteps = 20;
// Durations: Trigger.delay and SequenceStep.wait from 0, Inactivity.after and
// Reenrollment.at_most_once_per from an hour, CreateTaskAction.due_in from a minute; all up to
// 365 days.
inline constexpr absl::Duration kMaxRuleDuration = absl::Hours(24 * 365);
inline constexpr absl::Duration kMinInactivity = absl::Hours(1);
inline constexpr absl::Duration kMinReenrollmentPeriod = absl::Hours(1);
inline constexpr absl::Duration kMinTaskDueIn = absl::Minutes(1);

// Trims white space (U+3000 too) from both ends of the display name, the description, the
// ids (journey, endpoint, assignee), the tags, the cron expression, the time zone, the task
// templates and the lead score reason, then checks every client-settable field of `rule`,
// adding one violation per problem to `violations` with paths under `prefix` ("rule" ->
// "rule.actions[2].webhook.endpoint_id",
// "rule.actions[0].start_sequence.steps[1].action.create_task.due_in"). Output-only fields
// (rule_id, version, state, paused, owner_id, the times, etag) are not looked at. Action ids,
// stage ids, custom field names and webhook payloads are kept exactly as sent.
//
// Rules: display_name 1 to 200 characters, description at most 2,000.
// trigger: required, exactly one kind; customer_changed.field one of level, lifecycle_status,
// region, owner_id, tags or custom_fields.<key> (a custom field key of the catalogue: 1 to 64
// characters of a-z, 0-9 and _, starting with a letter), its from and to (when set) values of
// that field's type (CheckFieldValue); stage_entered / stage_exited: journey_id a UUID,
// stage_id empty or 1 to 63 characters of a-z, 0-9, _ and -; inactivity.after 1 hour to 365
// days; schedule.cron a cron expression (CronSchedule::Parse's message), time_zone empty or a
// zone LoadZone loads, and the condition must name a customer field (NamesCustomerField,
// reported at the condition); delay 0 to 365 days.
// condition: CheckCondition against the trigger.
// actions: 1 to 20, each with an action_id of 1 to 64 characters of A-Z, a-z, 0-9, _ and -,
// distinct within the rule, and exactly one kind:
// - create_task: assignee required with exactly one kind (owner and owner_manager true,
//   user_id and team_id 1 to 128 characters without white space); due_in 1 minute to 365
//   days; title_template required, at most 500 characters, one line; body_template at most
//   10,000 characters; both CheckTemplate'd; priority a known value.
// - webhook: endpoint_id a UUID; payload_template at most 64 KiB, CheckTemplate'd, and valid
//   JSON when it has no placeholders.
// - update_customer: exactly one kind; set_field.field one of level, lifecycle_status or
//   custom_fields.<key>, its value required and of the field's type; add_tag / remove_tag 1 to
//   64 characters, one line.
// - add_lead_score: points -1,000 to 1,000 and not 0; reason at most 200 characters, one line.
// - start_sequence: 1 to 20 steps, each with a wait of 0 to 365 days and a required action
//   checked as above but not start_sequence (sequences do not nest), the steps' action_ids
//   distinct from each other; exit_on_lifecycle_status empty or a LifecycleStatus value name
//   other than LIFECYCLE_STATUS_UNSPECIFIED.
// reenrollment: unset or no kind (every time), or one kind: every_time and once_per_customer
// true, at_most_once_per 1 hour to 365 days. misfire_policy a known value.
// Every duration a valid google.protobuf.Duration (seconds and nanos of the same sign, |nanos|
// below 1e9) before its range is checked. Template lengths are checked as written (rule.proto
// bounds them once filled in, which only a run knows). Violations come in field order. On
// violations `rule` may be partly normalised and must not be stored.
void NormalizeAndValidate(v1::Rule& rule, std::string_view prefix,
                          status::FieldViolations& violations);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_RULE_VALIDATION_H_
