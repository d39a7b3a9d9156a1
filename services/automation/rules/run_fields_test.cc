#include "services/automation/rules/run_fields.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/auth/testing/trusted_authenticator.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "services/automation/rules/conditions.h"
#include "services/automation/rules/templates.h"
#include "services/automation/rules/testing/sample_rule.h"

namespace touchline::automation {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Key;
using testing::TextValue;
using type::v1::CustomValue;
namespace cv1 = ::touchline::contacts::v1;
namespace tv1 = ::touchline::touchpoints::v1;

// An int_value.
CustomValue Int(int64_t n) {
  CustomValue number;
  number.set_int_value(n);
  return number;
}

// `field`'s value as a template shows it; "<absent>" when it has none.
std::string Shown(const FieldValues& values, std::string_view field) {
  const FieldValue* value = FindValue(values, field);
  return value == nullptr ? "<absent>" : FormatValue(*value);
}

std::vector<std::string> NamesOf(const FieldValues& values) {
  std::vector<std::string> names;
  for (const auto& [name, value] : values) names.push_back(name);
  return names;
}

TEST(CustomerFieldValuesTest, NamesEveryFieldAsTheCatalogueDoes) {
  cv1::Customer customer;
  customer.set_customer_id("5d0c2a4e-8f1b-4c3d-9e7a-1b2c3d4e5f60");
  customer.set_display_name("深圳腾飞科技");
  customer.set_region("华南");
  customer.set_level(cv1::CUSTOMER_LEVEL_VIP);
  customer.set_lifecycle_status(cv1::LIFECYCLE_STATUS_HIGH_INTENT);
  customer.set_owner_id("u-17");
  customer.add_tags("展会线索");
  customer.add_tags("重点");
  (*customer.mutable_custom_fields())["lead_score"] = Int(42);
  (*customer.mutable_custom_fields())["行业"] = TextValue("制造");
  (*customer.mutable_custom_fields())["empty"] = CustomValue();
  const FieldValues values = CustomerFieldValues(customer);
  EXPECT_THAT(NamesOf(values),
              ElementsAre("customer.custom_fields.lead_score", "customer.custom_fields.行业",
                          "customer.display_name", "customer.level", "customer.lifecycle_status",
                          "customer.owner_id", "customer.region", "customer.tags"));
  EXPECT_EQ(Shown(values, "customer.level"), "CUSTOMER_LEVEL_VIP");
  EXPECT_EQ(Shown(values, "customer.lifecycle_status"), "LIFECYCLE_STATUS_HIGH_INTENT");
  EXPECT_EQ(Shown(values, "customer.region"), "华南");
  EXPECT_EQ(Shown(values, "customer.display_name"), "深圳腾飞科技");
  EXPECT_EQ(Shown(values, "customer.tags"), "展会线索, 重点");
  EXPECT_EQ(Shown(values, "customer.custom_fields.lead_score"), "42");
  for (const auto& [name, value] : values) {
    // Every name but the non-catalogue custom key is one a rule may name.
    if (name != "customer.custom_fields.行业") {
      EXPECT_NE(FindField(name), nullptr) << name;
    }
  }
}

TEST(CustomerFieldValuesTest, LeavesOutWhatIsAbsent) {
  cv1::Customer customer;
  customer.set_level(static_cast<cv1::CustomerLevel>(99));  // A number this build lacks.
  EXPECT_THAT(CustomerFieldValues(customer), IsEmpty());
}

TEST(CustomerFieldValuesTest, ConditionsReadThem) {
  cv1::Customer customer;
  customer.set_level(cv1::CUSTOMER_LEVEL_VIP);
  customer.add_tags("投诉客户");
  v1::Condition condition;
  v1::ConditionGroup& group = *condition.add_any_of();
  v1::Comparison& level = *group.add_all_of();
  level.set_field("customer.level");
  level.set_operator_(v1::OPERATOR_EQUALS);
  *level.add_values() = TextValue("CUSTOMER_LEVEL_VIP");
  v1::Comparison& tags = *group.add_all_of();
  tags.set_field("customer.tags");
  tags.set_operator_(v1::OPERATOR_CONTAINS);
  *tags.add_values() = TextValue("投诉客户");
  v1::Comparison& region = *group.add_all_of();
  region.set_field("customer.region");
  region.set_operator_(v1::OPERATOR_NOT_EXISTS);
  EXPECT_TRUE(Evaluate(condition, CustomerFieldValues(customer), {}).holds);
  customer.set_level(cv1::CUSTOMER_LEVEL_KEY);
  EXPECT_FALSE(Evaluate(condition, CustomerFieldValues(customer), {}).holds);
}

// A complaint call with every field the catalogue names, and one it does not (content).
tv1::Touchpoint Complaint() {
  tv1::Touchpoint touchpoint;
  touchpoint.set_channel(tv1::CHANNEL_PHONE);
  touchpoint.set_direction(tv1::DIRECTION_INBOUND);
  touchpoint.set_category(tv1::CATEGORY_SERVICE);
  touchpoint.set_outcome(tv1::OUTCOME_FOLLOW_UP_NEEDED);
  touchpoint.set_sentiment(tv1::SENTIMENT_NEGATIVE);
  touchpoint.add_tags("退货");
  touchpoint.set_summary("客户投诉交付太慢");
  touchpoint.set_content("not in the catalogue");
  *touchpoint.mutable_occur_time() = TimeUtil::SecondsToTimestamp(1796601600);
  (*touchpoint.mutable_custom_attributes())["OrderNo"] = TextValue("SO-2026-订单");
  return touchpoint;
}

TEST(TouchpointFieldValuesTest, NamesEveryFieldAsTheCatalogueDoes) {
  const FieldValues values = TouchpointFieldValues(Complaint());
  EXPECT_THAT(NamesOf(values),
              ElementsAre("touchpoint.category", "touchpoint.channel",
                          "touchpoint.custom_attributes.OrderNo", "touchpoint.direction",
                          "touchpoint.occur_time", "touchpoint.outcome", "touchpoint.sentiment",
                          "touchpoint.summary", "touchpoint.tags"));
  for (const auto& [name, value] : values) EXPECT_NE(FindField(name), nullptr) << name;
  EXPECT_EQ(Shown(values, "touchpoint.channel"), "CHANNEL_PHONE");
  EXPECT_EQ(Shown(values, "touchpoint.sentiment"), "SENTIMENT_NEGATIVE");
  EXPECT_EQ(Shown(values, "touchpoint.occur_time"), "2026-12-07T00:00:00Z");
  EXPECT_EQ(Shown(values, "touchpoint.custom_attributes.OrderNo"), "SO-2026-订单");
  EXPECT_EQ(Render("{{touchpoint.summary}}（{{touchpoint.tags}}）", values),
            "客户投诉交付太慢（退货）");
}

TEST(TouchpointFieldValuesTest, LeavesOutWhatIsAbsent) {
  EXPECT_THAT(TouchpointFieldValues(tv1::Touchpoint()), IsEmpty());
}

TEST(TriggerEventValuesTest, ReadsFieldsAndListFieldsAndWritesThemBack) {
  cv1::Customer customer;
  customer.set_display_name("杭州云栖");
  customer.set_level(cv1::CUSTOMER_LEVEL_KEY);
  customer.add_tags("重点");
  (*customer.mutable_custom_fields())["lead_score"] = Int(7);
  tv1::Touchpoint touchpoint;
  touchpoint.set_summary("想了解报价");
  touchpoint.add_tags("报价");
  touchpoint.add_tags("白皮书");
  FieldValues values = CustomerFieldValues(customer);
  values.merge(TouchpointFieldValues(touchpoint));
  values.emplace("change.field", TextValue("level"));
  values.emplace("touchpoint.custom_attributes.none", CustomValue());               // Absent.
  values.emplace("customer.custom_fields.empty_list", std::vector<std::string>());  // Absent.

  v1::TriggerEvent event;
  (*event.mutable_fields())["stale"] = TextValue("replaced");
  SetTriggerEventValues(values, event);
  EXPECT_THAT(event.fields(), ::testing::SizeIs(5));
  EXPECT_THAT(event.list_fields(), ::testing::SizeIs(2));
  EXPECT_EQ(event.fields().count("stale"), 0u);
  EXPECT_EQ(event.fields().at("customer.display_name").string_value(), "杭州云栖");
  EXPECT_EQ(event.fields().at("customer.custom_fields.lead_score").int_value(), 7);
  EXPECT_THAT(event.list_fields().at("touchpoint.tags").values(), ElementsAre("报价", "白皮书"));

  const FieldValues read = TriggerEventValues(event);
  EXPECT_THAT(NamesOf(read), ElementsAre("change.field", "customer.custom_fields.lead_score",
                                         "customer.display_name", "customer.level", "customer.tags",
                                         "touchpoint.summary", "touchpoint.tags"));
  for (const auto& [name, value] : read) {
    EXPECT_EQ(FormatValue(value), FormatValue(values.at(name))) << name;
  }
  // What the event carries empty stays absent.
  (*event.mutable_fields())["customer.region"] = CustomValue();
  (*event.mutable_list_fields())["customer.tags"].clear_values();
  EXPECT_THAT(TriggerEventValues(event),
              ::testing::Not(::testing::Contains(Key("customer.region"))));
  EXPECT_THAT(TriggerEventValues(event), ::testing::Not(::testing::Contains(Key("customer.tags"))));
}

// The same names with the same values as a template shows them.
void ExpectSameValues(const FieldValues& actual, const FieldValues& expected) {
  EXPECT_EQ(NamesOf(actual), NamesOf(expected));
  for (const auto& [name, value] : expected) {
    EXPECT_EQ(Shown(actual, name), FormatValue(value)) << name;
  }
}

TEST(CustomerOfTest, GivesBackTheCustomerTheValuesDescribe) {
  cv1::Customer customer;
  customer.set_display_name("深圳腾飞科技");
  customer.set_region("华南");
  customer.set_level(cv1::CUSTOMER_LEVEL_VIP);
  customer.set_lifecycle_status(cv1::LIFECYCLE_STATUS_HIGH_INTENT);
  customer.set_owner_id("u-17");
  customer.add_tags("展会线索");
  (*customer.mutable_custom_fields())["lead_score"] = Int(42);
  (*customer.mutable_custom_fields())["行业"] = TextValue("制造");
  FieldValues values = CustomerFieldValues(customer);
  values.emplace("stage.stage_id", TextValue("won"));  // not the customer's: ignored
  ExpectSameValues(CustomerFieldValues(CustomerOf(values)), CustomerFieldValues(customer));
  EXPECT_THAT(CustomerFieldValues(CustomerOf(FieldValues())), IsEmpty());
}

TEST(TouchpointOfTest, GivesBackTheTouchpointTheValuesDescribe) {
  const FieldValues values = TouchpointFieldValues(Complaint());
  ExpectSameValues(TouchpointFieldValues(TouchpointOf(values)), values);
}

TEST(ShownToTest, HidesAndMasksThroughTheFieldPoliciesAndKeepsTheRest) {
  permissions::v1::EffectiveScope proto = auth::testing::AdminScope("acme", "u-1");
  *proto.add_field_rules() =
      auth::testing::FieldRuleOf("touchpoint", "summary", permissions::v1::FIELD_ACCESS_HIDDEN);
  *proto.add_field_rules() =
      auth::testing::FieldRuleOf("customer", "tags", permissions::v1::FIELD_ACCESS_MASKED,
                                 permissions::v1::MASK_PATTERN_PARTIAL);
  const auto scope = auth::Scope::Compile(proto);
  ASSERT_TRUE(scope.ok()) << scope.status();
  FieldValues values = TouchpointFieldValues(Complaint());
  values.merge(FieldValues{{"customer.tags", std::vector<std::string>{"重点客户"}},
                           {"customer.region", TextValue("华南")},
                           {"stage.stage_id", TextValue("won")}});
  const FieldValues shown = ShownTo(**scope, values);
  EXPECT_EQ(Shown(shown, "touchpoint.summary"), "<absent>");
  EXPECT_EQ(Shown(shown, "customer.tags"), "重***");
  EXPECT_EQ(Shown(shown, "customer.region"), "华南");
  EXPECT_EQ(Shown(shown, "touchpoint.channel"), "CHANNEL_PHONE");
  EXPECT_EQ(Shown(shown, "stage.stage_id"), "won");

  v1::ComparisonResult summary;
  summary.set_field("touchpoint.summary");
  *summary.mutable_value() = TextValue("客户投诉交付太慢");
  ShowTo(**scope, summary);
  EXPECT_FALSE(summary.has_value());
  v1::ComparisonResult tags;
  tags.set_field("customer.tags");
  *tags.mutable_value() = TextValue("重点, 展会");
  ShowTo(**scope, tags);
  EXPECT_EQ(tags.value().string_value(), "重*****");
  v1::ComparisonResult region;
  region.set_field("customer.region");
  *region.mutable_value() = TextValue("华南");
  ShowTo(**scope, region);
  EXPECT_EQ(region.value().string_value(), "华南");
}

}  // namespace
}  // namespace touchline::automation
