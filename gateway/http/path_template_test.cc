#include "gateway/http/path_template.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::gateway::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::Pair;
using ::touchline::testing::StatusIs;
using Kind = PathTemplate::Segment::Kind;

PathTemplate MustParse(const std::string& text) {
  absl::StatusOr<PathTemplate> path = PathTemplate::Parse(text);
  EXPECT_TRUE(path.ok()) << path.status();
  return *std::move(path);
}

TEST(PathTemplateTest, ParsesLiteralsAndVariable) {
  const PathTemplate path = MustParse("/v1/customers/{customer_id}/touchpoints");
  EXPECT_EQ(path.text(), "/v1/customers/{customer_id}/touchpoints");
  ASSERT_EQ(path.segments().size(), 4u);
  EXPECT_EQ(path.segments()[0].kind, Kind::kLiteral);
  EXPECT_EQ(path.segments()[0].literal, "v1");
  EXPECT_EQ(path.segments()[2].kind, Kind::kAny);
  EXPECT_EQ(path.segments()[3].literal, "touchpoints");
  ASSERT_EQ(path.variables().size(), 1u);
  EXPECT_EQ(path.variables()[0].field_path, "customer_id");
  EXPECT_EQ(path.variables()[0].first, 2u);
  EXPECT_EQ(path.variables()[0].end, 3u);
  EXPECT_EQ(path.verb(), "");
  EXPECT_EQ(path.Shape(), "/v1/customers/*/touchpoints");
}

TEST(PathTemplateTest, ParsesVariablePatternWildcardsAndVerb) {
  const PathTemplate path = MustParse("/v1/{name=customers/*/files/**}:download");
  EXPECT_EQ(path.Shape(), "/v1/customers/*/files/**:download");
  EXPECT_EQ(path.verb(), "download");
  ASSERT_EQ(path.variables().size(), 1u);
  EXPECT_EQ(path.variables()[0].field_path, "name");
  EXPECT_EQ(path.variables()[0].first, 1u);
  EXPECT_EQ(path.variables()[0].end, 5u);
  EXPECT_EQ(path.segments()[4].kind, Kind::kRest);
}

TEST(PathTemplateTest, ParsesNestedFieldPathAndBareWildcards) {
  EXPECT_EQ(MustParse("/v1/customers/{customer.customer_id}").variables()[0].field_path,
            "customer.customer_id");
  EXPECT_EQ(MustParse("/v1/*/x/**").Shape(), "/v1/*/x/**");
  EXPECT_EQ(MustParse("/v1/customers:batchGet").Shape(), "/v1/customers:batchGet");
}

TEST(PathTemplateTest, RejectsMalformedTemplatesNamingThem) {
  const struct {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "must start with '/'"},
      {"v1/customers", "must start with '/'"},
      {"/", "expected a segment"},
      {"/v1//customers", "expected a segment"},
      {"/v1/customers/", "expected a segment"},
      {"/v1/{customer_id", "expected '}'"},
      {"/v1/{}", "expected a field name"},
      {"/v1/{1abc}", "expected a field name"},
      {"/v1/{customer.}", "expected a field name"},
      {"/v1/{a={b}}", "variables must not nest"},
      {"/v1/{a}/{a}", "field bound twice"},
      {"/v1/**/x", "\"**\" must be the last segment"},
      {"/v1/{name=**}/x", "\"**\" must be the last segment"},
      {"/v1/customers:", "expected a verb after ':'"},
      {"/v1/customers:a:b", "unexpected character"},
      {"/v1/cust omers", "unexpected character"},
      {"/v1/***", "unexpected character"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(
        PathTemplate::Parse(c.text),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 HasSubstr("invalid path template \"" + std::string(c.text) + "\": " + c.reason)))
        << c.text;
  }
}

TEST(PathTemplateTest, ErrorSaysWhere) {
  EXPECT_THAT(PathTemplate::Parse("/v1/{customer_id"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "invalid path template \"/v1/{customer_id\": expected '}' at offset 16"));
}

TEST(PathTemplateTest, MatchesLiteralsAndBindsVariable) {
  const PathTemplate path = MustParse("/v1/customers/{customer_id}");
  EXPECT_THAT(path.Match("/v1/customers/c-1"), Optional(ElementsAre(Pair("customer_id", "c-1"))));
  EXPECT_EQ(path.Match("/v1/customers"), std::nullopt);
  EXPECT_EQ(path.Match("/v1/customers/"), std::nullopt);
  EXPECT_EQ(path.Match("/v1/customers/c-1/x"), std::nullopt);
  EXPECT_EQ(path.Match("/v2/customers/c-1"), std::nullopt);
  EXPECT_EQ(path.Match("v1/customers/c-1"), std::nullopt);
  EXPECT_EQ(path.Match(""), std::nullopt);
}

TEST(PathTemplateTest, TemplateWithoutLiteralMatchesOnlyItsShape) {
  const PathTemplate path = MustParse("/v1/customers");
  EXPECT_THAT(path.Match("/v1/customers"), Optional(IsEmpty()));
  EXPECT_EQ(path.Match("/v1/customers:batchGet"), std::nullopt);
}

TEST(PathTemplateTest, PercentDecodesChineseValues) {
  const PathTemplate path = MustParse("/v1/cities/{city}");
  EXPECT_THAT(path.Match("/v1/cities/%E5%8C%97%E4%BA%AC"),
              Optional(ElementsAre(Pair("city", "北京"))));
  EXPECT_THAT(path.Match("/v1/cities/%e5%8c%97%e4%ba%ac"),
              Optional(ElementsAre(Pair("city", "北京"))));
  // Unescaped UTF-8 passes through as is.
  EXPECT_THAT(path.Match("/v1/cities/北京"), Optional(ElementsAre(Pair("city", "北京"))));
}

TEST(PathTemplateTest, SingleSegmentVariableDecodesSlashButMultiSegmentKeepsIt) {
  EXPECT_THAT(MustParse("/v1/files/{name}").Match("/v1/files/a%2Fb%20c"),
              Optional(ElementsAre(Pair("name", "a/b c"))));
  EXPECT_THAT(MustParse("/v1/{name=files/**}").Match("/v1/files/a%2Fb/c%20d"),
              Optional(ElementsAre(Pair("name", "files/a%2Fb/c d"))));
}

TEST(PathTemplateTest, KeepsMalformedEscapesVerbatim) {
  EXPECT_THAT(MustParse("/v1/files/{name}").Match("/v1/files/100%25%zz%4"),
              Optional(ElementsAre(Pair("name", "100%%zz%4"))));
}

TEST(PathTemplateTest, DoubleWildcardMatchesZeroOrMoreSegments) {
  const PathTemplate path = MustParse("/v1/{name=customers/*/attachments/**}");
  EXPECT_THAT(path.Match("/v1/customers/c1/attachments/2024/05/contract.pdf"),
              Optional(ElementsAre(Pair("name", "customers/c1/attachments/2024/05/contract.pdf"))));
  EXPECT_THAT(path.Match("/v1/customers/c1/attachments"),
              Optional(ElementsAre(Pair("name", "customers/c1/attachments"))));
  EXPECT_EQ(path.Match("/v1/customers/c1/notes/x"), std::nullopt);
  EXPECT_EQ(path.Match("/v1/customers/c1"), std::nullopt);
}

TEST(PathTemplateTest, BindsSeveralVariablesInTemplateOrder) {
  EXPECT_THAT(
      MustParse("/v1/{customer.customer_id}/addresses/{address.city=*}")
          .Match("/v1/c1/addresses/%E4%B8%8A%E6%B5%B7"),
      Optional(ElementsAre(Pair("customer.customer_id", "c1"), Pair("address.city", "上海"))));
}

TEST(PathTemplateTest, VerbTemplateMatchesOnlyPathsWithThatVerb) {
  const PathTemplate path = MustParse("/v1/customers/{customer_id}:undelete");
  EXPECT_THAT(path.Match("/v1/customers/c1:undelete"),
              Optional(ElementsAre(Pair("customer_id", "c1"))));
  // The verb is the text after the last ':', so an id may hold one.
  EXPECT_THAT(path.Match("/v1/customers/a:b:undelete"),
              Optional(ElementsAre(Pair("customer_id", "a:b"))));
  EXPECT_EQ(path.Match("/v1/customers/c1"), std::nullopt);
  EXPECT_EQ(path.Match("/v1/customers/c1:delete"), std::nullopt);
  EXPECT_EQ(path.Match("/v1/customers/c1xundelete"), std::nullopt);
  EXPECT_EQ(path.Match("/v1/customers/:undelete"), std::nullopt);
}

TEST(PathTemplateTest, TemplateWithoutVerbBindsColonAsPartOfValue) {
  EXPECT_THAT(MustParse("/v1/customers/{customer_id}").Match("/v1/customers/c1:undelete"),
              Optional(ElementsAre(Pair("customer_id", "c1:undelete"))));
}

TEST(PathTemplateTest, MoreSpecificPrefersVerbThenLiteralThenWildcard) {
  const PathTemplate verb = MustParse("/v1/customers/{customer_id}:undelete");
  const PathTemplate variable = MustParse("/v1/customers/{customer_id}");
  const PathTemplate literal = MustParse("/v1/customers/me");
  const PathTemplate rest = MustParse("/v1/customers/{name=**}");
  EXPECT_TRUE(verb.MoreSpecificThan(variable));
  EXPECT_FALSE(variable.MoreSpecificThan(verb));
  EXPECT_TRUE(literal.MoreSpecificThan(variable));
  EXPECT_FALSE(variable.MoreSpecificThan(literal));
  EXPECT_TRUE(variable.MoreSpecificThan(rest));
  EXPECT_FALSE(rest.MoreSpecificThan(variable));
  EXPECT_FALSE(variable.MoreSpecificThan(variable));
}

}  // namespace
}  // namespace touchline::gateway::http
