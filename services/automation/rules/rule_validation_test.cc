#include "services/automation/rules/rule_validation.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::automation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using type::v1::CustomValue;

using Violations = std::vector<std::pair<std::string, std::string>>;

constexpr char kJourneyId[] = "3f2c8a1e-5b7d-4c9a-8e21-0d6f4b3a9c17";
constexpr char kEndpointId[] = "9b1e7c2d-4a6f-4e38-b5d0-2c7a8f1e6d34";
constexpr int64_t kDay = 24 * 3600;

CustomValue Text(std::string text) {
  CustomValue value;
  value.set_string_value(std::move(text));
  return value;
}

void SetDuration(google::protobuf::Duration& duration, int64_t seconds, int32_t nanos = 0) {
  duration.set_seconds(seconds);
  duration.set_nanos(nanos);
}

// A trigger of each kind, valid.
v1::Trigger TouchpointRecorded() {
  v1::Trigger trigger;
  trigger.mutable_touchpoint_recorded();
  return trigger;
}

v1::Trigger CustomerChanged() {
  v1::Trigger trigger;
  v1::CustomerChanged& changed = *trigger.mutable_customer_changed();
  changed.set_field("lifecycle_status");
  *changed.mutable_from() = Text("LIFECYCLE_STATUS_LEAD");
  *changed.mutable_to() = Text("LIFECYCLE_STATUS_CUSTOMER");
  return trigger;
}

v1::Trigger StageEntered() {
  v1::Trigger trigger;
  trigger.mutable_stage_entered()->set_journey_id(kJourneyId);
  trigger.mutable_stage_entered()->set_stage_id("needs_discovery");
  return trigger;
}

v1::Trigger StageExited() {
  v1::Trigger trigger;
  trigger.mutable_stage_exited()->set_journey_id(kJourneyId);
  return trigger;
}

v1::Trigger Inactivity() {
  v1::Trigger trigger;
  SetDuration(*trigger.mutable_inactivity()->mutable_after(), 30 * kDay);
  return trigger;
}

v1::Trigger Schedule() {
  v1::Trigger trigger;
  trigger.mutable_schedule()->set_cron("0 9 * * 1-5");
  trigger.mutable_schedule()->set_time_zone("Asia/Shanghai");
  return trigger;
}

v1::Action TaskAction(std::string id) {
  v1::Action action;
  action.set_action_id(std::move(id));
  v1::CreateTaskAction& task = *action.mutable_create_task();
  task.mutable_assignee()->set_owner(true);
  SetDuration(*task.mutable_due_in(), kDay);
  task.set_title_template("跟进 {{customer.display_name}}");
  task.set_body_template(
      "客户 {{customer.display_name}}（{{customer.region}}）需要回访。\n请在今天联系。");
  task.set_priority(v1::TASK_PRIORITY_HIGH);
  return action;
}

v1::Action TagAction(std::string id, std::string tag) {
  v1::Action action;
  action.set_action_id(std::move(id));
  action.mutable_update_customer()->set_add_tag(std::move(tag));
  return action;
}

// A rule with an action of each kind and a sequence, around `trigger`.
v1::Rule RuleWith(v1::Trigger trigger) {
  v1::Rule rule;
  rule.set_display_name("重点客户跟进");
  rule.set_description("重点客户有变化时，提醒负责人跟进。");
  *rule.mutable_trigger() = std::move(trigger);
  SetDuration(*rule.mutable_trigger()->mutable_delay(), 3600);
  v1::Comparison& comparison = *rule.mutable_condition()->add_any_of()->add_all_of();
  comparison.set_field("customer.level");
  comparison.set_operator_(v1::OPERATOR_EQUALS);
  *comparison.add_values() = Text("CUSTOMER_LEVEL_VIP");

  *rule.add_actions() = TaskAction("task");
  v1::Action& webhook = *rule.add_actions();
  webhook.set_action_id("notify-crm");
  webhook.mutable_webhook()->set_endpoint_id(kEndpointId);
  webhook.mutable_webhook()->set_payload_template(
      R"({"客户": "{{customer.display_name}}", "等级": "{{customer.level}}"})");
  v1::Action& set = *rule.add_actions();
  set.set_action_id("mark_key");
  set.mutable_update_customer()->mutable_set_field()->set_field("custom_fields.follow_up");
  *set.mutable_update_customer()->mutable_set_field()->mutable_value() = Text("已提醒");
  v1::Action& score = *rule.add_actions();
  score.set_action_id("score");
  score.mutable_add_lead_score()->set_points(-15);
  score.mutable_add_lead_score()->set_reason("长期未联系");
  v1::Action& sequence = *rule.add_actions();
  sequence.set_action_id("nurture");
  v1::StartSequenceAction& steps = *sequence.mutable_start_sequence();
  v1::SequenceStep& first = *steps.add_steps();
  *first.mutable_action() = TagAction("tag", "培育中");
  v1::SequenceStep& second = *steps.add_steps();
  SetDuration(*second.mutable_wait(), 3 * kDay);
  *second.mutable_action() = TaskAction("task");
  steps.set_exit_on_reply(true);
  steps.set_exit_on_lifecycle_status("LIFECYCLE_STATUS_CUSTOMER");

  SetDuration(*rule.mutable_reenrollment()->mutable_at_most_once_per(), 7 * kDay);
  rule.set_misfire_policy(v1::MISFIRE_POLICY_SKIP);
  return rule;
}

v1::Rule Valid() { return RuleWith(CustomerChanged()); }

Violations Check(v1::Rule rule) {
  status::FieldViolations violations;
  NormalizeAndValidate(rule, "rule", violations);
  return status::FieldViolationsOf(violations.ToStatus());
}

std::string Repeat(std::string_view text, int times) {
  std::string repeated;
  for (int i = 0; i < times; ++i) repeated += text;
  return repeated;
}

TEST(RuleValidationTest, AcceptsAValidRuleOfEachTriggerKind) {
  for (const v1::Trigger& trigger : {TouchpointRecorded(), CustomerChanged(), StageEntered(),
                                     StageExited(), Inactivity(), Schedule()}) {
    SCOPED_TRACE(trigger.ShortDebugString());
    EXPECT_THAT(Check(RuleWith(trigger)), IsEmpty());
  }
}

TEST(RuleValidationTest, AcceptsTheFieldsOfItsTriggerInTemplates) {
  v1::Rule rule = RuleWith(TouchpointRecorded());
  rule.mutable_actions(0)->mutable_create_task()->set_title_template(
      "跟进 {{customer.display_name}}：{{ touchpoint.summary }}");
  EXPECT_THAT(Check(rule), IsEmpty());

  rule = RuleWith(Inactivity());
  rule.mutable_actions(0)->mutable_create_task()->set_title_template(
      "跟进 {{customer.display_name}}：{{ touchpoint.summary }}");
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.actions[0].create_task.title_template",
                               "placeholder at character 30: touchpoint.summary is only set for "
                               "touchpoint_recorded triggers")));
}

TEST(RuleValidationTest, TrimsTextsAndIgnoresOutputOnlyFields) {
  v1::Rule rule = Valid();
  rule.set_display_name("\u3000 重点客户跟进 ");
  rule.set_rule_id("not a uuid");
  rule.set_version(-3);
  rule.set_state(static_cast<v1::RuleState>(99));
  rule.set_owner_id("  ");
  rule.set_etag("\x01");
  rule.mutable_actions(2)->mutable_update_customer()->set_add_tag(" 培育中\t");
  status::FieldViolations violations;
  NormalizeAndValidate(rule, "rule", violations);
  EXPECT_TRUE(violations.empty()) << violations.ToStatus();
  EXPECT_EQ(rule.display_name(), "重点客户跟进");
  EXPECT_EQ(rule.actions(2).update_customer().add_tag(), "培育中");
}

TEST(RuleValidationTest, DisplayNameAndDescription) {
  v1::Rule rule = Valid();
  rule.set_display_name(Repeat("跟", 200));
  rule.set_description(Repeat("进", 2000));
  EXPECT_THAT(Check(rule), IsEmpty());

  rule.set_display_name(Repeat("跟", 201));
  rule.set_description(Repeat("进", 2001));
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.display_name", "must be at most 200 characters"),
                          Pair("rule.description", "must be at most 2000 characters")));

  rule.set_display_name(" ");
  rule.set_description("第一行\n第二行");
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.display_name", "is required")));
  rule.set_display_name("重点\n客户");
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.display_name", "must not contain control characters")));
}

TEST(RuleValidationTest, TriggerIsRequiredWithOneKind) {
  v1::Rule rule = Valid();
  rule.clear_trigger();
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.trigger", "is required")));

  SetDuration(*rule.mutable_trigger()->mutable_delay(), 60);
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.trigger",
                               "must have one kind: touchpoint_recorded, customer_changed, "
                               "stage_entered, stage_exited, inactivity or schedule")));
}

TEST(RuleValidationTest, CustomerChangedField) {
  const std::string names =
      "must be level, lifecycle_status, region, owner_id, tags or custom_fields.<key>";
  v1::Rule rule = Valid();
  v1::CustomerChanged& changed = *rule.mutable_trigger()->mutable_customer_changed();
  changed.set_field("display_name");
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.trigger.customer_changed.field", names)));
  changed.set_field("customer.level");
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.trigger.customer_changed.field", names)));
  changed.clear_field();
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.trigger.customer_changed.field", "is required")));
  changed.set_field("custom_fields.Plan");
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.trigger.customer_changed.field",
                               "custom_fields.Plan is not a known field: custom field keys are 1 "
                               "to 64 characters of a-z, 0-9 and _, starting with a letter")));
  changed.set_field("custom_fields." + std::string(65, 'k'));
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.trigger.customer_changed.field",
                                            HasSubstr("is not a known field"))));
  changed.set_field("custom_fields." + std::string(64, 'k'));
  changed.clear_from();
  changed.clear_to();
  EXPECT_THAT(Check(rule), IsEmpty());
  for (const char* field : {"level", "region", "owner_id", "tags"}) {
    changed.set_field(field);
    EXPECT_THAT(Check(rule), IsEmpty()) << field;
  }
}

TEST(RuleValidationTest, CustomerChangedValuesOfTheFieldsType) {
  v1::Rule rule = Valid();
  v1::CustomerChanged& changed = *rule.mutable_trigger()->mutable_customer_changed();
  *changed.mutable_from() = Text("LIFECYCLE_STATUS_SIGNED");
  changed.mutable_to()->set_int_value(5);
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.trigger.customer_changed.from",
                               "must name a value of touchline.contacts.v1.LifecycleStatus"),
                          Pair("rule.trigger.customer_changed.to", "must be text (string_value)")));

  changed.set_field("tags");
  *changed.mutable_from() = Text("展会线索");
  changed.clear_to();
  EXPECT_THAT(Check(rule), IsEmpty());
  changed.set_field("custom_fields.budget");
  changed.mutable_from()->set_double_value(1.5);
  changed.mutable_to()->set_double_value(std::numeric_limits<double>::infinity());
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.trigger.customer_changed.to", "must be a finite number")));
}

TEST(RuleValidationTest, StageTransitions) {
  v1::Rule rule = RuleWith(StageEntered());
  rule.mutable_trigger()->mutable_stage_entered()->set_journey_id("journey-1");
  rule.mutable_trigger()->mutable_stage_entered()->set_stage_id(std::string(64, 's'));
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.trigger.stage_entered.journey_id", "must be a UUID"),
                          Pair("rule.trigger.stage_entered.stage_id",
                               "must be 1 to 63 characters of a-z, 0-9, _ and -")));
  rule.mutable_trigger()->mutable_stage_entered()->set_stage_id(std::string(63, 's'));
  rule.mutable_trigger()->mutable_stage_entered()->set_journey_id(std::string(" ") + kJourneyId +
                                                                  " ");
  EXPECT_THAT(Check(rule), IsEmpty());
  EXPECT_EQ(rule.trigger().stage_entered().journey_id(), std::string(" ") + kJourneyId + " ")
      << "Check works on a copy";

  rule = RuleWith(StageExited());
  rule.mutable_trigger()->mutable_stage_exited()->clear_journey_id();
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.trigger.stage_exited.journey_id", "is required")));
}

TEST(RuleValidationTest, InactivityAfterOneHourTo365Days) {
  v1::Rule rule = RuleWith(Inactivity());
  const std::string path = "rule.trigger.inactivity.after";
  const std::string range = "must be between 1 hour and 365 days";
  google::protobuf::Duration& after =
      *rule.mutable_trigger()->mutable_inactivity()->mutable_after();
  SetDuration(after, 3600);
  EXPECT_THAT(Check(rule), IsEmpty());
  SetDuration(after, 365 * kDay);
  EXPECT_THAT(Check(rule), IsEmpty());
  SetDuration(after, 3599, 999999999);
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, range)));
  SetDuration(after, 365 * kDay, 1);
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, range)));
  SetDuration(after, 7200, -1);
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, "must be a valid duration")));
  SetDuration(after, 7200, 1000000000);
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, "must be a valid duration")));
  rule.mutable_trigger()->mutable_inactivity()->clear_after();
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, "is required")));
}

TEST(RuleValidationTest, ScheduleCronAndTimeZone) {
  v1::Rule rule = RuleWith(Schedule());
  v1::Schedule& schedule = *rule.mutable_trigger()->mutable_schedule();
  schedule.set_cron("0 9 * * 8");
  schedule.set_time_zone("Mars/Olympus_Mons");
  const Violations violations = Check(rule);
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_EQ(violations[0].first, "rule.trigger.schedule.cron");
  EXPECT_EQ(violations[0].second, "day of week: 8 at character 9 is out of range 0-7");
  EXPECT_EQ(violations[1].first, "rule.trigger.schedule.time_zone");
  EXPECT_THAT(violations[1].second, HasSubstr("Mars/Olympus_Mons"));

  schedule.set_cron("0 9 * *");
  schedule.clear_time_zone();
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.trigger.schedule.cron", "expected 5 fields, found 4")));
  schedule.set_cron("  ");
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.trigger.schedule.cron", "is required")));
}

TEST(RuleValidationTest, ScheduleConditionMustNameACustomerField) {
  v1::Rule rule = RuleWith(Schedule());
  rule.clear_condition();
  const auto problem = Pair("rule.condition",
                            "must name a customer field for a schedule trigger, which runs once "
                            "per customer the condition selects");
  EXPECT_THAT(Check(rule), ElementsAre(problem));

  // Named, but a field a schedule never sets: both problems.
  v1::Comparison& comparison = *rule.mutable_condition()->add_any_of()->add_all_of();
  comparison.set_field("touchpoint.channel");
  comparison.set_operator_(v1::OPERATOR_EXISTS);
  EXPECT_THAT(Check(rule),
              ElementsAre(problem, Pair("rule.condition.any_of[0].all_of[0].field",
                                        "touchpoint.channel is only set for touchpoint_recorded "
                                        "triggers")));
}

TEST(RuleValidationTest, DelayZeroTo365Days) {
  v1::Rule rule = Valid();
  google::protobuf::Duration& delay = *rule.mutable_trigger()->mutable_delay();
  SetDuration(delay, 0);
  EXPECT_THAT(Check(rule), IsEmpty());
  SetDuration(delay, 365 * kDay);
  EXPECT_THAT(Check(rule), IsEmpty());
  SetDuration(delay, -1);
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.trigger.delay", "must be between 0 and 365 days")));
  SetDuration(delay, 366 * kDay);
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.trigger.delay", "must be between 0 and 365 days")));
  SetDuration(delay, -5, 3);
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.trigger.delay", "must be a valid duration")));
}

TEST(RuleValidationTest, ConditionIsCheckedAgainstTheTrigger) {
  v1::Rule rule = RuleWith(StageEntered());
  v1::Comparison& comparison = *rule.mutable_condition()->mutable_any_of(0)->add_all_of();
  comparison.set_field("customer.levle");
  comparison.set_operator_(v1::OPERATOR_EQUALS);
  *comparison.add_values() = Text("CUSTOMER_LEVEL_VIP");
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.condition.any_of[0].all_of[1].field",
                                            "customer.levle is not a known field")));
}

TEST(RuleValidationTest, ActionCount) {
  v1::Rule rule = Valid();
  rule.clear_actions();
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.actions", "is required")));
  for (int i = 0; i < 20; ++i) *rule.add_actions() = TagAction("tag" + std::to_string(i), "重点");
  EXPECT_THAT(Check(rule), IsEmpty());
  *rule.add_actions() = TagAction("tag20", "重点");
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.actions", "must have at most 20 entries")));
}

TEST(RuleValidationTest, ActionIdsAreTokensAndDistinct) {
  const std::string shape = "must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -";
  v1::Rule rule = Valid();
  rule.mutable_actions(0)->set_action_id("跟进");
  rule.mutable_actions(1)->set_action_id("");
  rule.mutable_actions(2)->set_action_id("score");
  rule.mutable_actions(4)->set_action_id(std::string(65, 'a'));
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.actions[0].action_id", shape),
                          Pair("rule.actions[1].action_id", shape),
                          Pair("rule.actions[3].action_id", "duplicates actions[2].action_id"),
                          Pair("rule.actions[4].action_id", shape)));
  rule.mutable_actions(4)->set_action_id(std::string(64, 'A'));
  rule.mutable_actions(0)->set_action_id("Task_1-a");
  rule.mutable_actions(1)->set_action_id("x");
  rule.mutable_actions(2)->set_action_id("mark");
  EXPECT_THAT(Check(rule), IsEmpty());
}

TEST(RuleValidationTest, ActionNeedsAKind) {
  v1::Rule rule = Valid();
  rule.mutable_actions(1)->clear_webhook();
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.actions[1]",
                               "must have one kind: create_task, webhook, update_customer, "
                               "add_lead_score or start_sequence")));
}

TEST(RuleValidationTest, TaskAssignee) {
  v1::Rule rule = Valid();
  v1::Assignee& assignee = *rule.mutable_actions(0)->mutable_create_task()->mutable_assignee();
  const std::string path = "rule.actions[0].create_task.assignee";
  assignee.set_owner(false);
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + ".owner", "must be true")));
  assignee.set_owner_manager(false);
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + ".owner_manager", "must be true")));
  assignee.set_owner_manager(true);
  EXPECT_THAT(Check(rule), IsEmpty());
  assignee.set_user_id("u 1");
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + ".user_id", "must not contain white space")));
  assignee.set_user_id(std::string(129, 'u'));
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + ".user_id", "must be at most 128 characters")));
  assignee.set_team_id("");
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + ".team_id", "is required")));
  assignee.set_team_id(std::string(128, 't'));
  EXPECT_THAT(Check(rule), IsEmpty());
  assignee.clear_kind();
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path,
                                            "must have one kind: owner, owner_manager, user_id or "
                                            "team_id")));
  rule.mutable_actions(0)->mutable_create_task()->clear_assignee();
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, "is required")));
}

TEST(RuleValidationTest, TaskDueInOneMinuteTo365Days) {
  v1::Rule rule = Valid();
  v1::CreateTaskAction& task = *rule.mutable_actions(0)->mutable_create_task();
  const std::string path = "rule.actions[0].create_task.due_in";
  SetDuration(*task.mutable_due_in(), 60);
  EXPECT_THAT(Check(rule), IsEmpty());
  SetDuration(*task.mutable_due_in(), 59);
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, "must be between 1 minute and 365 days")));
  SetDuration(*task.mutable_due_in(), 365 * kDay + 60);
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, "must be between 1 minute and 365 days")));
  task.clear_due_in();
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, "is required")));
}

TEST(RuleValidationTest, TaskTemplates) {
  v1::Rule rule = Valid();
  v1::CreateTaskAction& task = *rule.mutable_actions(0)->mutable_create_task();
  const std::string path = "rule.actions[0].create_task.";
  task.set_title_template(Repeat("跟", 500));
  task.set_body_template(Repeat("进", 10000));
  EXPECT_THAT(Check(rule), IsEmpty());
  task.set_title_template(Repeat("跟", 501));
  task.set_body_template(Repeat("进", 10001));
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair(path + "title_template", "must be at most 500 characters"),
                          Pair(path + "body_template", "must be at most 10000 characters")));
  task.set_title_template(" ");
  task.set_body_template("跟进 {{customer.levle}} 和 {{customer.region");
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair(path + "title_template", "is required"),
                          Pair(path + "body_template",
                               "placeholder at character 4: customer.levle is not a known field"),
                          Pair(path + "body_template",
                               "\"{{\" at character 25 is not closed with \"}}\"")));
}

TEST(RuleValidationTest, TaskPriorityIsKnown) {
  v1::Rule rule = Valid();
  rule.mutable_actions(0)->mutable_create_task()->set_priority(static_cast<v1::TaskPriority>(9));
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair("rule.actions[0].create_task.priority", "must be a known value")));
}

TEST(RuleValidationTest, WebhookEndpointAndPayload) {
  v1::Rule rule = Valid();
  v1::WebhookAction& webhook = *rule.mutable_actions(1)->mutable_webhook();
  const std::string path = "rule.actions[1].webhook.";
  webhook.set_endpoint_id("endpoint");
  webhook.set_payload_template("{\"客户\": \"{{customer.display_name\"}");
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + "endpoint_id", "must be a UUID"),
                                       Pair(path + "payload_template",
                                            "\"{{\" at character 9 is not closed with \"}}\"")));
  webhook.clear_endpoint_id();
  webhook.clear_payload_template();
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + "endpoint_id", "is required")));
}

TEST(RuleValidationTest, WebhookPayloadWithoutPlaceholdersIsJson) {
  v1::Rule rule = Valid();
  v1::WebhookAction& webhook = *rule.mutable_actions(1)->mutable_webhook();
  const std::string path = "rule.actions[1].webhook.payload_template";
  webhook.set_payload_template(R"({"事件": "重点客户", "级别": 3})");
  EXPECT_THAT(Check(rule), IsEmpty());
  webhook.set_payload_template(R"({"事件": "重点客户", })");
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair(path,
                               "must be valid JSON when it has no placeholders: invalid at "
                               "character 16")));
  webhook.set_payload_template("重点客户");
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, HasSubstr("must be valid JSON"))));
  // With placeholders it is JSON only once filled in: not parsed.
  webhook.set_payload_template(R"({"score": {{customer.custom_fields.score}}})");
  EXPECT_THAT(Check(rule), IsEmpty());
}

TEST(RuleValidationTest, WebhookPayloadAtMost64KiB) {
  v1::Rule rule = Valid();
  v1::WebhookAction& webhook = *rule.mutable_actions(1)->mutable_webhook();
  const std::string head = "{\"a\": \"";
  const std::string tail = "\"}";
  webhook.set_payload_template(head + std::string(65536 - head.size() - tail.size(), 'x') + tail);
  EXPECT_THAT(Check(rule), IsEmpty());
  webhook.set_payload_template(head + std::string(65537 - head.size() - tail.size(), 'x') + tail);
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.actions[1].webhook.payload_template",
                                            "must be at most 65536 bytes")));
}

TEST(RuleValidationTest, UpdateCustomerSetField) {
  v1::Rule rule = Valid();
  v1::SetField& set = *rule.mutable_actions(2)->mutable_update_customer()->mutable_set_field();
  const std::string path = "rule.actions[2].update_customer.set_field.";
  set.set_field("level");
  *set.mutable_value() = Text("CUSTOMER_LEVEL_KEY");
  EXPECT_THAT(Check(rule), IsEmpty());
  set.set_field("lifecycle_status");
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + "value",
                                            "must name a value of "
                                            "touchline.contacts.v1.LifecycleStatus")));
  set.set_field("region");
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + "field",
                                            "must be level, lifecycle_status or "
                                            "custom_fields.<key>")));
  set.set_field("custom_fields.score");
  set.clear_value();
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + "value", "is required")));
  set.clear_field();
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + "field", "is required"),
                                       Pair(path + "value", "is required")));
}

TEST(RuleValidationTest, UpdateCustomerTagsAndKind) {
  v1::Rule rule = Valid();
  v1::UpdateCustomerAction& update = *rule.mutable_actions(2)->mutable_update_customer();
  const std::string path = "rule.actions[2].update_customer";
  update.set_add_tag(Repeat("标", 64));
  EXPECT_THAT(Check(rule), IsEmpty());
  update.set_add_tag(Repeat("标", 65));
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + ".add_tag", "must be at most 64 characters")));
  update.set_remove_tag("");
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + ".remove_tag", "is required")));
  update.clear_kind();
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair(path, "must have one kind: set_field, add_tag or remove_tag")));
}

TEST(RuleValidationTest, LeadScore) {
  v1::Rule rule = Valid();
  v1::AddLeadScoreAction& score = *rule.mutable_actions(3)->mutable_add_lead_score();
  const std::string path = "rule.actions[3].add_lead_score.";
  for (int32_t points : {-1000, -1, 1, 1000}) {
    score.set_points(points);
    EXPECT_THAT(Check(rule), IsEmpty()) << points;
  }
  score.set_points(0);
  score.set_reason(Repeat("因", 201));
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + "points", "must not be 0"),
                                       Pair(path + "reason", "must be at most 200 characters")));
  for (int32_t points : {-1001, 1001}) {
    score.set_points(points);
    score.set_reason(Repeat("因", 200));
    EXPECT_THAT(Check(rule), ElementsAre(Pair(path + "points", "must be between -1000 and 1000")))
        << points;
  }
}

TEST(RuleValidationTest, SequenceSteps) {
  v1::Rule rule = Valid();
  v1::StartSequenceAction& sequence = *rule.mutable_actions(4)->mutable_start_sequence();
  const std::string path = "rule.actions[4].start_sequence.steps";
  SetDuration(*sequence.mutable_steps(1)->mutable_wait(), 365 * kDay + 1);
  sequence.mutable_steps(1)->mutable_action()->set_action_id("tag");
  sequence.mutable_steps(1)->mutable_action()->mutable_create_task()->clear_due_in();
  sequence.add_steps();
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + "[1].wait", "must be between 0 and 365 days"),
                                       Pair(path + "[1].action.action_id",
                                            "duplicates steps[0].action.action_id"),
                                       Pair(path + "[1].action.create_task.due_in", "is required"),
                                       Pair(path + "[2].action", "is required")));

  sequence.clear_steps();
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, "is required")));
  for (int i = 0; i < 21; ++i) {
    *sequence.add_steps()->mutable_action() = TagAction("s" + std::to_string(i), "培育");
  }
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, "must have at most 20 entries")));
  sequence.mutable_steps()->RemoveLast();
  EXPECT_THAT(Check(rule), IsEmpty());
}

TEST(RuleValidationTest, SequencesDoNotNest) {
  v1::Rule rule = Valid();
  v1::StartSequenceAction& sequence = *rule.mutable_actions(4)->mutable_start_sequence();
  v1::Action& inner = *sequence.mutable_steps(0)->mutable_action();
  inner.clear_update_customer();
  *inner.mutable_start_sequence()->add_steps()->mutable_action() = TagAction("deep", "嵌套");
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.actions[4].start_sequence.steps[0].action."
                                            "start_sequence",
                                            "must not be in a sequence: sequences do not nest")));
}

TEST(RuleValidationTest, SequenceExitStatus) {
  v1::Rule rule = Valid();
  v1::StartSequenceAction& sequence = *rule.mutable_actions(4)->mutable_start_sequence();
  const std::string path = "rule.actions[4].start_sequence.exit_on_lifecycle_status";
  sequence.clear_exit_on_lifecycle_status();
  EXPECT_THAT(Check(rule), IsEmpty());
  sequence.set_exit_on_lifecycle_status("CUSTOMER");
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path,
                                            "must name a value of "
                                            "touchline.contacts.v1.LifecycleStatus")));
  sequence.set_exit_on_lifecycle_status("LIFECYCLE_STATUS_UNSPECIFIED");
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path, "must not be LIFECYCLE_STATUS_UNSPECIFIED")));
}

TEST(RuleValidationTest, Reenrollment) {
  v1::Rule rule = Valid();
  v1::Reenrollment& reenrollment = *rule.mutable_reenrollment();
  const std::string path = "rule.reenrollment.";
  SetDuration(*reenrollment.mutable_at_most_once_per(), 3599);
  EXPECT_THAT(Check(rule),
              ElementsAre(Pair(path + "at_most_once_per", "must be between 1 hour and 365 days")));
  SetDuration(*reenrollment.mutable_at_most_once_per(), 3600);
  EXPECT_THAT(Check(rule), IsEmpty());
  reenrollment.set_once_per_customer(false);
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + "once_per_customer", "must be true")));
  reenrollment.set_every_time(false);
  EXPECT_THAT(Check(rule), ElementsAre(Pair(path + "every_time", "must be true")));
  reenrollment.set_every_time(true);
  EXPECT_THAT(Check(rule), IsEmpty());
  reenrollment.clear_kind();
  EXPECT_THAT(Check(rule), IsEmpty());
  rule.clear_reenrollment();
  EXPECT_THAT(Check(rule), IsEmpty());
}

TEST(RuleValidationTest, MisfirePolicyIsKnown) {
  v1::Rule rule = Valid();
  rule.set_misfire_policy(v1::MISFIRE_POLICY_UNSPECIFIED);
  EXPECT_THAT(Check(rule), IsEmpty());
  rule.set_misfire_policy(static_cast<v1::MisfirePolicy>(3));
  EXPECT_THAT(Check(rule), ElementsAre(Pair("rule.misfire_policy", "must be a known value")));
}

TEST(RuleValidationTest, ViolationsComeInFieldOrder) {
  v1::Rule rule = RuleWith(Schedule());
  rule.set_display_name("");
  rule.mutable_trigger()->mutable_schedule()->set_cron("61 * * * *");
  rule.clear_condition();
  rule.mutable_actions(0)->mutable_create_task()->set_title_template("");
  rule.mutable_actions(1)->mutable_webhook()->set_endpoint_id("x");
  rule.mutable_actions(3)->mutable_add_lead_score()->set_points(0);
  rule.mutable_actions(4)
      ->mutable_start_sequence()
      ->mutable_steps(0)
      ->mutable_action()
      ->set_action_id("");
  SetDuration(*rule.mutable_reenrollment()->mutable_at_most_once_per(), 0);
  rule.set_misfire_policy(static_cast<v1::MisfirePolicy>(-1));
  EXPECT_THAT(
      Check(rule),
      ElementsAre(Pair("rule.display_name", "is required"),
                  Pair("rule.trigger.schedule.cron", HasSubstr("minute")),
                  Pair("rule.condition", HasSubstr("must name a customer field")),
                  Pair("rule.actions[0].create_task.title_template", "is required"),
                  Pair("rule.actions[1].webhook.endpoint_id", "must be a UUID"),
                  Pair("rule.actions[3].add_lead_score.points", "must not be 0"),
                  Pair("rule.actions[4].start_sequence.steps[0].action.action_id",
                       "must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -"),
                  Pair("rule.reenrollment.at_most_once_per", "must be between 1 hour and 365 days"),
                  Pair("rule.misfire_policy", "must be a known value")));
}

}  // namespace
}  // namespace touchline::automation
