#include "services/automation/rules/templates.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace touchline::automation {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using type::v1::CustomValue;

using Violations = std::vector<std::pair<std::string, std::string>>;
using Tags = std::vector<std::string>;

constexpr char kPath[] = "rule.actions[0].create_task.title_template";

// A value from its text format ("int_value: -42").
CustomValue Value(const std::string& text_format) {
  CustomValue value;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text_format, &value)) << text_format;
  return value;
}

CustomValue Text(const std::string& text) {
  CustomValue value;
  value.set_string_value(text);
  return value;
}

v1::Trigger TouchpointRecorded() {
  v1::Trigger trigger;
  trigger.mutable_touchpoint_recorded();
  return trigger;
}

v1::Trigger Inactivity() {
  v1::Trigger trigger;
  trigger.mutable_inactivity()->mutable_after()->set_seconds(7 * 24 * 3600);
  return trigger;
}

Violations Check(std::string_view text, const v1::Trigger& trigger = TouchpointRecorded()) {
  status::FieldViolations violations;
  CheckTemplate(text, trigger, kPath, violations);
  return status::FieldViolationsOf(violations.ToStatus());
}

TEST(ParseTemplateTest, FindsPlaceholdersWithCharacterPositions) {
  const std::string text = "跟进 {{ customer.display_name }}：{{touchpoint.summary}} }} 完";
  const ParsedTemplate parsed = ParseTemplate(text);
  ASSERT_EQ(parsed.placeholders.size(), 2u);
  EXPECT_EQ(parsed.placeholders[0].field, "customer.display_name");
  EXPECT_EQ(parsed.placeholders[0].position, 4u);
  EXPECT_EQ(text.substr(parsed.placeholders[0].offset, parsed.placeholders[0].length),
            "{{ customer.display_name }}");
  EXPECT_EQ(parsed.placeholders[1].field, "touchpoint.summary");
  // 跟进 + space (3) + the first placeholder (27) + ： (1): the second starts at 32.
  EXPECT_EQ(parsed.placeholders[1].position, 32u);
  EXPECT_EQ(text.substr(parsed.placeholders[1].offset, parsed.placeholders[1].length),
            "{{touchpoint.summary}}");
  EXPECT_FALSE(parsed.unterminated_at.has_value());
}

TEST(ParseTemplateTest, AnOpeningWithoutClosingIsUnterminated) {
  const ParsedTemplate parsed = ParseTemplate("客户 {{customer.region}} 的 {{ customer.level");
  ASSERT_EQ(parsed.placeholders.size(), 1u);
  ASSERT_TRUE(parsed.unterminated_at.has_value());
  EXPECT_EQ(*parsed.unterminated_at, 26u);
  EXPECT_THAT(ParseTemplate("没有占位符 }}").placeholders, IsEmpty());
}

TEST(CheckTemplateTest, AcceptsFieldsTheTriggerSets) {
  EXPECT_THAT(Check("跟进 {{ customer.display_name }}：{{touchpoint.summary}} "
                    "({{touchpoint.custom_attributes.Plan}}, {{customer.custom_fields.budget}})"),
              IsEmpty());
  EXPECT_THAT(Check(""), IsEmpty());
  EXPECT_THAT(Check("{{customer.owner_id}} 七天未联系 {{ customer.display_name }}", Inactivity()),
              IsEmpty());
}

TEST(CheckTemplateTest, UnknownFieldsWithTheirPositions) {
  EXPECT_THAT(Check("客户{{ customer.levle }}：{{customer.custom_fields.Budget}}"),
              ElementsAre(Pair(kPath,
                               "placeholder at character 3: customer.levle is not a known "
                               "field"),
                          Pair(kPath,
                               "placeholder at character 24: "
                               "customer.custom_fields.Budget is not a known field: custom "
                               "field keys are 1 to 64 characters of a-z, 0-9 and _, "
                               "starting with a letter")));
  EXPECT_THAT(Check("空的 {{ }}"),
              ElementsAre(Pair(kPath, "placeholder at character 4 names no field")));
}

TEST(CheckTemplateTest, FieldsTheTriggerDoesNotSet) {
  EXPECT_THAT(Check("跟进：{{touchpoint.summary}}", Inactivity()),
              ElementsAre(Pair(kPath,
                               "placeholder at character 4: touchpoint.summary is only set "
                               "for touchpoint_recorded triggers")));
}

TEST(CheckTemplateTest, UnterminatedAndIllFormed) {
  EXPECT_THAT(Check("跟进 {{customer.display_name}} 与 {{ customer.region"),
              ElementsAre(Pair(kPath, "\"{{\" at character 32 is not closed with \"}}\"")));
  EXPECT_THAT(Check("跟进 \xe8 {{customer.nope}}"),
              ElementsAre(Pair(kPath, "must be valid UTF-8")));
}

TEST(RenderTest, FillsInValuesAroundChineseText) {
  const FieldValues values = {{"customer.display_name", Text("深圳腾飞")},
                              {"touchpoint.summary", Text("客户投诉：发货慢")},
                              {"customer.level", Text("CUSTOMER_LEVEL_VIP")}};
  EXPECT_EQ(
      Render("跟进 {{ customer.display_name }}（{{customer.level}}）：{{touchpoint.summary}}。",
             values),
      "跟进 深圳腾飞（CUSTOMER_LEVEL_VIP）：客户投诉：发货慢。");
}

TEST(RenderTest, MissingFieldsAreEmptyAndUnterminatedTextStays) {
  EXPECT_EQ(Render("[{{customer.region}}] {{ customer.custom_fields.plan }}!", {}), "[] !");
  EXPECT_EQ(Render("[{{customer.region}}]", {{"customer.region", CustomValue()}}), "[]");
  EXPECT_EQ(Render("{{customer.region}} {{ customer.owner_id", {{"customer.region", Text("华北")}}),
            "华北 {{ customer.owner_id");
  EXPECT_EQ(Render("no placeholders }}", {}), "no placeholders }}");
}

TEST(RenderTest, FormatsEveryKind) {
  const FieldValues values = {
      {"a", Value("int_value: -42")},
      {"b", Value("double_value: 0.1")},
      {"c", Value("double_value: 1e21")},
      {"d", Value("timestamp_value { seconds: 1796631000 }")},
      {"e", Value("timestamp_value { seconds: 1796631000 nanos: 250000000 }")},
      {"f", Tags{"展会线索", "VIP"}},
      {"g", Value("bool_value: true")},
  };
  EXPECT_EQ(Render("{{a}}|{{b}}|{{c}}|{{d}}|{{e}}|{{f}}|{{g}}", values),
            "-42|0.1|1e+21|2026-12-07T08:10:00Z|2026-12-07T08:10:00.25Z|展会线索, VIP|true");
}

TEST(RenderTest, JsonEscapingKeepsChineseAndEscapesTheRest) {
  const FieldValues values = {
      {"customer.display_name", Text("深圳\"腾飞\"\\科技")},
      {"touchpoint.summary", Text("第一行\n第二行\t完\x01")},
  };
  const std::string payload =
      Render(R"({"name": "{{customer.display_name}}", "summary": "{{ touchpoint.summary }}"})",
             values, Escaping::kJsonString);
  EXPECT_EQ(payload, R"({"name": "深圳\"腾飞\"\\科技", "summary": "第一行\n第二行\t完\u0001"})");
  const nlohmann::json parsed = nlohmann::json::parse(payload);
  EXPECT_EQ(parsed["name"], "深圳\"腾飞\"\\科技");
  EXPECT_EQ(parsed["summary"], "第一行\n第二行\t完\x01");
  // Without escaping, the value goes in as it is.
  EXPECT_EQ(Render("{{customer.display_name}}", values), "深圳\"腾飞\"\\科技");
}

TEST(RenderTest, JsonEscapingReplacesIllFormedUtf8) {
  EXPECT_EQ(Render("\"{{x}}\"", {{"x", Text("投\xff诉")}}, Escaping::kJsonString),
            "\"投\xef\xbf\xbd诉\"");
}

}  // namespace
}  // namespace touchline::automation
