#include "services/automation/rules/conditions.h"

#include <cmath>
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
using ::testing::IsEmpty;
using ::testing::Pair;
using type::v1::CustomValue;

using Violations = std::vector<std::pair<std::string, std::string>>;
using Tags = std::vector<std::string>;

CustomValue Text(std::string text) {
  CustomValue value;
  value.set_string_value(std::move(text));
  return value;
}

CustomValue Int(int64_t number) {
  CustomValue value;
  value.set_int_value(number);
  return value;
}

CustomValue Double(double number) {
  CustomValue value;
  value.set_double_value(number);
  return value;
}

CustomValue Bool(bool flag) {
  CustomValue value;
  value.set_bool_value(flag);
  return value;
}

CustomValue Time(int64_t seconds, int32_t nanos = 0) {
  CustomValue value;
  value.mutable_timestamp_value()->set_seconds(seconds);
  value.mutable_timestamp_value()->set_nanos(nanos);
  return value;
}

v1::Comparison Compare(std::string field, v1::Operator op, std::vector<CustomValue> values = {}) {
  v1::Comparison comparison;
  comparison.set_field(std::move(field));
  comparison.set_operator_(op);
  for (CustomValue& value : values) *comparison.add_values() = std::move(value);
  return comparison;
}

// OR of the groups, each the AND of its comparisons.
v1::Condition AnyOf(std::vector<std::vector<v1::Comparison>> groups) {
  v1::Condition condition;
  for (std::vector<v1::Comparison>& group : groups) {
    v1::ConditionGroup* added = condition.add_any_of();
    for (v1::Comparison& comparison : group) *added->add_all_of() = std::move(comparison);
  }
  return condition;
}

v1::Condition Only(v1::Comparison comparison) { return AnyOf({{std::move(comparison)}}); }

v1::Trigger TouchpointRecorded() {
  v1::Trigger trigger;
  trigger.mutable_touchpoint_recorded();
  return trigger;
}

v1::Trigger CustomerChanged(std::string field) {
  v1::Trigger trigger;
  trigger.mutable_customer_changed()->set_field(std::move(field));
  return trigger;
}

v1::Trigger StageEntered() {
  v1::Trigger trigger;
  trigger.mutable_stage_entered()->set_journey_id("4f1c2a9e-8d63-4b8e-9a51-3c7e2d1b0f44");
  return trigger;
}

v1::Trigger Schedule() {
  v1::Trigger trigger;
  trigger.mutable_schedule()->set_cron("0 9 * * 1-5");
  return trigger;
}

Violations Check(const v1::Condition& condition, const v1::Trigger& trigger) {
  status::FieldViolations violations;
  CheckCondition(condition, trigger, "rule.condition", violations);
  return status::FieldViolationsOf(violations.ToStatus());
}

Violations CheckOne(v1::Comparison comparison, const v1::Trigger& trigger = TouchpointRecorded()) {
  return Check(Only(std::move(comparison)), trigger);
}

constexpr char kFirst[] = "rule.condition.any_of[0].all_of[0]";

std::string At(std::string_view member) { return std::string(kFirst) + std::string(member); }

// ---- The catalogue ----

TEST(FieldCatalogueTest, EnumerationsComeFromTheDescriptors) {
  const FieldSpec* level = FindField("customer.level");
  ASSERT_NE(level, nullptr);
  EXPECT_EQ(level->type, FieldType::kEnumeration);
  EXPECT_EQ(level->enumeration->full_name(), "touchline.contacts.v1.CustomerLevel");
  EXPECT_NE(level->enumeration->FindValueByName("CUSTOMER_LEVEL_VIP"), nullptr);
  const FieldSpec* outcome = FindField("touchpoint.outcome");
  ASSERT_NE(outcome, nullptr);
  EXPECT_NE(outcome->enumeration->FindValueByName("OUTCOME_FOLLOW_UP_NEEDED"), nullptr);
  EXPECT_EQ(FindField("touchpoint.sentiment")->enumeration->full_name(),
            "touchline.touchpoints.v1.Sentiment");
}

TEST(FieldCatalogueTest, EveryFixedFieldIsFoundByItsName) {
  for (const FieldSpec& spec : FieldCatalogue()) {
    if (spec.type == FieldType::kCustom) continue;
    EXPECT_EQ(FindField(spec.name), &spec) << spec.name;
    EXPECT_EQ(spec.enumeration != nullptr, spec.type == FieldType::kEnumeration) << spec.name;
  }
}

TEST(FieldCatalogueTest, CustomKeysHaveTheShapesOfTheirMessages) {
  EXPECT_NE(FindField("customer.custom_fields.budget_2027"), nullptr);
  EXPECT_NE(FindField("customer.custom_fields." + std::string(64, 'a')), nullptr);
  EXPECT_EQ(FindField("customer.custom_fields." + std::string(65, 'a')), nullptr);
  EXPECT_EQ(FindField("customer.custom_fields."), nullptr);
  EXPECT_EQ(FindField("customer.custom_fields.Budget"), nullptr);
  EXPECT_EQ(FindField("customer.custom_fields.2027_budget"), nullptr);
  EXPECT_NE(FindField("touchpoint.custom_attributes.Plan_Tier"), nullptr);
  // touchpoint.proto names them custom_attributes.
  EXPECT_EQ(FindField("touchpoint.custom_fields.plan"), nullptr);
  EXPECT_EQ(FindField("touchpoint.subject"), nullptr);
}

TEST(FieldCatalogueTest, TriggersProvideTheirSources) {
  const FieldSpec& channel = *FindField("touchpoint.channel");
  EXPECT_EQ(NotProvidedProblem("touchpoint.channel", channel, v1::Trigger::kTouchpointRecorded),
            "");
  EXPECT_EQ(NotProvidedProblem("touchpoint.channel", channel, v1::Trigger::kInactivity),
            "touchpoint.channel is only set for touchpoint_recorded triggers");
  const FieldSpec& region = *FindField("customer.region");
  for (const auto kind :
       {v1::Trigger::kTouchpointRecorded, v1::Trigger::kCustomerChanged, v1::Trigger::kStageEntered,
        v1::Trigger::kStageExited, v1::Trigger::kInactivity, v1::Trigger::kSchedule}) {
    EXPECT_EQ(NotProvidedProblem("customer.region", region, kind), "") << TriggerKindName(kind);
  }
  EXPECT_TRUE(Provides(v1::Trigger::kStageExited, FieldSource::kStage));
  EXPECT_FALSE(Provides(v1::Trigger::kSchedule, FieldSource::kStage));
  EXPECT_TRUE(Provides(v1::Trigger::kCustomerChanged, FieldSource::kChange));
  EXPECT_FALSE(Provides(v1::Trigger::kTouchpointRecorded, FieldSource::kChange));
}

// ---- The check ----

TEST(CheckConditionTest, AcceptsAConditionOfEveryFieldType) {
  const v1::Condition condition = AnyOf({
      {Compare("customer.level", v1::OPERATOR_EQUALS, {Text("CUSTOMER_LEVEL_VIP")}),
       Compare("touchpoint.summary", v1::OPERATOR_CONTAINS, {Text("投诉")}),
       Compare("touchpoint.channel", v1::OPERATOR_IN,
               {Text("CHANNEL_PHONE"), Text("CHANNEL_WECOM")})},
      {Compare("customer.tags", v1::OPERATOR_EQUALS, {Text("展会线索")}),
       Compare("customer.custom_fields.budget", v1::OPERATOR_GREATER_THAN, {Int(1000)}),
       Compare("touchpoint.custom_attributes.Plan", v1::OPERATOR_EQUALS, {Bool(true)}),
       Compare("touchpoint.occur_time", v1::OPERATOR_LESS_THAN, {Time(1796000000)}),
       Compare("customer.region", v1::OPERATOR_NOT_EXISTS)},
  });
  EXPECT_THAT(Check(condition, TouchpointRecorded()), IsEmpty());
  EXPECT_THAT(Check(v1::Condition(), Schedule()), IsEmpty());
}

TEST(CheckConditionTest, AtMostTenGroups) {
  std::vector<std::vector<v1::Comparison>> groups;
  for (int i = 0; i < 10; ++i) {
    groups.push_back({Compare("customer.region", v1::OPERATOR_EQUALS, {Text("华北")})});
  }
  EXPECT_THAT(Check(AnyOf(groups), Schedule()), IsEmpty());
  groups.push_back({Compare("customer.region", v1::OPERATOR_EQUALS, {Text("华东")})});
  EXPECT_THAT(Check(AnyOf(groups), Schedule()),
              ElementsAre(Pair("rule.condition.any_of", "must have at most 10 entries")));
}

TEST(CheckConditionTest, OneToTwentyComparisonsPerGroup) {
  std::vector<v1::Comparison> twenty(
      20, Compare("customer.region", v1::OPERATOR_EQUALS, {Text("华北")}));
  std::vector<v1::Comparison> twenty_one = twenty;
  twenty_one.push_back(twenty.front());
  EXPECT_THAT(Check(AnyOf({twenty}), Schedule()), IsEmpty());
  EXPECT_THAT(
      Check(AnyOf({twenty, {}, twenty_one}), Schedule()),
      ElementsAre(Pair("rule.condition.any_of[1].all_of", "must have at least one comparison"),
                  Pair("rule.condition.any_of[2].all_of", "must have at most 20 entries")));
}

TEST(CheckConditionTest, NamesUnknownFields) {
  EXPECT_THAT(CheckOne(Compare("customer.levle", v1::OPERATOR_EXISTS)),
              ElementsAre(Pair(At(".field"), "customer.levle is not a known field")));
  EXPECT_THAT(CheckOne(Compare("customer.custom_fields.Budget", v1::OPERATOR_EXISTS)),
              ElementsAre(Pair(At(".field"),
                               "customer.custom_fields.Budget is not a known field: custom field "
                               "keys are 1 to 64 characters of a-z, 0-9 and _, starting with a "
                               "letter")));
  EXPECT_THAT(
      CheckOne(Compare("touchpoint.custom_fields.plan", v1::OPERATOR_EXISTS)),
      ElementsAre(Pair(At(".field"), "touchpoint.custom_fields.plan is not a known field")));
  EXPECT_THAT(CheckOne(Compare("", v1::OPERATOR_EXISTS)),
              ElementsAre(Pair(At(".field"), "is required")));
  EXPECT_THAT(CheckOne(Compare("customer.\xff", v1::OPERATOR_EXISTS)),
              ElementsAre(Pair(At(".field"), "must be valid UTF-8")));
}

TEST(CheckConditionTest, FieldsTheTriggerDoesNotSet) {
  EXPECT_THAT(CheckOne(Compare("touchpoint.channel", v1::OPERATOR_EQUALS, {Text("CHANNEL_PHONE")}),
                       CustomerChanged("level")),
              ElementsAre(Pair(At(".field"),
                               "touchpoint.channel is only set for touchpoint_recorded triggers")));
  EXPECT_THAT(CheckOne(Compare("stage.stage_id", v1::OPERATOR_EXISTS), Schedule()),
              ElementsAre(Pair(At(".field"),
                               "stage.stage_id is only set for stage_entered and stage_exited "
                               "triggers")));
  EXPECT_THAT(
      CheckOne(Compare("change.field", v1::OPERATOR_EQUALS, {Text("level")})),
      ElementsAre(Pair(At(".field"), "change.field is only set for customer_changed triggers")));
  EXPECT_THAT(CheckOne(Compare("stage.stage_id", v1::OPERATOR_EXISTS), StageEntered()), IsEmpty());
}

TEST(CheckConditionTest, OperatorRequiredAndKnown) {
  EXPECT_THAT(CheckOne(Compare("customer.region", v1::OPERATOR_UNSPECIFIED, {Text("华北")})),
              ElementsAre(Pair(At(".operator"), "is required")));
  EXPECT_THAT(CheckOne(Compare("customer.region", static_cast<v1::Operator>(99), {Text("华北")})),
              ElementsAre(Pair(At(".operator"), "must be a known value")));
}

TEST(CheckConditionTest, OperatorMustFitTheFieldType) {
  EXPECT_THAT(CheckOne(Compare("customer.region", v1::OPERATOR_GREATER_THAN, {Text("华北")})),
              ElementsAre(Pair(At(".operator"),
                               "OPERATOR_GREATER_THAN does not apply to customer.region, which "
                               "is text")));
  EXPECT_THAT(CheckOne(Compare("touchpoint.channel", v1::OPERATOR_CONTAINS, {Text("PHONE")})),
              ElementsAre(Pair(At(".operator"),
                               "OPERATOR_CONTAINS does not apply to touchpoint.channel, which is "
                               "an enumeration")));
  EXPECT_THAT(CheckOne(Compare("customer.tags", v1::OPERATOR_LESS_OR_EQUAL, {Text("a")})),
              ElementsAre(Pair(At(".operator"),
                               "OPERATOR_LESS_OR_EQUAL does not apply to customer.tags, which is "
                               "a list of text")));
  EXPECT_THAT(CheckOne(Compare("touchpoint.occur_time", v1::OPERATOR_CONTAINS, {Text("2026")})),
              ElementsAre(Pair(At(".operator"),
                               "OPERATOR_CONTAINS does not apply to touchpoint.occur_time, which "
                               "is a time")));
}

TEST(CheckConditionTest, ChangeOperatorsOnlyForCustomerFieldsOfCustomerChanged) {
  EXPECT_THAT(
      CheckOne(Compare("customer.level", v1::OPERATOR_CHANGED_FROM, {Text("CUSTOMER_LEVEL_KEY")})),
      ElementsAre(Pair(At(".operator"),
                       "OPERATOR_CHANGED_FROM only applies in customer_changed triggers")));
  EXPECT_THAT(
      CheckOne(Compare("change.field", v1::OPERATOR_CHANGED_TO, {Text("level")}),
               CustomerChanged("level")),
      ElementsAre(Pair(At(".operator"), "OPERATOR_CHANGED_TO only applies to customer fields")));
  EXPECT_THAT(
      CheckOne(Compare("customer.level", v1::OPERATOR_CHANGED_TO, {Text("CUSTOMER_LEVEL_VIP")}),
               CustomerChanged("level")),
      IsEmpty());
}

TEST(CheckConditionTest, ValueCounts) {
  EXPECT_THAT(CheckOne(Compare("customer.region", v1::OPERATOR_EQUALS)),
              ElementsAre(Pair(At(".values"), "must have exactly one value for OPERATOR_EQUALS")));
  EXPECT_THAT(
      CheckOne(Compare("customer.region", v1::OPERATOR_CONTAINS, {Text("华"), Text("北")})),
      ElementsAre(Pair(At(".values"), "must have exactly one value for OPERATOR_CONTAINS")));
  EXPECT_THAT(CheckOne(Compare("customer.region", v1::OPERATOR_NOT_IN)),
              ElementsAre(Pair(At(".values"), "must have 1 to 100 values for OPERATOR_NOT_IN")));
  std::vector<CustomValue> hundred(100, Text("华北"));
  EXPECT_THAT(CheckOne(Compare("customer.region", v1::OPERATOR_IN, hundred)), IsEmpty());
  hundred.push_back(Text("华东"));
  EXPECT_THAT(CheckOne(Compare("customer.region", v1::OPERATOR_IN, hundred)),
              ElementsAre(Pair(At(".values"), "must have 1 to 100 values for OPERATOR_IN")));
  EXPECT_THAT(CheckOne(Compare("customer.region", v1::OPERATOR_EXISTS, {Text("华北")})),
              ElementsAre(Pair(At(".values"), "must be empty for OPERATOR_EXISTS")));
  // Counted even when the field is unknown: the operator alone decides it.
  EXPECT_THAT(CheckOne(Compare("customer.nope", v1::OPERATOR_NOT_EXISTS, {Text("x")})),
              ElementsAre(Pair(At(".field"), "customer.nope is not a known field"),
                          Pair(At(".values"), "must be empty for OPERATOR_NOT_EXISTS")));
}

TEST(CheckConditionTest, ValuesOfTheWrongKind) {
  EXPECT_THAT(CheckOne(Compare("customer.region", v1::OPERATOR_EQUALS, {Int(3)})),
              ElementsAre(Pair(At(".values[0]"), "must be text (string_value)")));
  EXPECT_THAT(CheckOne(Compare("customer.tags", v1::OPERATOR_IN, {Text("a"), Bool(true)})),
              ElementsAre(Pair(At(".values[1]"), "must be text (string_value)")));
  EXPECT_THAT(
      CheckOne(Compare("touchpoint.occur_time", v1::OPERATOR_GREATER_THAN, {Text("2026-12-07")})),
      ElementsAre(Pair(At(".values[0]"), "must be a time (timestamp_value)")));
  EXPECT_THAT(
      CheckOne(Compare("touchpoint.occur_time", v1::OPERATOR_GREATER_THAN, {Time(0, 1000000000)})),
      ElementsAre(Pair(At(".values[0]"), "nanos must be between 0 and 999999999")));
  EXPECT_THAT(
      CheckOne(Compare("customer.custom_fields.budget", v1::OPERATOR_GREATER_THAN, {Text("1000")})),
      ElementsAre(Pair(At(".values[0]"),
                       "must be a number or a time (int_value, double_value or "
                       "timestamp_value) for OPERATOR_GREATER_THAN")));
  EXPECT_THAT(CheckOne(Compare("customer.custom_fields.note", v1::OPERATOR_CONTAINS, {Int(7)})),
              ElementsAre(Pair(At(".values[0]"), "must be text (string_value)")));
  EXPECT_THAT(CheckOne(Compare("customer.custom_fields.score", v1::OPERATOR_EQUALS,
                               {Double(std::numeric_limits<double>::quiet_NaN())})),
              ElementsAre(Pair(At(".values[0]"), "must be a finite number")));
  EXPECT_THAT(
      CheckOne(Compare("customer.custom_fields.score", v1::OPERATOR_EQUALS, {CustomValue()})),
      ElementsAre(Pair(At(".values[0]"), "is required")));
  EXPECT_THAT(CheckOne(Compare("touchpoint.summary", v1::OPERATOR_CONTAINS, {Text("")})),
              ElementsAre(Pair(At(".values[0]"), "is required")));
}

TEST(CheckConditionTest, TextValuesCountCharacters) {
  std::string chinese;
  for (int i = 0; i < 4096; ++i) chinese += "投";
  EXPECT_THAT(CheckOne(Compare("touchpoint.summary", v1::OPERATOR_CONTAINS, {Text(chinese)})),
              IsEmpty());
  EXPECT_THAT(
      CheckOne(Compare("touchpoint.summary", v1::OPERATOR_CONTAINS, {Text(chinese + "诉")})),
      ElementsAre(Pair(At(".values[0]"), "must be at most 4096 characters")));
}

TEST(CheckConditionTest, EnumerationValuesAreNamesOfTheEnum) {
  EXPECT_THAT(CheckOne(Compare("customer.level", v1::OPERATOR_IN,
                               {Text("CUSTOMER_LEVEL_VIP"), Text("CUSTOMER_LEVEL_GOLD")})),
              ElementsAre(Pair(At(".values[1]"),
                               "must name a value of touchline.contacts.v1.CustomerLevel")));
  EXPECT_THAT(
      CheckOne(Compare("customer.level", v1::OPERATOR_EQUALS, {Text("customer_level_vip")})),
      ElementsAre(
          Pair(At(".values[0]"), "must name a value of touchline.contacts.v1.CustomerLevel")));
  EXPECT_THAT(CheckOne(Compare("touchpoint.direction", v1::OPERATOR_EQUALS,
                               {Text("DIRECTION_UNSPECIFIED")})),
              ElementsAre(Pair(At(".values[0]"),
                               "must not be DIRECTION_UNSPECIFIED: OPERATOR_NOT_EXISTS selects a "
                               "field without a value")));
  // The name of another enumeration's value is not one of this field's.
  EXPECT_THAT(
      CheckOne(Compare("touchpoint.outcome", v1::OPERATOR_EQUALS, {Text("CHANNEL_PHONE")})),
      ElementsAre(Pair(At(".values[0]"), "must name a value of touchline.touchpoints.v1.Outcome")));
  EXPECT_THAT(CheckOne(Compare("customer.lifecycle_status", v1::OPERATOR_CHANGED_TO,
                               {Text("LIFECYCLE_STATUS_CUSTOMER")}),
                       CustomerChanged("lifecycle_status")),
              IsEmpty());
}

TEST(CheckConditionTest, ReportsEveryComparisonWithItsPath) {
  const v1::Condition condition = AnyOf({
      {Compare("customer.region", v1::OPERATOR_EQUALS, {Text("华北")})},
      {Compare("customer.region", v1::OPERATOR_EQUALS, {Text("华北")}),
       Compare("customer.level", v1::OPERATOR_EQUALS, {Text("VIP")}),
       Compare("touchpoint.sentiment", v1::OPERATOR_EQUALS, {Text("SENTIMENT_NEGATIVE")})},
  });
  EXPECT_THAT(Check(condition, Schedule()),
              ElementsAre(Pair("rule.condition.any_of[1].all_of[1].values[0]",
                               "must name a value of touchline.contacts.v1.CustomerLevel"),
                          Pair("rule.condition.any_of[1].all_of[2].field",
                               "touchpoint.sentiment is only set for touchpoint_recorded "
                               "triggers")));
}

TEST(CheckFieldValueTest, ChecksAValueOfAField) {
  status::FieldViolations violations;
  EXPECT_TRUE(CheckFieldValue(*FindField("customer.level"), Text("CUSTOMER_LEVEL_KEY"),
                              "rule.trigger.customer_changed.to", violations));
  EXPECT_FALSE(CheckFieldValue(*FindField("customer.level"), Text("KEY"),
                               "rule.trigger.customer_changed.from", violations));
  EXPECT_FALSE(CheckFieldValue(*FindField("customer.custom_fields.x"), Double(INFINITY),
                               "rule.actions[0].update_customer.set_field.value", violations));
  EXPECT_THAT(status::FieldViolationsOf(violations.ToStatus()),
              ElementsAre(Pair("rule.trigger.customer_changed.from",
                               "must name a value of touchline.contacts.v1.CustomerLevel"),
                          Pair("rule.actions[0].update_customer.set_field.value",
                               "must be a finite number")));
}

TEST(NamesCustomerFieldTest, LooksAtEveryComparison) {
  EXPECT_FALSE(NamesCustomerField(v1::Condition()));
  EXPECT_FALSE(NamesCustomerField(Only(Compare("stage.stage_id", v1::OPERATOR_EXISTS))));
  EXPECT_FALSE(NamesCustomerField(Only(Compare("customer.nope", v1::OPERATOR_EXISTS))));
  EXPECT_TRUE(
      NamesCustomerField(AnyOf({{Compare("stage.stage_id", v1::OPERATOR_EXISTS)},
                                {Compare("customer.custom_fields.budget", v1::OPERATOR_EXISTS)}})));
}

// ---- Evaluation ----

// Whether `comparison` alone holds on `now` (and `before`).
bool Holds(v1::Comparison comparison, const FieldValues& now, const FieldValues& before = {}) {
  const Evaluation evaluation = Evaluate(Only(std::move(comparison)), now, before);
  EXPECT_EQ(evaluation.comparisons.size(), 1u);
  return evaluation.holds;
}

TEST(EvaluateTest, EmptyConditionHolds) {
  const Evaluation evaluation = Evaluate(v1::Condition(), {}, {});
  EXPECT_TRUE(evaluation.holds);
  EXPECT_THAT(evaluation.comparisons, IsEmpty());
}

TEST(EvaluateTest, OrOfAndGroups) {
  const FieldValues now = {{"customer.region", Text("华北")},
                           {"customer.level", Text("CUSTOMER_LEVEL_KEY")}};
  const auto region = [](std::string r) {
    return Compare("customer.region", v1::OPERATOR_EQUALS, {Text(std::move(r))});
  };
  const auto level = [](std::string l) {
    return Compare("customer.level", v1::OPERATOR_EQUALS, {Text(std::move(l))});
  };
  EXPECT_TRUE(Evaluate(AnyOf({{region("华北"), level("CUSTOMER_LEVEL_KEY")}}), now, {}).holds);
  EXPECT_FALSE(Evaluate(AnyOf({{region("华北"), level("CUSTOMER_LEVEL_VIP")}}), now, {}).holds);
  EXPECT_TRUE(Evaluate(AnyOf({{region("华东")}, {level("CUSTOMER_LEVEL_KEY")}}), now, {}).holds);
  EXPECT_FALSE(Evaluate(AnyOf({{region("华东")}, {level("CUSTOMER_LEVEL_VIP")}}), now, {}).holds);
  // A group the check refuses (empty) does not hold.
  EXPECT_FALSE(Evaluate(AnyOf({{}}), now, {}).holds);
}

TEST(EvaluateTest, RecordsEveryComparisonWithTheValueSeen) {
  const FieldValues now = {{"customer.region", Text("华北")},
                           {"customer.tags", Tags{"展会线索", "VIP"}}};
  const Evaluation evaluation =
      Evaluate(AnyOf({{Compare("customer.region", v1::OPERATOR_EQUALS, {Text("华东")}),
                       Compare("customer.tags", v1::OPERATOR_EQUALS, {Text("VIP")})},
                      {Compare("customer.owner_id", v1::OPERATOR_NOT_EXISTS)}}),
               now, {});
  EXPECT_TRUE(evaluation.holds);
  ASSERT_EQ(evaluation.comparisons.size(), 3u);
  EXPECT_EQ(evaluation.comparisons[0].path(), "condition.any_of[0].all_of[0]");
  EXPECT_EQ(evaluation.comparisons[0].field(), "customer.region");
  EXPECT_EQ(evaluation.comparisons[0].value().string_value(), "华北");
  EXPECT_FALSE(evaluation.comparisons[0].holds());
  // Evaluated although its group had already failed.
  EXPECT_EQ(evaluation.comparisons[1].path(), "condition.any_of[0].all_of[1]");
  EXPECT_EQ(evaluation.comparisons[1].value().string_value(), "展会线索, VIP");
  EXPECT_TRUE(evaluation.comparisons[1].holds());
  EXPECT_EQ(evaluation.comparisons[2].path(), "condition.any_of[1].all_of[0]");
  EXPECT_FALSE(evaluation.comparisons[2].has_value());
  EXPECT_TRUE(evaluation.comparisons[2].holds());
}

TEST(EvaluateTest, TextAndEnumerationEquality) {
  const FieldValues now = {{"customer.region", Text("华北")},
                           {"touchpoint.channel", Text("CHANNEL_PHONE")}};
  EXPECT_TRUE(Holds(Compare("customer.region", v1::OPERATOR_EQUALS, {Text("华北")}), now));
  EXPECT_FALSE(Holds(Compare("customer.region", v1::OPERATOR_EQUALS, {Text("华北区")}), now));
  EXPECT_FALSE(Holds(Compare("customer.region", v1::OPERATOR_NOT_EQUALS, {Text("华北")}), now));
  EXPECT_TRUE(Holds(Compare("customer.region", v1::OPERATOR_NOT_EQUALS, {Text("华东")}), now));
  EXPECT_TRUE(Holds(Compare("touchpoint.channel", v1::OPERATOR_IN,
                            {Text("CHANNEL_EMAIL"), Text("CHANNEL_PHONE")}),
                    now));
  EXPECT_FALSE(Holds(Compare("touchpoint.channel", v1::OPERATOR_NOT_IN,
                             {Text("CHANNEL_EMAIL"), Text("CHANNEL_PHONE")}),
                     now));
  EXPECT_TRUE(
      Holds(Compare("touchpoint.channel", v1::OPERATOR_NOT_IN, {Text("CHANNEL_EMAIL")}), now));
  // Equality is exact: case counts.
  EXPECT_FALSE(
      Holds(Compare("touchpoint.channel", v1::OPERATOR_EQUALS, {Text("channel_phone")}), now));
}

TEST(EvaluateTest, ContainsIsCaseInsensitiveOverWholeCharacters) {
  const FieldValues now = {{"touchpoint.summary", Text("客户投诉：a vip 说 Straße 太吵")},
                           {"touchpoint.custom_attributes.count", Int(12)}};
  const auto contains = [&](std::string needle) {
    return Holds(Compare("touchpoint.summary", v1::OPERATOR_CONTAINS, {Text(std::move(needle))}),
                 now);
  };
  EXPECT_TRUE(contains("投诉"));
  EXPECT_TRUE(contains("客户投诉"));
  EXPECT_TRUE(contains("VIP"));
  EXPECT_TRUE(contains("A VIP 说"));
  EXPECT_TRUE(contains("STRASSE"));  // full case folding: ß is ss
  EXPECT_FALSE(contains("投诉处理"));
  EXPECT_FALSE(contains("表扬"));
  // Part of a character's bytes is not a character: 投 is E6 8A 95.
  EXPECT_FALSE(contains("\x8a\x95"));
  // Numbers contain nothing.
  EXPECT_FALSE(Holds(
      Compare("touchpoint.custom_attributes.count", v1::OPERATOR_CONTAINS, {Text("1")}), now));
}

TEST(EvaluateTest, ListsHoldValues) {
  const FieldValues now = {{"customer.tags", Tags{"展会线索", "VIP"}}};
  const auto holds = [&](v1::Operator op, std::vector<CustomValue> values) {
    return Holds(Compare("customer.tags", op, std::move(values)), now);
  };
  EXPECT_TRUE(holds(v1::OPERATOR_EQUALS, {Text("展会线索")}));
  EXPECT_FALSE(holds(v1::OPERATOR_EQUALS, {Text("展会")}));
  EXPECT_FALSE(holds(v1::OPERATOR_EQUALS, {Text("vip")}));
  EXPECT_FALSE(holds(v1::OPERATOR_NOT_EQUALS, {Text("VIP")}));
  EXPECT_TRUE(holds(v1::OPERATOR_NOT_EQUALS, {Text("流失")}));
  EXPECT_TRUE(holds(v1::OPERATOR_IN, {Text("流失"), Text("VIP")}));
  EXPECT_FALSE(holds(v1::OPERATOR_IN, {Text("流失"), Text("老客户")}));
  EXPECT_FALSE(holds(v1::OPERATOR_NOT_IN, {Text("流失"), Text("VIP")}));
  EXPECT_TRUE(holds(v1::OPERATOR_NOT_IN, {Text("流失")}));
  // CONTAINS: an item equal to the value, case-insensitively; not a part of an item.
  EXPECT_TRUE(holds(v1::OPERATOR_CONTAINS, {Text("vip")}));
  EXPECT_FALSE(holds(v1::OPERATOR_CONTAINS, {Text("展会")}));
  EXPECT_TRUE(holds(v1::OPERATOR_EXISTS, {}));
  // An empty list has no value.
  EXPECT_TRUE(
      Holds(Compare("customer.tags", v1::OPERATOR_NOT_EXISTS), {{"customer.tags", Tags{}}}));
}

TEST(EvaluateTest, NumbersCompareAcrossIntAndDouble) {
  const auto holds = [](CustomValue seen, v1::Operator op, CustomValue value) {
    return Holds(Compare("customer.custom_fields.budget", op, {std::move(value)}),
                 {{"customer.custom_fields.budget", std::move(seen)}});
  };
  EXPECT_TRUE(holds(Int(3), v1::OPERATOR_EQUALS, Double(3.0)));
  EXPECT_TRUE(holds(Double(3.0), v1::OPERATOR_EQUALS, Int(3)));
  EXPECT_FALSE(holds(Int(3), v1::OPERATOR_EQUALS, Double(3.5)));
  EXPECT_TRUE(holds(Int(3), v1::OPERATOR_NOT_EQUALS, Double(3.5)));
  EXPECT_TRUE(holds(Double(2.5), v1::OPERATOR_GREATER_THAN, Int(2)));
  EXPECT_FALSE(holds(Double(2.5), v1::OPERATOR_GREATER_THAN, Int(3)));
  EXPECT_TRUE(holds(Int(3), v1::OPERATOR_GREATER_OR_EQUAL, Double(3.0)));
  EXPECT_FALSE(holds(Int(3), v1::OPERATOR_GREATER_THAN, Double(3.0)));
  EXPECT_TRUE(holds(Int(-1), v1::OPERATOR_LESS_THAN, Double(-0.5)));
  EXPECT_TRUE(holds(Int(10), v1::OPERATOR_LESS_OR_EQUAL, Int(10)));
  EXPECT_FALSE(holds(Int(11), v1::OPERATOR_LESS_OR_EQUAL, Int(10)));
  EXPECT_TRUE(holds(Int(7), v1::OPERATOR_IN, {Double(7.0)}));
  // Exact: 2^53 + 1 is not the double 2^53 it would round to.
  EXPECT_FALSE(holds(Int((int64_t{1} << 53) + 1), v1::OPERATOR_EQUALS, Double(9007199254740992.0)));
  EXPECT_TRUE(
      holds(Int((int64_t{1} << 53) + 1), v1::OPERATOR_GREATER_THAN, Double(9007199254740992.0)));
  // Text is not a number, a number not a time, a bool not a number.
  EXPECT_FALSE(holds(Text("10"), v1::OPERATOR_GREATER_THAN, Int(9)));
  EXPECT_FALSE(holds(Text("10"), v1::OPERATOR_EQUALS, Int(10)));
  EXPECT_FALSE(holds(Int(10), v1::OPERATOR_GREATER_THAN, Time(1)));
  EXPECT_FALSE(holds(Bool(true), v1::OPERATOR_EQUALS, Int(1)));
  EXPECT_TRUE(holds(Bool(true), v1::OPERATOR_EQUALS, Bool(true)));
}

TEST(EvaluateTest, TimesCompareAsInstants) {
  const FieldValues now = {{"touchpoint.occur_time", Time(1796000000, 500)}};
  const auto holds = [&](v1::Operator op, CustomValue value) {
    return Holds(Compare("touchpoint.occur_time", op, {std::move(value)}), now);
  };
  EXPECT_TRUE(holds(v1::OPERATOR_EQUALS, Time(1796000000, 500)));
  EXPECT_FALSE(holds(v1::OPERATOR_EQUALS, Time(1796000000)));
  EXPECT_TRUE(holds(v1::OPERATOR_GREATER_THAN, Time(1796000000, 499)));
  EXPECT_FALSE(holds(v1::OPERATOR_GREATER_THAN, Time(1796000000, 500)));
  EXPECT_TRUE(holds(v1::OPERATOR_GREATER_OR_EQUAL, Time(1796000000, 500)));
  EXPECT_TRUE(holds(v1::OPERATOR_LESS_THAN, Time(1796000001)));
  EXPECT_FALSE(holds(v1::OPERATOR_LESS_THAN, Time(1795999999, 999999999)));
  EXPECT_TRUE(holds(v1::OPERATOR_LESS_OR_EQUAL, Time(1796000000, 500)));
}

TEST(EvaluateTest, AMissingFieldHoldsOnlyForTheNegatingOperators) {
  const std::vector<std::pair<v1::Operator, bool>> table = {
      {v1::OPERATOR_EQUALS, false},
      {v1::OPERATOR_NOT_EQUALS, true},
      {v1::OPERATOR_IN, false},
      {v1::OPERATOR_NOT_IN, true},
      {v1::OPERATOR_CONTAINS, false},
      {v1::OPERATOR_GREATER_THAN, false},
      {v1::OPERATOR_GREATER_OR_EQUAL, false},
      {v1::OPERATOR_LESS_THAN, false},
      {v1::OPERATOR_LESS_OR_EQUAL, false},
      {v1::OPERATOR_EXISTS, false},
      {v1::OPERATOR_NOT_EXISTS, true},
      {v1::OPERATOR_CHANGED_FROM, false},
      {v1::OPERATOR_CHANGED_TO, false},
      {v1::OPERATOR_UNSPECIFIED, false},
  };
  for (const auto& [op, expected] : table) {
    std::vector<CustomValue> values;
    if (op != v1::OPERATOR_EXISTS && op != v1::OPERATOR_NOT_EXISTS) values.push_back(Int(1));
    // Absent, and present without a value.
    EXPECT_EQ(Holds(Compare("customer.custom_fields.score", op, values), {}), expected)
        << v1::Operator_Name(op);
    EXPECT_EQ(Holds(Compare("customer.custom_fields.score", op, values),
                    {{"customer.custom_fields.score", CustomValue()}}),
              expected)
        << v1::Operator_Name(op);
  }
  // Present, the table turns over for the value it holds.
  EXPECT_TRUE(Holds(Compare("customer.custom_fields.score", v1::OPERATOR_EXISTS),
                    {{"customer.custom_fields.score", Int(1)}}));
  EXPECT_FALSE(Holds(Compare("customer.custom_fields.score", v1::OPERATOR_NOT_EQUALS, {Int(1)}),
                     {{"customer.custom_fields.score", Int(1)}}));
}

TEST(EvaluateTest, ChangedFromAndToNeedTheValueToChange) {
  const FieldValues before = {{"customer.level", Text("CUSTOMER_LEVEL_KEY")}};
  const FieldValues now = {{"customer.level", Text("CUSTOMER_LEVEL_VIP")}};
  const auto from = [](std::string level) {
    return Compare("customer.level", v1::OPERATOR_CHANGED_FROM, {Text(std::move(level))});
  };
  const auto to = [](std::string level) {
    return Compare("customer.level", v1::OPERATOR_CHANGED_TO, {Text(std::move(level))});
  };
  EXPECT_TRUE(Holds(from("CUSTOMER_LEVEL_KEY"), now, before));
  EXPECT_FALSE(Holds(from("CUSTOMER_LEVEL_VIP"), now, before));
  EXPECT_TRUE(Holds(to("CUSTOMER_LEVEL_VIP"), now, before));
  EXPECT_FALSE(Holds(to("CUSTOMER_LEVEL_KEY"), now, before));
  // Unchanged: neither holds.
  EXPECT_FALSE(Holds(from("CUSTOMER_LEVEL_VIP"), now, now));
  EXPECT_FALSE(Holds(to("CUSTOMER_LEVEL_VIP"), now, now));
  // Set for the first time: it changed to the value, from nothing.
  EXPECT_TRUE(Holds(to("CUSTOMER_LEVEL_VIP"), now, {}));
  EXPECT_FALSE(Holds(from("CUSTOMER_LEVEL_KEY"), now, {}));
  // Cleared.
  EXPECT_TRUE(Holds(from("CUSTOMER_LEVEL_KEY"), {}, before));

  // The value seen is the one compared: before for CHANGED_FROM, now for CHANGED_TO.
  const Evaluation evaluation =
      Evaluate(AnyOf({{from("CUSTOMER_LEVEL_KEY"), to("CUSTOMER_LEVEL_VIP")}}), now, before);
  EXPECT_TRUE(evaluation.holds);
  ASSERT_EQ(evaluation.comparisons.size(), 2u);
  EXPECT_EQ(evaluation.comparisons[0].value().string_value(), "CUSTOMER_LEVEL_KEY");
  EXPECT_EQ(evaluation.comparisons[1].value().string_value(), "CUSTOMER_LEVEL_VIP");
}

TEST(EvaluateTest, ChangedOnAListIsATagAddedOrRemoved) {
  const FieldValues before = {{"customer.tags", Tags{"展会线索"}}};
  const FieldValues now = {{"customer.tags", Tags{"展会线索", "VIP"}}};
  EXPECT_TRUE(Holds(Compare("customer.tags", v1::OPERATOR_CHANGED_TO, {Text("VIP")}), now, before));
  EXPECT_FALSE(
      Holds(Compare("customer.tags", v1::OPERATOR_CHANGED_TO, {Text("展会线索")}), now, before));
  EXPECT_FALSE(
      Holds(Compare("customer.tags", v1::OPERATOR_CHANGED_FROM, {Text("VIP")}), now, before));
  EXPECT_TRUE(
      Holds(Compare("customer.tags", v1::OPERATOR_CHANGED_FROM, {Text("VIP")}), before, now));
}

TEST(EvaluateTest, NumbersChangeNumerically) {
  const FieldValues before = {{"customer.custom_fields.score", Int(5)}};
  EXPECT_FALSE(Holds(Compare("customer.custom_fields.score", v1::OPERATOR_CHANGED_TO, {Int(5)}),
                     {{"customer.custom_fields.score", Double(5.0)}}, before));
  EXPECT_TRUE(Holds(Compare("customer.custom_fields.score", v1::OPERATOR_CHANGED_TO, {Int(6)}),
                    {{"customer.custom_fields.score", Double(6.0)}}, before));
}

}  // namespace
}  // namespace touchline::automation
