#include "services/journeys/definitions/definition_validation.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/journeys/definitions/testing/sample_journey.h"

namespace touchline::journeys {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using testing::StageOf;
namespace tv1 = ::touchline::touchpoints::v1;
namespace cv1 = ::touchline::contacts::v1;

using Violations = std::vector<std::pair<std::string, std::string>>;

// A dealer journey: entry, a normal stage, a goal and an exit, with one rule of each trigger.
v1::Journey Dealer() {
  v1::Journey journey;
  journey.set_display_name("经销商旅程");
  journey.set_description("从线索到签约");
  *journey.add_stages() = StageOf("lead", "线索", v1::STAGE_KIND_ENTRY);
  *journey.add_stages() = StageOf("needs_discovery", "需求挖掘", v1::STAGE_KIND_NORMAL);
  journey.mutable_stages(1)->set_stalled_after_days(14);
  *journey.add_stages() = StageOf("signed", "签约", v1::STAGE_KIND_GOAL);
  *journey.add_stages() = StageOf("lost", "流失", v1::STAGE_KIND_EXIT);
  journey.mutable_entry_rule()->add_regions("华东");
  journey.mutable_entry_rule()->add_levels(cv1::CUSTOMER_LEVEL_VIP);
  v1::MappingRule* visit = journey.add_mapping_rules();
  visit->set_to_stage_id("needs_discovery");
  visit->add_from_stage_ids("lead");
  visit->mutable_touchpoint()->add_channels(tv1::CHANNEL_PHONE);
  (*visit->mutable_touchpoint()->mutable_custom_attributes())["plan"] = "gold";
  v1::MappingRule* won = journey.add_mapping_rules();
  won->set_to_stage_id("signed");
  won->mutable_customer()->add_lifecycle_statuses(cv1::LIFECYCLE_STATUS_CUSTOMER);
  return journey;
}

Violations Check(v1::Journey journey) {
  status::FieldViolations violations;
  NormalizeAndValidate(journey, "journey", violations);
  return status::FieldViolationsOf(violations.ToStatus());
}

TEST(DefinitionValidationTest, AcceptsAValidJourney) { EXPECT_THAT(Check(Dealer()), IsEmpty()); }

TEST(DefinitionValidationTest, CountsCodePointsNotBytes) {
  v1::Journey journey = Dealer();
  std::string hundred;
  for (int i = 0; i < 100; ++i) hundred += "阶";
  journey.mutable_stages(1)->set_display_name(hundred);
  std::string two_hundred;
  for (int i = 0; i < 200; ++i) two_hundred += "旅";
  journey.set_display_name(two_hundred);
  EXPECT_THAT(Check(journey), IsEmpty());

  journey.mutable_stages(1)->set_display_name(hundred + "段");
  journey.set_display_name(two_hundred + "程");
  EXPECT_THAT(
      Check(journey),
      ElementsAre(Pair("journey.display_name", "must be at most 200 characters"),
                  Pair("journey.stages[1].display_name", "must be at most 100 characters")));
}

TEST(DefinitionValidationTest, TrimsNames) {
  v1::Journey journey = Dealer();
  journey.set_display_name("\u3000 经销商旅程 ");
  status::FieldViolations violations;
  NormalizeAndValidate(journey, "journey", violations);
  EXPECT_TRUE(violations.empty());
  EXPECT_EQ(journey.display_name(), "经销商旅程");
}

TEST(DefinitionValidationTest, RequiresNameAndLimitsDescription) {
  v1::Journey journey = Dealer();
  journey.set_display_name("  ");
  journey.set_description(std::string(2001, 'x'));
  EXPECT_THAT(Check(journey),
              ElementsAre(Pair("journey.display_name", "is required"),
                          Pair("journey.description", "must be at most 2000 characters")));
}

TEST(DefinitionValidationTest, StageCountBounds) {
  v1::Journey journey = Dealer();
  journey.clear_stages();
  journey.clear_mapping_rules();
  EXPECT_THAT(Check(journey), ElementsAre(Pair("journey.stages", "is required")));

  *journey.add_stages() = StageOf("lead", "线索", v1::STAGE_KIND_ENTRY);
  EXPECT_THAT(Check(journey),
              ElementsAre(Pair("journey.stages", "must have at least 2 entries"),
                          Pair("journey.stages", "must have a stage of kind STAGE_KIND_GOAL")));

  for (int i = 0; i < 49; ++i) {
    *journey.add_stages() = StageOf("s" + std::to_string(i), "阶段", v1::STAGE_KIND_GOAL);
  }
  EXPECT_THAT(Check(journey), IsEmpty());
  *journey.add_stages() = StageOf("one_more", "阶段", v1::STAGE_KIND_GOAL);
  EXPECT_THAT(Check(journey), ElementsAre(Pair("journey.stages", "must have at most 50 entries")));
}

TEST(DefinitionValidationTest, StageIdsAreTokensAndUnique) {
  v1::Journey journey = Dealer();
  journey.mutable_stages(1)->set_stage_id("Needs Discovery");
  journey.mutable_stages(2)->set_stage_id("lead");
  journey.mutable_stages(3)->set_stage_id(std::string(64, 'a'));
  journey.clear_mapping_rules();
  const std::string shape = "must be 1 to 63 characters of a-z, 0-9, _ and -";
  EXPECT_THAT(Check(journey),
              ElementsAre(Pair("journey.stages[1].stage_id", shape),
                          Pair("journey.stages[2].stage_id", "duplicates stages[0].stage_id"),
                          Pair("journey.stages[3].stage_id", shape)));
}

TEST(DefinitionValidationTest, EntryIsTheOneFirstStage) {
  v1::Journey journey = Dealer();
  journey.mutable_stages(0)->set_kind(v1::STAGE_KIND_NORMAL);
  journey.mutable_stages(1)->set_kind(v1::STAGE_KIND_ENTRY);
  EXPECT_THAT(Check(journey),
              ElementsAre(Pair("journey.stages[0].kind",
                               "must be STAGE_KIND_ENTRY: the first stage is the entry"),
                          Pair("journey.stages[1].kind",
                               "must not be STAGE_KIND_ENTRY: only the first stage is the entry")));
}

TEST(DefinitionValidationTest, StageKindIsRequiredAndKnown) {
  v1::Journey journey = Dealer();
  journey.mutable_stages(1)->set_kind(v1::STAGE_KIND_UNSPECIFIED);
  journey.mutable_stages(3)->set_kind(static_cast<v1::StageKind>(99));
  EXPECT_THAT(Check(journey), ElementsAre(Pair("journey.stages[1].kind", "is required"),
                                          Pair("journey.stages[3].kind", "must be a known value")));
}

TEST(DefinitionValidationTest, NeedsAGoal) {
  v1::Journey journey = Dealer();
  journey.mutable_stages(2)->set_kind(v1::STAGE_KIND_NORMAL);
  EXPECT_THAT(Check(journey),
              ElementsAre(Pair("journey.stages", "must have a stage of kind STAGE_KIND_GOAL")));
}

TEST(DefinitionValidationTest, StalledAfterDays) {
  v1::Journey journey = Dealer();
  journey.mutable_stages(1)->set_stalled_after_days(3651);
  journey.mutable_stages(2)->set_stalled_after_days(7);
  journey.mutable_stages(3)->set_stalled_after_days(-1);
  EXPECT_THAT(
      Check(journey),
      ElementsAre(Pair("journey.stages[1].stalled_after_days", "must be between 0 and 3650"),
                  Pair("journey.stages[2].stalled_after_days", "must be 0 on a goal or exit stage"),
                  Pair("journey.stages[3].stalled_after_days", "must be between 0 and 3650")));
  journey.mutable_stages(1)->set_stalled_after_days(3650);
  journey.mutable_stages(2)->set_stalled_after_days(0);
  journey.mutable_stages(3)->set_stalled_after_days(0);
  EXPECT_THAT(Check(journey), IsEmpty());
}

TEST(DefinitionValidationTest, EntryRule) {
  v1::Journey journey = Dealer();
  v1::EntryRule& rule = *journey.mutable_entry_rule();
  rule.add_regions(" ");
  rule.add_levels(cv1::CUSTOMER_LEVEL_UNSPECIFIED);
  rule.mutable_lifecycle_statuses()->Add(99);
  rule.add_tags(std::string(65, 't'));
  EXPECT_THAT(Check(journey),
              ElementsAre(Pair("journey.entry_rule.regions[1]", "is required"),
                          Pair("journey.entry_rule.levels[1]", "is required"),
                          Pair("journey.entry_rule.lifecycle_statuses[0]", "must be a known value"),
                          Pair("journey.entry_rule.tags[0]", "must be at most 64 characters")));
}

TEST(DefinitionValidationTest, RulesNameStagesAndNeverLeaveTerminalOnes) {
  v1::Journey journey = Dealer();
  journey.mutable_mapping_rules(0)->set_to_stage_id("nowhere");
  journey.mutable_mapping_rules(0)->add_from_stage_ids("signed");
  journey.mutable_mapping_rules(0)->add_from_stage_ids("lost");
  journey.mutable_mapping_rules(0)->add_from_stage_ids("elsewhere");
  journey.mutable_mapping_rules(1)->clear_to_stage_id();
  const std::string terminal = "names a goal or exit stage, which no rule moves a customer out of";
  EXPECT_THAT(
      Check(journey),
      ElementsAre(
          Pair("journey.mapping_rules[0].to_stage_id", "names no stage of the journey"),
          Pair("journey.mapping_rules[0].from_stage_ids[1]", terminal),
          Pair("journey.mapping_rules[0].from_stage_ids[2]", terminal),
          Pair("journey.mapping_rules[0].from_stage_ids[3]", "names no stage of the journey"),
          Pair("journey.mapping_rules[1].to_stage_id", "is required")));
}

TEST(DefinitionValidationTest, RuleNeedsATrigger) {
  v1::Journey journey = Dealer();
  journey.mutable_mapping_rules(1)->clear_customer();
  EXPECT_THAT(Check(journey), ElementsAre(Pair("journey.mapping_rules[1]",
                                               "must have a trigger: touchpoint or customer")));
}

TEST(DefinitionValidationTest, ConditionsAreNotEmpty) {
  v1::Journey journey = Dealer();
  journey.mutable_mapping_rules(0)->mutable_touchpoint()->Clear();
  journey.mutable_mapping_rules(1)->mutable_customer()->Clear();
  EXPECT_THAT(
      Check(journey),
      ElementsAre(Pair("journey.mapping_rules[0].touchpoint", "must have at least one condition"),
                  Pair("journey.mapping_rules[1].customer", "must have at least one condition")));
}

TEST(DefinitionValidationTest, TouchpointConditionValues) {
  v1::Journey journey = Dealer();
  v1::TouchpointCondition& condition = *journey.mutable_mapping_rules(0)->mutable_touchpoint();
  condition.mutable_channels()->Add(99);
  condition.add_directions(tv1::DIRECTION_UNSPECIFIED);
  condition.add_categories(tv1::CATEGORY_SALES);
  condition.mutable_outcomes()->Add(-3);
  condition.add_sentiments(tv1::SENTIMENT_UNSPECIFIED);
  condition.add_tags("");
  auto& attributes = *condition.mutable_custom_attributes();
  attributes[""] = "x";
  attributes["tier"] = "";
  attributes[std::string(65, 'k')] = "x";
  attributes["note"] = std::string(257, 'v');
  EXPECT_THAT(
      Check(journey),
      ElementsAre(
          Pair("journey.mapping_rules[0].touchpoint.channels[1]", "must be a known value"),
          Pair("journey.mapping_rules[0].touchpoint.directions[0]", "is required"),
          Pair("journey.mapping_rules[0].touchpoint.outcomes[0]", "must be a known value"),
          Pair("journey.mapping_rules[0].touchpoint.sentiments[0]", "is required"),
          Pair("journey.mapping_rules[0].touchpoint.tags[0]", "is required"),
          Pair("journey.mapping_rules[0].touchpoint.custom_attributes[\"\"]", "key is required"),
          Pair("journey.mapping_rules[0].touchpoint.custom_attributes[\"" + std::string(65, 'k') +
                   "\"]",
               "key must be at most 64 characters"),
          Pair("journey.mapping_rules[0].touchpoint.custom_attributes[\"note\"]",
               "must be at most 256 characters"),
          Pair("journey.mapping_rules[0].touchpoint.custom_attributes[\"tier\"]", "is required")));
}

TEST(DefinitionValidationTest, CustomerConditionValues) {
  v1::Journey journey = Dealer();
  v1::CustomerCondition& condition = *journey.mutable_mapping_rules(1)->mutable_customer();
  condition.add_lifecycle_statuses(cv1::LIFECYCLE_STATUS_UNSPECIFIED);
  condition.mutable_levels()->Add(42);
  condition.set_tag_added(std::string(65, 't'));
  EXPECT_THAT(
      Check(journey),
      ElementsAre(
          Pair("journey.mapping_rules[1].customer.lifecycle_statuses[1]", "is required"),
          Pair("journey.mapping_rules[1].customer.levels[0]", "must be a known value"),
          Pair("journey.mapping_rules[1].customer.tag_added", "must be at most 64 characters")));
  condition.Clear();
  condition.set_tag_added("签约意向");
  EXPECT_THAT(Check(journey), IsEmpty());
}

TEST(DefinitionValidationTest, AtMost200Rules) {
  v1::Journey journey = Dealer();
  while (journey.mapping_rules_size() < 200)
    *journey.add_mapping_rules() = journey.mapping_rules(0);
  EXPECT_THAT(Check(journey), IsEmpty());
  *journey.add_mapping_rules() = journey.mapping_rules(0);
  EXPECT_THAT(Check(journey),
              ElementsAre(Pair("journey.mapping_rules", "must have at most 200 entries")));
}

TEST(DefinitionValidationTest, RejectsInvalidUtf8) {
  v1::Journey journey = Dealer();
  journey.mutable_stages(1)->set_display_name("\xff\xfe");
  EXPECT_THAT(Check(journey),
              ElementsAre(Pair("journey.stages[1].display_name", "must be valid UTF-8")));
}

}  // namespace
}  // namespace touchline::journeys
