#include "services/journeys/path/path.h"

#include <algorithm>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/journeys/path/testing/random_journeys.h"

namespace touchline::journeys {

void PrintTo(const Visit& visit, std::ostream* os) {
  *os << "{" << visit.stage_id << " from '" << visit.from_stage_id << "' "
      << absl::FormatTime(visit.enter_time, absl::UTCTimeZone()) << " .. "
      << absl::FormatTime(visit.exit_time, absl::UTCTimeZone()) << " cause "
      << static_cast<int>(visit.cause) << " '" << visit.cause_id << "' user '" << visit.user_id
      << "' reason '" << visit.reason << "'}";
}

namespace {

using internal::Fact;
using path_testing::FactAt;
using path_testing::InOrder;
using path_testing::RandomJourneys;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// 2025-01-01T00:00:00Z: when the customers of these tests enter.
const absl::Time kEnter = absl::FromUnixSeconds(1735689600);

absl::Time At(int minutes) { return kEnter + absl::Minutes(minutes); }

template <typename T>
T Parse(std::string_view text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(text), &message)) << text;
  return message;
}

Fact TouchpointAt(std::string_view id, int minutes, std::string_view touchpoint) {
  Fact fact = FactAt(id, At(minutes));
  *fact.mutable_touchpoint() = Parse<touchpoints::v1::Touchpoint>(touchpoint);
  fact.mutable_touchpoint()->set_touchpoint_id(std::string(id));
  return fact;
}

Fact ChangeAt(std::string_view id, int minutes, std::string_view change) {
  Fact fact = FactAt(id, At(minutes));
  *fact.mutable_customer() = Parse<internal::CustomerChange>(change);
  return fact;
}

Fact MoveAt(std::string_view id, int minutes, std::string_view journey_id,
            std::string_view to_stage_id, std::string_view user_id = "user-1",
            std::string_view reason = "") {
  Fact fact = FactAt(id, At(minutes));
  internal::ManualMove& move = *fact.mutable_manual();
  move.set_journey_id(std::string(journey_id));
  move.set_to_stage_id(std::string(to_stage_id));
  move.set_user_id(std::string(user_id));
  move.set_reason(std::string(reason));
  return fact;
}

Visit Entered(std::string_view stage_id) {
  Visit visit;
  visit.stage_id = std::string(stage_id);
  visit.enter_time = kEnter;
  return visit;
}

// A visit begun by fact `cause_id` at `minutes` (exit_time still open: Close sets it).
Visit Moved(std::string_view stage_id, std::string_view from, int minutes, CauseKind cause,
            std::string_view cause_id) {
  Visit visit;
  visit.stage_id = std::string(stage_id);
  visit.from_stage_id = std::string(from);
  visit.enter_time = At(minutes);
  visit.cause = cause;
  visit.cause_id = std::string(cause_id);
  return visit;
}

// Each visit but the last exits when the next enters.
std::vector<Visit> Closed(std::vector<Visit> visits) {
  for (size_t i = 0; i + 1 < visits.size(); ++i) visits[i].exit_time = visits[i + 1].enter_time;
  return visits;
}

// Matches exactly these visits, each but the last exiting when the next enters.
::testing::Matcher<const std::vector<Visit>&> PathIs(std::vector<Visit> visits) {
  return ElementsAreArray(Closed(std::move(visits)));
}

std::vector<std::string> StagesOf(const std::vector<Visit>& visits) {
  std::vector<std::string> stages;
  for (const Visit& visit : visits) stages.push_back(visit.stage_id);
  return stages;
}

CustomerProfile Profile(
    std::string region, std::vector<std::string> tags,
    contacts::v1::CustomerLevel level = contacts::v1::CUSTOMER_LEVEL_UNSPECIFIED,
    contacts::v1::LifecycleStatus status = contacts::v1::LIFECYCLE_STATUS_UNSPECIFIED) {
  CustomerProfile profile;
  profile.region = std::move(region);
  profile.tags = std::move(tags);
  profile.level = level;
  profile.lifecycle_status = status;
  return profile;
}

// The B2C funnel: awareness -> consideration -> purchase -> loyalty (goal). The last rule leads
// back to awareness, so it moves only when allow_backward is set.
v1::Journey B2cJourney(bool allow_backward = false) {
  auto journey = Parse<v1::Journey>(R"pb(
    journey_id: "b2c"
    version: 1
    state: JOURNEY_STATE_PUBLISHED
    display_name: "B2C funnel"
    stages { stage_id: "awareness" display_name: "Awareness" kind: STAGE_KIND_ENTRY }
    stages { stage_id: "consideration" display_name: "Consideration" kind: STAGE_KIND_NORMAL }
    stages { stage_id: "purchase" display_name: "Purchase" kind: STAGE_KIND_NORMAL }
    stages { stage_id: "loyalty" display_name: "Loyalty" kind: STAGE_KIND_GOAL }
    mapping_rules {
      to_stage_id: "consideration"
      touchpoint {
        channels: [ CHANNEL_WEB_FORM, CHANNEL_LIVE_CHAT ]
        directions: DIRECTION_INBOUND
      }
    }
    mapping_rules {
      to_stage_id: "consideration"
      customer {
        lifecycle_statuses: [ LIFECYCLE_STATUS_OPPORTUNITY, LIFECYCLE_STATUS_HIGH_INTENT ]
      }
    }
    mapping_rules {
      to_stage_id: "purchase"
      touchpoint { outcomes: OUTCOME_WON }
    }
    mapping_rules {
      to_stage_id: "purchase"
      customer { lifecycle_statuses: LIFECYCLE_STATUS_CUSTOMER }
    }
    mapping_rules {
      to_stage_id: "loyalty"
      from_stage_ids: "purchase"
      touchpoint { categories: CATEGORY_SERVICE sentiments: SENTIMENT_POSITIVE }
    }
    mapping_rules {
      to_stage_id: "awareness"
      touchpoint { outcomes: OUTCOME_REJECTED }
    }
  )pb");
  journey.set_allow_backward(allow_backward);
  return journey;
}

constexpr std::string_view kWebForm =
    "channel: CHANNEL_WEB_FORM direction: DIRECTION_INBOUND category: CATEGORY_MARKETING";
constexpr std::string_view kWon =
    "channel: CHANNEL_MEETING category: CATEGORY_SALES outcome: OUTCOME_WON";
constexpr std::string_view kHappyService =
    "channel: CHANNEL_PHONE category: CATEGORY_SERVICE sentiment: SENTIMENT_POSITIVE";
constexpr std::string_view kRejected =
    "channel: CHANNEL_PHONE category: CATEGORY_SALES outcome: OUTCOME_REJECTED";

// A dealer's 12-stage journey (经销商旅程), ids in pinyin, names, tags and text attributes in
// Chinese. 战败 (lost) is the exit, 售后 (after-sales) the goal.
v1::Journey DealerJourney() {
  return Parse<v1::Journey>(R"pb(
    journey_id: "dealer"
    version: 3
    state: JOURNEY_STATE_PUBLISHED
    display_name: "经销商旅程"
    stages { stage_id: "xunjia" display_name: "询价" kind: STAGE_KIND_ENTRY }
    stages { stage_id: "xuqiu" display_name: "需求确认" kind: STAGE_KIND_NORMAL }
    stages { stage_id: "yaoyue" display_name: "邀约到店" kind: STAGE_KIND_NORMAL }
    stages { stage_id: "daodian" display_name: "到店" kind: STAGE_KIND_NORMAL }
    stages { stage_id: "shijia" display_name: "试驾" kind: STAGE_KIND_NORMAL }
    stages { stage_id: "baojia" display_name: "报价" kind: STAGE_KIND_NORMAL }
    stages { stage_id: "yijia" display_name: "议价" kind: STAGE_KIND_NORMAL }
    stages { stage_id: "dingjin" display_name: "交订金" kind: STAGE_KIND_NORMAL }
    stages { stage_id: "qianyue" display_name: "签约" kind: STAGE_KIND_NORMAL }
    stages { stage_id: "jiaoche" display_name: "交车" kind: STAGE_KIND_NORMAL }
    stages { stage_id: "zhanbai" display_name: "战败" kind: STAGE_KIND_EXIT }
    stages { stage_id: "shouhou" display_name: "售后" kind: STAGE_KIND_GOAL }
    entry_rule {
      regions: [ "华东", "华南" ]
      tags: "汽车经销"
    }
    mapping_rules {
      to_stage_id: "xuqiu"
      from_stage_ids: "xunjia"
      touchpoint {
        channels: [ CHANNEL_PHONE, CHANNEL_WECOM ]
        directions: DIRECTION_INBOUND
        outcomes: OUTCOME_CONNECTED
      }
    }
    mapping_rules {
      to_stage_id: "yaoyue"
      touchpoint {
        directions: DIRECTION_OUTBOUND
        tags: [ "邀约成功", "已预约" ]
      }
    }
    mapping_rules {
      to_stage_id: "shijia"
      touchpoint {
        channels: CHANNEL_STORE_VISIT
        custom_attributes { key: "test_drive" value: "true" }
      }
    }
    mapping_rules {
      to_stage_id: "daodian"
      touchpoint { channels: CHANNEL_STORE_VISIT }
    }
    mapping_rules {
      to_stage_id: "baojia"
      touchpoint { outcomes: OUTCOME_QUOTED }
    }
    mapping_rules {
      to_stage_id: "yijia"
      touchpoint { tags: "议价" }
    }
    mapping_rules {
      to_stage_id: "dingjin"
      touchpoint { custom_attributes { key: "deposit_yuan" value: "5000" } }
    }
    mapping_rules {
      to_stage_id: "qianyue"
      customer { lifecycle_statuses: LIFECYCLE_STATUS_CUSTOMER }
    }
    mapping_rules {
      to_stage_id: "jiaoche"
      from_stage_ids: "qianyue"
      touchpoint {
        custom_attributes { key: "delivery_time" value: "2025-03-08T02:00:00Z" }
        custom_attributes { key: "车型" value: "汉 EV" }
      }
    }
    mapping_rules {
      to_stage_id: "zhanbai"
      touchpoint { outcomes: OUTCOME_LOST }
    }
    mapping_rules {
      to_stage_id: "zhanbai"
      customer { tag_added: "已流失" }
    }
    mapping_rules {
      to_stage_id: "shouhou"
      from_stage_ids: "jiaoche"
      touchpoint { categories: CATEGORY_SERVICE outcomes: OUTCOME_RESOLVED }
    }
    mapping_rules {
      to_stage_id: "xuqiu"
      customer { tag_added: "重新激活" }
    }
  )pb");
}

// --- Selects ---------------------------------------------------------------------------------

TEST(SelectsTest, NoConditionSelectsEveryone) {
  EXPECT_TRUE(Selects(v1::EntryRule(), CustomerProfile{}));
  EXPECT_TRUE(Selects(v1::EntryRule(), Profile("华北", {"任意"})));
}

TEST(SelectsTest, EveryGivenConditionHoldsAndRepeatedOnesMatchAnyValue) {
  const auto rule = Parse<v1::EntryRule>(R"pb(
    regions: [ "华东", "华南" ]
    levels: [ CUSTOMER_LEVEL_KEY, CUSTOMER_LEVEL_VIP ]
    lifecycle_statuses: LIFECYCLE_STATUS_PROSPECT
    tags: [ "展会线索", "老客户转介绍" ]
  )pb");
  const CustomerProfile selected =
      Profile("华南", {"经销商", "老客户转介绍"}, contacts::v1::CUSTOMER_LEVEL_VIP,
              contacts::v1::LIFECYCLE_STATUS_PROSPECT);
  EXPECT_TRUE(Selects(rule, selected));

  CustomerProfile other_region = selected;
  other_region.region = "华北";
  EXPECT_FALSE(Selects(rule, other_region));
  CustomerProfile other_level = selected;
  other_level.level = contacts::v1::CUSTOMER_LEVEL_STANDARD;
  EXPECT_FALSE(Selects(rule, other_level));
  CustomerProfile other_status = selected;
  other_status.lifecycle_status = contacts::v1::LIFECYCLE_STATUS_LEAD;
  EXPECT_FALSE(Selects(rule, other_status));
  CustomerProfile no_shared_tag = selected;
  no_shared_tag.tags = {"经销商"};
  EXPECT_FALSE(Selects(rule, no_shared_tag));
  CustomerProfile untagged = selected;
  untagged.tags.clear();
  EXPECT_FALSE(Selects(rule, untagged));
}

TEST(SelectsTest, ChineseTextComparesExactly) {
  const auto rule = Parse<v1::EntryRule>(R"pb(regions: "华东" tags: "汽车经销")pb");
  EXPECT_TRUE(Selects(rule, Profile("华东", {"汽车经销"})));
  EXPECT_FALSE(Selects(rule, Profile("華東", {"汽车经销"})));
  EXPECT_FALSE(Selects(rule, Profile("华东 ", {"汽车经销"})));
  EXPECT_FALSE(Selects(rule, Profile("华东", {"汽车"})));
}

TEST(SelectsTest, OnlyTheGivenConditionsCount) {
  const auto rule = Parse<v1::EntryRule>(R"pb(levels: CUSTOMER_LEVEL_KEY)pb");
  EXPECT_TRUE(Selects(rule, Profile("任何地方", {}, contacts::v1::CUSTOMER_LEVEL_KEY)));
  EXPECT_FALSE(Selects(rule, Profile("任何地方", {})));
}

// --- Matches(TouchpointCondition) -------------------------------------------------------------

TEST(TouchpointMatchesTest, EmptyConditionNeverMatches) {
  EXPECT_FALSE(Matches(v1::TouchpointCondition(), touchpoints::v1::Touchpoint()));
  EXPECT_FALSE(Matches(v1::TouchpointCondition(), Parse<touchpoints::v1::Touchpoint>(kWebForm)));
}

TEST(TouchpointMatchesTest, EveryGivenConditionHolds) {
  const auto condition = Parse<v1::TouchpointCondition>(R"pb(
    channels: [ CHANNEL_PHONE, CHANNEL_WECOM ]
    directions: DIRECTION_INBOUND
    categories: CATEGORY_SALES
    outcomes: [ OUTCOME_CONNECTED, OUTCOME_QUOTED ]
    sentiments: SENTIMENT_POSITIVE
    tags: [ "报价", "试驾" ]
  )pb");
  const auto touchpoint = Parse<touchpoints::v1::Touchpoint>(R"pb(
    channel: CHANNEL_WECOM
    direction: DIRECTION_INBOUND
    category: CATEGORY_SALES
    outcome: OUTCOME_QUOTED
    sentiment: SENTIMENT_POSITIVE
    tags: [ "新车", "报价" ]
  )pb");
  EXPECT_TRUE(Matches(condition, touchpoint));

  const auto changed = [&](std::string_view text) {
    touchpoints::v1::Touchpoint copy = touchpoint;
    touchpoints::v1::Touchpoint change = Parse<touchpoints::v1::Touchpoint>(text);
    copy.MergeFrom(change);
    if (change.tags_size() > 0) *copy.mutable_tags() = change.tags();
    return copy;
  };
  EXPECT_FALSE(Matches(condition, changed("channel: CHANNEL_EMAIL")));
  EXPECT_FALSE(Matches(condition, changed("direction: DIRECTION_OUTBOUND")));
  EXPECT_FALSE(Matches(condition, changed("category: CATEGORY_SERVICE")));
  EXPECT_FALSE(Matches(condition, changed("outcome: OUTCOME_WON")));
  EXPECT_FALSE(Matches(condition, changed("sentiment: SENTIMENT_NEUTRAL")));
  EXPECT_FALSE(Matches(condition, changed(R"pb(tags: [ "新车", "报 价" ])pb")));
  EXPECT_TRUE(Matches(condition, changed(R"pb(tags: "试驾")pb")));
  EXPECT_TRUE(Matches(condition, changed("channel: CHANNEL_PHONE outcome: OUTCOME_CONNECTED")));
}

TEST(TouchpointMatchesTest, UnsetDirectionMatchesOnlyWhenListed) {
  const auto touchpoint = Parse<touchpoints::v1::Touchpoint>("channel: CHANNEL_TRADE_SHOW");
  EXPECT_FALSE(
      Matches(Parse<v1::TouchpointCondition>("directions: DIRECTION_INBOUND"), touchpoint));
  EXPECT_TRUE(
      Matches(Parse<v1::TouchpointCondition>("directions: DIRECTION_UNSPECIFIED"), touchpoint));
}

TEST(TouchpointMatchesTest, CustomAttributesCompareByTheirJsonText) {
  const auto touchpoint = Parse<touchpoints::v1::Touchpoint>(R"pb(
    channel: CHANNEL_STORE_VISIT
    custom_attributes {
      key: "test_drive"
      value { bool_value: true }
    }
    custom_attributes {
      key: "trade_in"
      value { bool_value: false }
    }
    custom_attributes {
      key: "deposit_yuan"
      value { int_value: 5000 }
    }
    custom_attributes {
      key: "order_no"
      value { int_value: 9007199254740993 }
    }
    custom_attributes {
      key: "budget_wan"
      value { double_value: 3.5 }
    }
    custom_attributes {
      key: "discount"
      value { double_value: 0.1 }
    }
    custom_attributes {
      key: "seats"
      value { double_value: 7 }
    }
    custom_attributes {
      key: "model"
      value { string_value: "汉 EV \"旗舰\"" }
    }
    custom_attributes {
      key: "digits"
      value { string_value: "42" }
    }
    custom_attributes {
      key: "delivery_time"
      value { timestamp_value { seconds: 1741399200 } }
    }
    custom_attributes {
      key: "visit_time"
      value { timestamp_value { seconds: 1738312200 nanos: 500000000 } }
    }
  )pb");
  const auto matches = [&](std::string_view key, std::string_view text) {
    v1::TouchpointCondition condition;
    (*condition.mutable_custom_attributes())[std::string(key)] = std::string(text);
    return Matches(condition, touchpoint);
  };
  EXPECT_TRUE(matches("test_drive", "true"));
  EXPECT_FALSE(matches("test_drive", "True"));
  EXPECT_FALSE(matches("test_drive", "1"));
  EXPECT_TRUE(matches("trade_in", "false"));
  EXPECT_TRUE(matches("deposit_yuan", "5000"));
  EXPECT_FALSE(matches("deposit_yuan", "5000.0"));
  EXPECT_FALSE(matches("deposit_yuan", "\"5000\""));
  EXPECT_TRUE(matches("order_no", "9007199254740993"));  // not rounded through a double
  EXPECT_TRUE(matches("budget_wan", "3.5"));
  EXPECT_FALSE(matches("budget_wan", "3.50"));
  EXPECT_TRUE(matches("discount", "0.1"));
  EXPECT_TRUE(matches("seats", "7"));
  EXPECT_FALSE(matches("seats", "7.0"));
  EXPECT_TRUE(matches("model", "汉 EV \"旗舰\""));  // the text itself, not JSON-escaped
  EXPECT_FALSE(matches("model", "\"汉 EV \\\"旗舰\\\"\""));
  EXPECT_FALSE(matches("model", "汉 EV"));
  EXPECT_TRUE(matches("digits", "42"));
  EXPECT_TRUE(matches("delivery_time", "2025-03-08T02:00:00Z"));
  EXPECT_FALSE(matches("delivery_time", "2025-03-08T10:00:00+08:00"));
  EXPECT_FALSE(matches("delivery_time", "2025-03-08T02:00:00.000Z"));
  EXPECT_TRUE(matches("visit_time", "2025-01-31T08:30:00.500Z"));
  EXPECT_FALSE(matches("visit_time", "2025-01-31T08:30:00Z"));
  EXPECT_FALSE(matches("absent", ""));
  EXPECT_FALSE(matches("absent", "true"));
}

TEST(TouchpointMatchesTest, EveryNamedAttributeMustHold) {
  const auto touchpoint = Parse<touchpoints::v1::Touchpoint>(R"pb(
    custom_attributes {
      key: "test_drive"
      value { bool_value: true }
    }
    custom_attributes {
      key: "车型"
      value { string_value: "宋 PLUS" }
    }
  )pb");
  EXPECT_TRUE(Matches(Parse<v1::TouchpointCondition>(R"pb(
                        custom_attributes { key: "test_drive" value: "true" }
                        custom_attributes { key: "车型" value: "宋 PLUS" }
                      )pb"),
                      touchpoint));
  EXPECT_FALSE(Matches(Parse<v1::TouchpointCondition>(R"pb(
                         custom_attributes { key: "test_drive" value: "true" }
                         custom_attributes { key: "车型" value: "汉 EV" }
                       )pb"),
                       touchpoint));
  EXPECT_FALSE(Matches(Parse<v1::TouchpointCondition>(R"pb(
                         channels: CHANNEL_STORE_VISIT
                         custom_attributes { key: "test_drive" value: "true" }
                       )pb"),
                       touchpoint));
}

// --- Matches(CustomerCondition) ---------------------------------------------------------------

TEST(CustomerMatchesTest, EmptyConditionNeverMatches) {
  EXPECT_FALSE(Matches(v1::CustomerCondition(), Parse<internal::CustomerChange>(R"pb(
                         lifecycle_before: LIFECYCLE_STATUS_LEAD
                         lifecycle_after: LIFECYCLE_STATUS_CUSTOMER
                         tags_added: "任意"
                       )pb")));
}

TEST(CustomerMatchesTest, TheValueMustBeNew) {
  const auto condition = Parse<v1::CustomerCondition>(
      "lifecycle_statuses: [ LIFECYCLE_STATUS_OPPORTUNITY, LIFECYCLE_STATUS_HIGH_INTENT ]");
  EXPECT_TRUE(Matches(condition, Parse<internal::CustomerChange>(R"pb(
                        lifecycle_before: LIFECYCLE_STATUS_PROSPECT
                        lifecycle_after: LIFECYCLE_STATUS_HIGH_INTENT
                      )pb")));
  // From one listed value to another: not new.
  EXPECT_FALSE(Matches(condition, Parse<internal::CustomerChange>(R"pb(
                         lifecycle_before: LIFECYCLE_STATUS_OPPORTUNITY
                         lifecycle_after: LIFECYCLE_STATUS_HIGH_INTENT
                       )pb")));
  // Unchanged.
  EXPECT_FALSE(Matches(condition, Parse<internal::CustomerChange>(R"pb(
                         lifecycle_before: LIFECYCLE_STATUS_OPPORTUNITY
                         lifecycle_after: LIFECYCLE_STATUS_OPPORTUNITY
                       )pb")));
  // Away from a listed value.
  EXPECT_FALSE(Matches(condition, Parse<internal::CustomerChange>(R"pb(
                         lifecycle_before: LIFECYCLE_STATUS_OPPORTUNITY
                         lifecycle_after: LIFECYCLE_STATUS_LEAD
                       )pb")));
}

TEST(CustomerMatchesTest, LevelsAndTagsAndTheirCombination) {
  const auto vip = Parse<v1::CustomerCondition>("levels: CUSTOMER_LEVEL_VIP");
  EXPECT_TRUE(
      Matches(vip, Parse<internal::CustomerChange>(
                       "level_before: CUSTOMER_LEVEL_KEY level_after: CUSTOMER_LEVEL_VIP")));
  EXPECT_FALSE(
      Matches(vip, Parse<internal::CustomerChange>(
                       "level_before: CUSTOMER_LEVEL_VIP level_after: CUSTOMER_LEVEL_VIP")));

  const auto tagged = Parse<v1::CustomerCondition>(R"pb(tag_added: "已流失")pb");
  EXPECT_TRUE(
      Matches(tagged, Parse<internal::CustomerChange>(R"pb(tags_added: [ "沉默", "已流失" ])pb")));
  EXPECT_FALSE(Matches(tagged, Parse<internal::CustomerChange>(R"pb(tags_added: "已流")pb")));
  EXPECT_FALSE(Matches(tagged, internal::CustomerChange()));

  const auto both = Parse<v1::CustomerCondition>(R"pb(
    levels: CUSTOMER_LEVEL_KEY tag_added: "大客户"
  )pb");
  EXPECT_TRUE(Matches(both, Parse<internal::CustomerChange>(R"pb(
                        level_before: CUSTOMER_LEVEL_STANDARD
                        level_after: CUSTOMER_LEVEL_KEY
                        tags_added: "大客户"
                      )pb")));
  EXPECT_FALSE(Matches(both, Parse<internal::CustomerChange>(R"pb(
                         level_before: CUSTOMER_LEVEL_KEY
                         level_after: CUSTOMER_LEVEL_KEY
                         tags_added: "大客户"
                       )pb")));
  EXPECT_FALSE(Matches(both, Parse<internal::CustomerChange>(R"pb(
                         level_before: CUSTOMER_LEVEL_STANDARD
                         level_after: CUSTOMER_LEVEL_KEY
                       )pb")));
}

// --- DerivePath on the B2C funnel -------------------------------------------------------------

TEST(DerivePathTest, NoFactsLeavesTheCustomerOnTheEntryStage) {
  EXPECT_THAT(DerivePath(B2cJourney(), kEnter, {}), ElementsAre(Entered("awareness")));
}

TEST(DerivePathTest, B2cCustomerWalksTheFunnel) {
  const std::vector<Fact> facts = {
      TouchpointAt("tp-1", 10, kWebForm),
      // Service while considering: the loyalty rule is only from purchase.
      TouchpointAt("tp-2", 20, kHappyService),
      TouchpointAt("tp-3", 30, kWon),
      TouchpointAt("tp-4", 40, kHappyService),
      // On the goal: terminal.
      TouchpointAt("tp-5", 50, kWebForm),
  };
  EXPECT_THAT(DerivePath(B2cJourney(), kEnter, facts),
              PathIs({
                  Entered("awareness"),
                  Moved("consideration", "awareness", 10, CauseKind::kTouchpoint, "tp-1"),
                  Moved("purchase", "consideration", 30, CauseKind::kTouchpoint, "tp-3"),
                  Moved("loyalty", "purchase", 40, CauseKind::kTouchpoint, "tp-4"),
              }));
}

TEST(DerivePathTest, CustomerChangesMoveOnlyOnANewValue) {
  const std::vector<Fact> facts = {
      // Already an opportunity: HIGH_INTENT is listed in the same rule, so not new.
      ChangeAt("ev-1", 5, R"pb(
        lifecycle_before: LIFECYCLE_STATUS_OPPORTUNITY
        lifecycle_after: LIFECYCLE_STATUS_HIGH_INTENT
      )pb"),
      ChangeAt("ev-2", 8, R"pb(
        lifecycle_before: LIFECYCLE_STATUS_HIGH_INTENT
        lifecycle_after: LIFECYCLE_STATUS_CUSTOMER
      )pb"),
  };
  EXPECT_THAT(DerivePath(B2cJourney(), kEnter, facts),
              PathIs({
                  Entered("awareness"),
                  Moved("purchase", "awareness", 8, CauseKind::kCustomerChange, "ev-2"),
              }));
}

TEST(DerivePathTest, ForwardOnlyIgnoresBackwardMatchesAndBackwardFollowsThem) {
  const std::vector<Fact> facts = {
      TouchpointAt("tp-1", 10, kWon),
      // Back to awareness, then forward to consideration.
      TouchpointAt("tp-2", 20, kRejected),
      TouchpointAt("tp-3", 30, kWebForm),
  };
  EXPECT_THAT(DerivePath(B2cJourney(false), kEnter, facts),
              PathIs({
                  Entered("awareness"),
                  Moved("purchase", "awareness", 10, CauseKind::kTouchpoint, "tp-1"),
              }));
  EXPECT_THAT(DerivePath(B2cJourney(true), kEnter, facts),
              PathIs({
                  Entered("awareness"),
                  Moved("purchase", "awareness", 10, CauseKind::kTouchpoint, "tp-1"),
                  Moved("awareness", "purchase", 20, CauseKind::kTouchpoint, "tp-2"),
                  Moved("consideration", "awareness", 30, CauseKind::kTouchpoint, "tp-3"),
              }));
}

TEST(DerivePathTest, FirstRuleThatMayMoveDecides) {
  // A won web form matches the consideration rule first, and the purchase rule after it.
  const std::string won_web_form = std::string(kWebForm) + " outcome: OUTCOME_WON";
  EXPECT_THAT(StagesOf(DerivePath(B2cJourney(), kEnter,
                                  std::vector<Fact>{TouchpointAt("tp-1", 1, won_web_form)})),
              ElementsAre("awareness", "consideration"));
  // Already considering: the first rule leads nowhere new, so the purchase rule decides.
  EXPECT_THAT(StagesOf(DerivePath(B2cJourney(), kEnter,
                                  std::vector<Fact>{TouchpointAt("tp-1", 1, kWebForm),
                                                    TouchpointAt("tp-2", 2, won_web_form)})),
              ElementsAre("awareness", "consideration", "purchase"));
  // With backward moves allowed, the first rule still decides when it leads elsewhere.
  EXPECT_THAT(StagesOf(DerivePath(B2cJourney(true), kEnter,
                                  std::vector<Fact>{TouchpointAt("tp-1", 1, kWon),
                                                    TouchpointAt("tp-2", 2, won_web_form)})),
              ElementsAre("awareness", "purchase", "consideration"));
}

TEST(DerivePathTest, FromStageIdsLimitWhereARuleApplies) {
  v1::Journey journey = B2cJourney();
  // The loyalty rule: only from purchase.
  EXPECT_THAT(StagesOf(DerivePath(journey, kEnter,
                                  std::vector<Fact>{TouchpointAt("tp-1", 1, kHappyService)})),
              ElementsAre("awareness"));
  EXPECT_THAT(StagesOf(DerivePath(journey, kEnter,
                                  std::vector<Fact>{TouchpointAt("tp-1", 1, kWon),
                                                    TouchpointAt("tp-2", 2, kHappyService)})),
              ElementsAre("awareness", "purchase", "loyalty"));
  // Several allowed stages: any of them.
  journey.mutable_mapping_rules(4)->add_from_stage_ids("consideration");
  EXPECT_THAT(StagesOf(DerivePath(journey, kEnter,
                                  std::vector<Fact>{TouchpointAt("tp-1", 1, kWebForm),
                                                    TouchpointAt("tp-2", 2, kHappyService)})),
              ElementsAre("awareness", "consideration", "loyalty"));
}

TEST(DerivePathTest, GoalAndExitStagesAreTerminalForRules) {
  // Even with backward moves allowed, nothing but a manual move leaves the goal.
  const std::vector<Fact> facts = {
      TouchpointAt("tp-1", 1, kWon),
      TouchpointAt("tp-2", 2, kHappyService),
      TouchpointAt("tp-3", 3, kRejected),
      ChangeAt("ev-4", 4, R"pb(
        lifecycle_before: LIFECYCLE_STATUS_CUSTOMER
        lifecycle_after: LIFECYCLE_STATUS_OPPORTUNITY
      )pb"),
  };
  EXPECT_THAT(StagesOf(DerivePath(B2cJourney(true), kEnter, facts)),
              ElementsAre("awareness", "purchase", "loyalty"));

  // The dealer's exit: lost, then neither touchpoints nor changes move the customer.
  const std::vector<Fact> dealer = {
      TouchpointAt("tp-1", 1, "channel: CHANNEL_PHONE outcome: OUTCOME_LOST"),
      TouchpointAt("tp-2", 2, "channel: CHANNEL_STORE_VISIT"),
      ChangeAt("ev-3", 3, R"pb(tags_added: "重新激活")pb"),
  };
  EXPECT_THAT(StagesOf(DerivePath(DealerJourney(), kEnter, dealer)),
              ElementsAre("xunjia", "zhanbai"));
}

TEST(DerivePathTest, ManualMovesGoAnywhereOnTheirOwnJourney) {
  const std::vector<Fact> facts = {
      TouchpointAt("tp-1", 1, kWon),
      TouchpointAt("tp-2", 2, kHappyService),
      // Back from the goal, on a forward-only journey.
      MoveAt("mv-3", 3, "b2c", "consideration", "user-7", "客户要求重新评估方案"),
      // Rules apply again once off the goal.
      TouchpointAt("tp-4", 4, kWon),
      // Another journey's move, a move to an unknown stage, a move to where the customer is.
      MoveAt("mv-5", 5, "dealer", "awareness"),
      MoveAt("mv-6", 6, "b2c", "nowhere"),
      MoveAt("mv-7", 7, "b2c", "purchase"),
  };
  Visit back = Moved("consideration", "loyalty", 3, CauseKind::kManual, "mv-3");
  back.user_id = "user-7";
  back.reason = "客户要求重新评估方案";
  EXPECT_THAT(DerivePath(B2cJourney(), kEnter, facts),
              PathIs({
                  Entered("awareness"),
                  Moved("purchase", "awareness", 1, CauseKind::kTouchpoint, "tp-1"),
                  Moved("loyalty", "purchase", 2, CauseKind::kTouchpoint, "tp-2"),
                  back,
                  Moved("purchase", "consideration", 4, CauseKind::kTouchpoint, "tp-4"),
              }));
}

TEST(DerivePathTest, ManualMoveToTheEntryStageOrAnExit) {
  const std::vector<Fact> facts = {
      TouchpointAt("tp-1", 1, kWebForm),
      MoveAt("mv-2", 2, "dealer", "zhanbai", "销售-王", "客户已购买竞品"),
      MoveAt("mv-3", 3, "dealer", "xunjia", "销售-王", "误操作"),
  };
  std::vector<Visit> visits = DerivePath(DealerJourney(), kEnter, facts);
  ASSERT_THAT(StagesOf(visits), ElementsAre("xunjia", "zhanbai", "xunjia"));
  EXPECT_EQ(visits[1].reason, "客户已购买竞品");
  EXPECT_EQ(visits[2].from_stage_id, "zhanbai");
  EXPECT_EQ(visits[2].user_id, "销售-王");
}

TEST(DerivePathTest, TiesAtTheSameTimeGoByFactId) {
  // Forward only: web form then won moves twice; won then web form once.
  const std::vector<Fact> web_form_first = {TouchpointAt("b", 10, kWon),
                                            TouchpointAt("a", 10, kWebForm)};
  EXPECT_THAT(DerivePath(B2cJourney(), kEnter, web_form_first),
              PathIs({
                  Entered("awareness"),
                  Moved("consideration", "awareness", 10, CauseKind::kTouchpoint, "a"),
                  Moved("purchase", "consideration", 10, CauseKind::kTouchpoint, "b"),
              }));
  const std::vector<Fact> won_first = {TouchpointAt("b", 10, kWebForm),
                                       TouchpointAt("a", 10, kWon)};
  EXPECT_THAT(StagesOf(DerivePath(B2cJourney(), kEnter, won_first)),
              ElementsAre("awareness", "purchase"));
  // Time first, then id: "a" later in time comes after "b".
  const std::vector<Fact> by_time = {TouchpointAt("a", 11, kWebForm), TouchpointAt("b", 10, kWon)};
  EXPECT_THAT(StagesOf(DerivePath(B2cJourney(), kEnter, by_time)),
              ElementsAre("awareness", "purchase"));
}

TEST(DerivePathTest, SubsecondTimesOrderFacts) {
  Fact won = TouchpointAt("a", 0, kWon);
  won.mutable_occur_time()->set_nanos(2);
  Fact web_form = TouchpointAt("b", 0, kWebForm);
  web_form.mutable_occur_time()->set_nanos(1);
  const std::vector<Visit> visits =
      DerivePath(B2cJourney(), kEnter, std::vector<Fact>{won, web_form});
  ASSERT_THAT(StagesOf(visits), ElementsAre("awareness", "consideration", "purchase"));
  EXPECT_EQ(visits[2].enter_time, kEnter + absl::Nanoseconds(2));
}

TEST(DerivePathTest, FactsBeforeEntryAreIgnored) {
  const std::vector<Fact> facts = {
      TouchpointAt("tp-1", -60, kWon), MoveAt("mv-2", -1, "b2c", "loyalty"),
      TouchpointAt("tp-3", 0, kWebForm),  // at the entry itself: counts
  };
  EXPECT_THAT(DerivePath(B2cJourney(), kEnter, facts),
              PathIs({
                  Entered("awareness"),
                  Moved("consideration", "awareness", 0, CauseKind::kTouchpoint, "tp-3"),
              }));
}

TEST(DerivePathTest, FactsOfNoKindAreIgnored) {
  EXPECT_THAT(DerivePath(B2cJourney(), kEnter, std::vector<Fact>{FactAt("x", At(1))}),
              ElementsAre(Entered("awareness")));
}

// --- DerivePath on the dealer's 12 stages -----------------------------------------------------

TEST(DerivePathTest, DealerCustomerFromInquiryToAfterSales) {
  const std::vector<Fact> facts = {
      TouchpointAt("tp-01", 10, R"pb(
        channel: CHANNEL_WECOM
        direction: DIRECTION_INBOUND
        outcome: OUTCOME_CONNECTED
        subject: "咨询汉 EV 价格"
      )pb"),
      TouchpointAt("tp-02", 20, R"pb(
        channel: CHANNEL_PHONE
        direction: DIRECTION_OUTBOUND
        tags: [ "回访", "已预约" ]
      )pb"),
      // A store visit with a test drive: the test-drive rule comes before the visit rule.
      TouchpointAt("tp-03", 30, R"pb(
        channel: CHANNEL_STORE_VISIT
        custom_attributes {
          key: "test_drive"
          value { bool_value: true }
        }
      )pb"),
      // Another store visit (no test drive) would be backward: ignored.
      TouchpointAt("tp-04", 40, "channel: CHANNEL_STORE_VISIT"),
      TouchpointAt("tp-05", 50, "channel: CHANNEL_EMAIL outcome: OUTCOME_QUOTED"),
      TouchpointAt("tp-06", 60, R"pb(channel: CHANNEL_STORE_VISIT tags: "议价")pb"),
      // The visit rule matches first but leads back; the bargaining tag is a no-op; the deposit
      // rule moves.
      TouchpointAt("tp-07", 70, R"pb(
        channel: CHANNEL_STORE_VISIT
        tags: "议价"
        custom_attributes {
          key: "deposit_yuan"
          value { int_value: 5000 }
        }
      )pb"),
      ChangeAt("ev-08", 80, R"pb(
        lifecycle_before: LIFECYCLE_STATUS_HIGH_INTENT
        lifecycle_after: LIFECYCLE_STATUS_CUSTOMER
      )pb"),
      TouchpointAt("tp-09", 90, R"pb(
        channel: CHANNEL_STORE_VISIT
        custom_attributes {
          key: "delivery_time"
          value { timestamp_value { seconds: 1741399200 } }
        }
        custom_attributes {
          key: "车型"
          value { string_value: "汉 EV" }
        }
      )pb"),
      TouchpointAt("tp-10", 100, R"pb(
        channel: CHANNEL_PHONE
        category: CATEGORY_SERVICE
        outcome: OUTCOME_RESOLVED
        summary: "首保预约完成"
      )pb"),
      // Terminal: a lost deal after the goal changes nothing.
      TouchpointAt("tp-11", 110, "channel: CHANNEL_PHONE outcome: OUTCOME_LOST"),
  };
  const std::vector<Visit> visits = DerivePath(DealerJourney(), kEnter, facts);
  EXPECT_THAT(visits, PathIs({
                          Entered("xunjia"),
                          Moved("xuqiu", "xunjia", 10, CauseKind::kTouchpoint, "tp-01"),
                          Moved("yaoyue", "xuqiu", 20, CauseKind::kTouchpoint, "tp-02"),
                          Moved("shijia", "yaoyue", 30, CauseKind::kTouchpoint, "tp-03"),
                          Moved("baojia", "shijia", 50, CauseKind::kTouchpoint, "tp-05"),
                          Moved("yijia", "baojia", 60, CauseKind::kTouchpoint, "tp-06"),
                          Moved("dingjin", "yijia", 70, CauseKind::kTouchpoint, "tp-07"),
                          Moved("qianyue", "dingjin", 80, CauseKind::kCustomerChange, "ev-08"),
                          Moved("jiaoche", "qianyue", 90, CauseKind::kTouchpoint, "tp-09"),
                          Moved("shouhou", "jiaoche", 100, CauseKind::kTouchpoint, "tp-10"),
                      }));
}

TEST(DerivePathTest, DealerFromStageIdsAndAttributeMismatches) {
  const std::vector<Fact> facts = {
      // Inbound and connected, but the needs rule is only from 询价: the customer is already
      // invited to the store.
      TouchpointAt("tp-1", 1, R"pb(direction: DIRECTION_OUTBOUND tags: "邀约成功")pb"),
      TouchpointAt("tp-2", 2, R"pb(
        channel: CHANNEL_PHONE
        direction: DIRECTION_INBOUND
        outcome: OUTCOME_CONNECTED
      )pb"),
      // A deposit written as a double 5000.5 is not "5000".
      TouchpointAt("tp-3", 3, R"pb(
        custom_attributes {
          key: "deposit_yuan"
          value { double_value: 5000.5 }
        }
      )pb"),
      // Delivery only from 签约: the customer has not signed.
      TouchpointAt("tp-4", 4, R"pb(
        custom_attributes {
          key: "delivery_time"
          value { timestamp_value { seconds: 1741399200 } }
        }
        custom_attributes {
          key: "车型"
          value { string_value: "汉 EV" }
        }
      )pb"),
      ChangeAt("ev-5", 5, R"pb(tags_added: [ "沉默客户", "已流失" ])pb"),
  };
  EXPECT_THAT(DerivePath(DealerJourney(), kEnter, facts),
              PathIs({
                  Entered("xunjia"),
                  Moved("yaoyue", "xunjia", 1, CauseKind::kTouchpoint, "tp-1"),
                  Moved("zhanbai", "yaoyue", 5, CauseKind::kCustomerChange, "ev-5"),
              }));
}

TEST(DerivePathTest, DealerBackwardRuleNeedsAllowBackward) {
  const std::vector<Fact> facts = {
      TouchpointAt("tp-1", 1, "channel: CHANNEL_EMAIL outcome: OUTCOME_QUOTED"),
      ChangeAt("ev-2", 2, R"pb(tags_added: "重新激活")pb"),
  };
  v1::Journey journey = DealerJourney();
  EXPECT_THAT(StagesOf(DerivePath(journey, kEnter, facts)), ElementsAre("xunjia", "baojia"));
  journey.set_allow_backward(true);
  EXPECT_THAT(StagesOf(DerivePath(journey, kEnter, facts)),
              ElementsAre("xunjia", "baojia", "xuqiu"));
}

// --- Advance ----------------------------------------------------------------------------------

TEST(AdvanceTest, ContinuesAPathAndSaysWhetherItMoved) {
  const v1::Journey journey = B2cJourney();
  std::vector<Visit> visits = DerivePath(journey, kEnter, {});
  EXPECT_TRUE(Advance(journey, TouchpointAt("tp-1", 1, kWebForm), visits));
  EXPECT_FALSE(Advance(journey, TouchpointAt("tp-2", 2, kWebForm), visits));
  EXPECT_FALSE(Advance(journey, MoveAt("mv-3", 3, "other", "purchase"), visits));
  EXPECT_TRUE(Advance(journey, MoveAt("mv-4", 4, "b2c", "purchase", "user-9", "签单"), visits));
  Visit manual = Moved("purchase", "consideration", 4, CauseKind::kManual, "mv-4");
  manual.user_id = "user-9";
  manual.reason = "签单";
  EXPECT_THAT(visits, PathIs({
                          Entered("awareness"),
                          Moved("consideration", "awareness", 1, CauseKind::kTouchpoint, "tp-1"),
                          manual,
                      }));
}

TEST(AdvanceTest, IgnoresAFactBeforeEntry) {
  const v1::Journey journey = B2cJourney();
  std::vector<Visit> visits = DerivePath(journey, kEnter, {});
  EXPECT_FALSE(Advance(journey, TouchpointAt("tp-1", -1, kWon), visits));
  EXPECT_THAT(visits, ElementsAre(Entered("awareness")));
}

TEST(AdvanceTest, ThousandFactsStepByStepEqualDerivePath) {
  // Alternating manual moves and rule matches on a journey that allows backward moves: every
  // fact moves, so the path grows to 1,001 visits.
  v1::Journey journey = B2cJourney(true);
  std::vector<Fact> facts;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = absl::StrCat("fact-", 10000 + i);
    if (i % 2 == 0) {
      facts.push_back(TouchpointAt(id, i, kWon));
    } else {
      facts.push_back(MoveAt(id, i, "b2c", "awareness"));
    }
  }
  const std::vector<Visit> derived = DerivePath(journey, kEnter, facts);
  ASSERT_THAT(derived, SizeIs(1001));
  EXPECT_EQ(derived.back().stage_id, "awareness");
  EXPECT_EQ(derived.back().cause_id, "fact-10999");

  std::vector<Visit> advanced = DerivePath(journey, kEnter, {});
  for (const Fact& fact : facts) EXPECT_TRUE(Advance(journey, fact, advanced));
  EXPECT_EQ(advanced, derived);
}

// --- Properties on random journeys ------------------------------------------------------------

// What every derived path is: contiguous visits from the entry stage, each a real move, rule
// moves never out of a terminal stage nor backward unless allowed.
void ExpectWellFormed(const v1::Journey& journey, const std::vector<Visit>& visits) {
  ASSERT_THAT(visits, Not(IsEmpty()));
  Visit entry = visits.front();
  entry.exit_time = absl::InfiniteFuture();
  EXPECT_EQ(entry, Entered(journey.stages(0).stage_id()));
  EXPECT_EQ(visits.back().exit_time, absl::InfiniteFuture());
  const auto position = [&](const std::string& stage_id) {
    for (int i = 0; i < journey.stages_size(); ++i) {
      if (journey.stages(i).stage_id() == stage_id) return i;
    }
    ADD_FAILURE() << "unknown stage " << stage_id;
    return -1;
  };
  for (size_t i = 1; i < visits.size(); ++i) {
    const Visit& before = visits[i - 1];
    const Visit& visit = visits[i];
    EXPECT_EQ(before.exit_time, visit.enter_time);
    EXPECT_LE(before.enter_time, visit.enter_time);
    EXPECT_EQ(visit.from_stage_id, before.stage_id);
    EXPECT_NE(visit.stage_id, before.stage_id);
    EXPECT_NE(visit.cause, CauseKind::kEntered);
    if (visit.cause != CauseKind::kManual) {
      const v1::StageKind kind = journey.stages(position(before.stage_id)).kind();
      EXPECT_NE(kind, v1::STAGE_KIND_GOAL);
      EXPECT_NE(kind, v1::STAGE_KIND_EXIT);
      if (!journey.allow_backward()) {
        EXPECT_GT(position(visit.stage_id), position(before.stage_id));
      }
    }
  }
}

TEST(PathPropertyTest, SameFactsInAnyOrderGiveTheSameVisitsAndAdvanceAgrees) {
  RandomJourneys random(20250101, kEnter);
  int moved = 0;
  for (int iteration = 0; iteration < 300; ++iteration) {
    SCOPED_TRACE(absl::StrCat("iteration ", iteration));
    const v1::Journey journey = random.Journey();
    std::vector<Fact> facts = random.Facts(journey);
    const std::vector<Visit> expected = DerivePath(journey, kEnter, facts);
    ExpectWellFormed(journey, expected);
    moved += static_cast<int>(expected.size()) - 1;

    for (int shuffle = 0; shuffle < 3; ++shuffle) {
      std::shuffle(facts.begin(), facts.end(), random.rng());
      ASSERT_EQ(DerivePath(journey, kEnter, facts), expected) << journey.DebugString();
    }

    std::sort(facts.begin(), facts.end(), InOrder);
    std::vector<Visit> visits = DerivePath(journey, kEnter, {});
    for (size_t i = 0; i < facts.size(); ++i) {
      const size_t before = visits.size();
      const bool advanced = Advance(journey, facts[i], visits);
      EXPECT_EQ(advanced, visits.size() == before + 1);
      ASSERT_EQ(visits, DerivePath(journey, kEnter, std::span(facts).first(i + 1)))
          << journey.DebugString() << "\nfact " << facts[i].DebugString();
    }
    EXPECT_EQ(visits, expected);
  }
  // The generator must exercise moves, or the properties hold vacuously.
  EXPECT_GT(moved, 300);
}

}  // namespace
}  // namespace touchline::journeys
