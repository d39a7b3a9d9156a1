#include "gateway/http/transcoder.h"

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "touchline/testing/http/v1/customer_test_service.pb.h"

namespace touchline::gateway::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::touchline::testing::StatusIs;
namespace testpb = ::touchline::testing::http::v1;

// Matches a message equal to the text-format message `text`.
MATCHER_P(EqualsProto, text, "equals " + std::string(text)) {
  std::remove_cvref_t<decltype(arg)> expected;
  if (!google::protobuf::TextFormat::ParseFromString(text, &expected)) {
    *result_listener << "expected text does not parse";
    return false;
  }
  *result_listener << "is " << arg.ShortDebugString();
  return google::protobuf::util::MessageDifferencer::Equals(arg, expected);
}

// Matches an OK StatusOr whose value matches `matcher`. (Our status_matchers.h has none.)
MATCHER_P(IsOkAndHolds, matcher, "") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

// The BadRequest field violations of a failed Status or StatusOr.
template <typename T>
std::vector<std::pair<std::string, std::string>> Violations(const T& result) {
  return status::FieldViolationsOf(::touchline::testing::GetStatus(result));
}

class TranscoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RouteTable> table =
        RouteTable::Build({testpb::Customer::descriptor()->file()->service(0)->full_name()});
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = *std::move(table);
  }

  // The request `http_method` `path` with `query` and `body` transcodes to.
  template <typename Request>
  absl::StatusOr<Request> Transcode(const std::string& http_method, const std::string& path,
                                    const QueryParameters& query = {},
                                    const std::string& body = "") {
    TL_ASSIGN_OR_RETURN(const RouteMatch match, table_.Find(http_method, path));
    if (match.route == nullptr) return absl::UnimplementedError("no route of that method");
    Request request;
    TL_RETURN_IF_ERROR(BuildRequest(*match.route, match.bindings, query, body, &request));
    return request;
  }

  const Route& RouteOf(const std::string& rpc) {
    for (const Route& route : table_.routes()) {
      if (route.method->name() == rpc) return route;
    }
    ADD_FAILURE() << "no route for " << rpc;
    return table_.routes().front();
  }

  RouteTable table_;
};

TEST_F(TranscoderTest, PathVariableSetsItsField) {
  EXPECT_THAT(Transcode<testpb::GetCustomerRequest>("GET", "/v1/customers/c1"),
              IsOkAndHolds(EqualsProto(R"pb(customer_id: "c1")pb")));
}

TEST_F(TranscoderTest, PercentDecodedChinesePathValueReachesTheField) {
  TL_ASSERT_OK_AND_ASSIGN(const auto request, Transcode<testpb::GetCustomerRequest>(
                                                  "GET", "/v1/customers/%E5%8C%97%E4%BA%AC"));
  EXPECT_EQ(request.customer_id(), "北京");
}

TEST_F(TranscoderTest, QueryParametersOfEveryKind) {
  TL_ASSERT_OK_AND_ASSIGN(const auto request, Transcode<testpb::ListCustomersRequest>(
                                                  "GET", "/v1/customers",
                                                  {{"page_size", "20"},
                                                   {"pageToken", "tok"},
                                                   {"show_deleted", "true"},
                                                   {"minLifetimeValueCents", "9007199254740993"},
                                                   {"tiers", "TIER_GOLD"},
                                                   {"tiers", "1"},
                                                   {"created_after", "2024-05-01T08:00:00+08:00"},
                                                   {"idleFor", "1.5s"},
                                                   {"read_mask", "displayName,address.city"},
                                                   {"filter.city", "北京"},
                                                   {"filter.tier", "TIER_BRONZE"},
                                                   {"vip", "false"},
                                                   {"minScore", "0.25"}}));
  EXPECT_THAT(request, EqualsProto(R"pb(
                page_size: 20
                page_token: "tok"
                show_deleted: true
                min_lifetime_value_cents: 9007199254740993
                tiers: [ TIER_GOLD, TIER_BRONZE ]
                created_after { seconds: 1714521600 }
                idle_for { seconds: 1 nanos: 500000000 }
                read_mask { paths: [ "display_name", "address.city" ] }
                filter { city: "北京" tier: TIER_BRONZE }
                vip { value: false }
                min_score: 0.25
              )pb"));
  EXPECT_TRUE(request.has_vip());
}

TEST_F(TranscoderTest, FieldMaskTakesProtoFieldNamesToo) {
  TL_ASSERT_OK_AND_ASSIGN(const auto request,
                          Transcode<testpb::ListCustomersRequest>(
                              "GET", "/v1/customers", {{"readMask", "display_name,tier"}}));
  EXPECT_THAT(request.read_mask().paths(), ElementsAre("display_name", "tier"));
}

TEST_F(TranscoderTest, RepeatedParameterTakesEveryValueInOrder) {
  TL_ASSERT_OK_AND_ASSIGN(
      const auto request,
      Transcode<testpb::BatchGetCustomersRequest>(
          "GET", "/v1/customers:batchGet",
          {{"customer_ids", "a"}, {"customer_ids", "北京"}, {"customerIds", "c"}}));
  EXPECT_THAT(request.customer_ids(), ElementsAre("a", "北京", "c"));
}

TEST_F(TranscoderTest, WholeBodyIsTheRequest) {
  TL_ASSERT_OK_AND_ASSIGN(const auto request,
                          Transcode<testpb::CreateCustomerRequest>(
                              "POST", "/v1/customers", {},
                              R"({"customer": {"displayName": "张三", "tier": "TIER_GOLD",
              "tags": ["重要", "\u5317\u4eac", "\ud83d\ude00"],
              "address": {"city": "北京"}, "lifetime_value_cents": "42"},
              "request_id": "r1"})"));
  EXPECT_THAT(request, EqualsProto(R"pb(
                customer {
                  display_name: "张三"
                  tier: TIER_GOLD
                  tags: [ "重要", "北京", "😀" ]
                  address { city: "北京" }
                  lifetime_value_cents: 42
                }
                request_id: "r1"
              )pb"));
}

TEST_F(TranscoderTest, EmptyBodyIsAnEmptyObject) {
  EXPECT_THAT(Transcode<testpb::CreateCustomerRequest>("POST", "/v1/customers"),
              IsOkAndHolds(EqualsProto("")));
  EXPECT_THAT(Transcode<testpb::CreateCustomerRequest>("POST", "/v1/customers", {}, " \r\n"),
              IsOkAndHolds(EqualsProto("")));
}

TEST_F(TranscoderTest, BodyFieldWithNestedPathVariableAndQueryMask) {
  TL_ASSERT_OK_AND_ASSIGN(
      const auto request,
      Transcode<testpb::UpdateCustomerRequest>(
          "PATCH", "/v1/customers/c1", {{"update_mask", "displayName,tier"}, {"etag", "e1"}},
          R"({"customerId": "other", "displayName": "李四", "tier": "TIER_GOLD"})"));
  // The path names the resource; an id in the body does not redirect the update.
  EXPECT_THAT(request, EqualsProto(R"pb(
                customer { customer_id: "c1" display_name: "李四" tier: TIER_GOLD }
                update_mask { paths: [ "display_name", "tier" ] }
                etag: "e1"
              )pb"));
}

TEST_F(TranscoderTest, VerbRouteTakesPathAndBody) {
  EXPECT_THAT(Transcode<testpb::UndeleteCustomerRequest>("POST", "/v1/customers/c1:undelete", {},
                                                         R"({"etag": "e1"})"),
              IsOkAndHolds(EqualsProto(R"pb(customer_id: "c1" etag: "e1")pb")));
}

TEST_F(TranscoderTest, AdditionalBindingTakesTheFieldFromTheQuery) {
  EXPECT_THAT(Transcode<testpb::ListTouchpointsRequest>("GET", "/v1/touchpoints",
                                                        {{"customer_id", "c1"}, {"pageSize", "5"}}),
              IsOkAndHolds(EqualsProto(R"pb(customer_id: "c1" page_size: 5)pb")));
}

TEST_F(TranscoderTest, FillsDynamicMessages) {
  google::protobuf::DynamicMessageFactory factory;
  const Route& route = RouteOf("ListCustomers");
  std::unique_ptr<google::protobuf::Message> request(
      factory.GetPrototype(route.method->input_type())->New());
  TL_ASSERT_OK(
      BuildRequest(route, {}, {{"page_size", "7"}, {"tiers", "TIER_GOLD"}}, "", request.get()));
  testpb::ListCustomersRequest generated;
  ASSERT_TRUE(generated.ParseFromString(request->SerializeAsString()));
  EXPECT_THAT(generated, EqualsProto(R"pb(page_size: 7 tiers: TIER_GOLD)pb"));
}

TEST_F(TranscoderTest, ReplacesWhatTheRequestHeld) {
  testpb::ListCustomersRequest request;
  request.set_page_token("stale");
  TL_ASSERT_OK(BuildRequest(RouteOf("ListCustomers"), {}, {{"page_size", "7"}}, "", &request));
  EXPECT_THAT(request, EqualsProto(R"pb(page_size: 7)pb"));
}

TEST_F(TranscoderTest, RequestOfAnotherTypeIsInternal) {
  testpb::GetCustomerRequest request;
  EXPECT_THAT(BuildRequest(RouteOf("ListCustomers"), {}, {}, "", &request),
              StatusIs(absl::StatusCode::kInternal));
}

struct BadQueryCase {
  std::string path;  // of a GET route
  QueryParameters query;
  std::string field;
  std::string description;
};

TEST_F(TranscoderTest, RejectsBadQueryParametersNamingThem) {
  const BadQueryCase cases[] = {
      {"/v1/customers", {{"pageSise", "1"}}, "pageSise", "unknown query parameter"},
      {"/v1/customers", {{"", "1"}}, "", "unknown query parameter"},
      {"/v1/customers", {{"filter.town", "x"}}, "filter.town", "unknown query parameter"},
      {"/v1/customers", {{"page_size.x", "1"}}, "page_size.x", "unknown query parameter"},
      {"/v1/customers", {{"filter", "x"}}, "filter", "cannot be set by a query parameter"},
      {"/v1/customers", {{"labels", "x"}}, "labels", "cannot be set by a query parameter"},
      {"/v1/customers",
       {{"tiers", "TIER_GOLD"}, {"tiers", "TIER_PLATINUM"}},
       "tiers",
       "(tiers[1]): invalid value \"TIER_PLATINUM\" for type "
       "type.googleapis.com/touchline.testing.http.v1.Tier"},
      {"/v1/customers",
       {{"filter.tier", "gold"}},
       "filter.tier",
       "(filter.tier): invalid value \"gold\" for type "
       "type.googleapis.com/touchline.testing.http.v1.Tier"},
      {"/v1/customers",
       {{"page_size", "abc"}},
       "page_size",
       "(page_size): invalid value \"abc\" for type TYPE_INT32"},
      {"/v1/customers",
       {{"page_size", "3000000000"}},
       "page_size",
       "(page_size): invalid value \"3000000000\" for type TYPE_INT32"},
      {"/v1/customers",
       {{"min_lifetime_value_cents", "99999999999999999999"}},
       "min_lifetime_value_cents",
       "(min_lifetime_value_cents): invalid value \"99999999999999999999\" for type "
       "TYPE_INT64"},
      {"/v1/customers", {{"show_deleted", "yes"}}, "show_deleted", "must be true or false"},
      {"/v1/customers", {{"vip", "1"}}, "vip", "must be true or false"},
      {"/v1/customers",
       {{"created_after", "yesterday"}},
       "created_after",
       "(created_after): invalid value Field 'createdAfter', Invalid time format: yesterday "
       "for type type.googleapis.com/google.protobuf.Timestamp"},
      {"/v1/customers",
       {{"idleFor", "1.5"}},
       "idleFor",
       "(idle_for): invalid value Field 'idleFor', Illegal duration format; duration must end "
       "with 's' for type type.googleapis.com/google.protobuf.Duration"},
      {"/v1/customers", {{"page_token", "\xE5\x8C"}}, "page_token", "not valid UTF-8"},
      {"/v1/customers",
       {{"page_size", "1"}, {"pageSize", "2"}},
       "pageSize",
       "given more than once"},
      {"/v1/customers/c1", {{"customer_id", "c2"}}, "customer_id", "set by the URL path"},
      {"/v1/customers/c1",
       {{"readMask", "display_name"}, {"x", "1"}},
       "x",
       "unknown query parameter"},
  };
  for (const BadQueryCase& c : cases) {
    const absl::StatusOr<RouteMatch> match = table_.Find("GET", c.path);
    ASSERT_TRUE(match.ok() && match->route != nullptr) << c.path;
    testpb::ListCustomersRequest list;
    testpb::GetCustomerRequest get;
    google::protobuf::Message* request =
        c.path == "/v1/customers" ? static_cast<google::protobuf::Message*>(&list) : &get;
    const absl::Status status = BuildRequest(*match->route, match->bindings, c.query, "", request);
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument)) << c.field;
    EXPECT_THAT(Violations(status), ElementsAre(Pair(c.field, c.description))) << c.field;
  }
}

TEST_F(TranscoderTest, UnknownQueryParameterMessageNamesIt) {
  EXPECT_THAT(Transcode<testpb::ListCustomersRequest>("GET", "/v1/customers", {{"pageSise", "1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "invalid argument: pageSise: unknown query parameter"));
}

TEST_F(TranscoderTest, BadPathValueNamesTheField) {
  EXPECT_THAT(Violations(Transcode<testpb::GetCustomerRequest>("GET", "/v1/customers/%FF")),
              ElementsAre(Pair("customer_id", "not valid UTF-8")));
}

TEST_F(TranscoderTest, QueryCannotSetWhatTheBodySets) {
  EXPECT_THAT(Violations(Transcode<testpb::CreateCustomerRequest>("POST", "/v1/customers",
                                                                  {{"request_id", "r1"}}, "{}")),
              ElementsAre(Pair("request_id", "this route takes every field from the body")));
  EXPECT_THAT(Violations(Transcode<testpb::UpdateCustomerRequest>(
                  "PATCH", "/v1/customers/c1", {{"customer.displayName", "x"}}, "{}")),
              ElementsAre(Pair("customer.displayName", "set by the body")));
  // A nested path variable inside the body field is the body's too.
  EXPECT_THAT(Violations(Transcode<testpb::UpdateCustomerRequest>(
                  "PATCH", "/v1/customers/c1", {{"customer.customer_id", "x"}}, "{}")),
              ElementsAre(Pair("customer.customer_id", "set by the body")));
}

TEST_F(TranscoderTest, RejectsBadBodiesAsBody) {
  const struct {
    const char* http_method;
    const char* path;
    std::string body;
    const char* description;
  } cases[] = {
      {"GET", "/v1/customers/c1", "{}", "this route takes no body"},
      {"DELETE", "/v1/customers/c1", R"({"etag": "e1"})", "this route takes no body"},
      {"POST", "/v1/customers", R"({"customer": {)",
       "malformed JSON: parse error at line 1, column 15: syntax error while parsing object key - "
       "unexpected end of input; expected string literal"},
      // nlohmann quotes what it last read; that part is dropped, as it may be invalid UTF-8.
      {"POST", "/v1/customers", "{\"requestId\": \"\xff\"}",
       "malformed JSON: parse error at line 1, column 16: syntax error while parsing value - "
       "invalid string: ill-formed UTF-8 byte"},
      {"POST", "/v1/customers", R"({"requestId": tru})",
       "malformed JSON: parse error at line 1, column 18: syntax error while parsing value - "
       "invalid literal"},
      {"POST", "/v1/customers", R"({tru: 1})",
       "malformed JSON: parse error at line 1, column 5: syntax error while parsing object key - "
       "invalid literal; expected string literal"},
      {"POST", "/v1/customers", R"({"requestId": "\ud800"})",
       "malformed JSON: parse error at line 1, column 22: syntax error while parsing value - "
       "invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF"},
      {"POST", "/v1/customers", R"({"a": 1} {"b": 2})",
       "malformed JSON: parse error at line 1, column 10: syntax error while parsing value - "
       "unexpected '{'; expected end of input"},
      {"POST", "/v1/customers", "[1]", "must be a JSON object"},
      {"POST", "/v1/customers", R"("text")", "must be a JSON object"},
      {"POST", "/v1/customers", "null", "must be a JSON object"},
      {"POST", "/v1/customers", R"({"customer": {"displayNam": "x"}})",
       "(customer) displayNam: Cannot find field."},
      {"POST", "/v1/customers", R"({"requestId": "r1", "customer": {"tier": "TIER_PLATINUM"}})",
       "(customer.tier): invalid value \"TIER_PLATINUM\" for type "
       "type.googleapis.com/touchline.testing.http.v1.Tier"},
      {"POST", "/v1/customers", R"({"customer": {"lifetimeValueCents": "1x"}})",
       "(customer.lifetime_value_cents): invalid value \"1x\" for type TYPE_INT64"},
      {"PATCH", "/v1/customers/c1", R"("张三")",
       "(customer): invalid value \"张三\" for type "
       "type.googleapis.com/touchline.testing.http.v1.Customer"},
      // A body that is one JSON value cannot set fields beside the body field.
      {"PATCH", "/v1/customers/c1", R"({}, "etag": "e1")",
       "malformed JSON: parse error at line 1, column 3: syntax error while parsing value - "
       "unexpected ','; expected end of input"},
  };
  for (const auto& c : cases) {
    TL_ASSERT_OK_AND_ASSIGN(const RouteMatch match, table_.Find(c.http_method, c.path));
    ASSERT_NE(match.route, nullptr) << c.body;
    std::unique_ptr<google::protobuf::Message> request(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(match.route->method->input_type())
            ->New());
    const absl::Status status =
        BuildRequest(*match.route, match.bindings, {}, c.body, request.get());
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument)) << c.body;
    EXPECT_THAT(Violations(status), ElementsAre(Pair("body", c.description))) << c.body;
  }
}

TEST_F(TranscoderTest, ResponseIsProto3Json) {
  const testpb::Customer customer = [] {
    testpb::Customer c;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
                                                                customer_id: "c1"
                                                                display_name: "张三"
                                                                tier: TIER_GOLD
                                                                tags: "重要"
                                                                address { city: "北京" }
                                                                create_time { seconds: 1714521600 }
                                                                lifetime_value_cents: 42
                                                                vip: false
                                                              )pb",
                                                              &c));
    return c;
  }();
  EXPECT_THAT(ResponseToJson(RouteOf("GetCustomer"), customer),
              IsOkAndHolds(std::string(
                  R"({"customerId":"c1","displayName":"张三","tier":"TIER_GOLD","tags":["重要"],)"
                  R"("address":{"city":"北京"},"createTime":"2024-05-01T00:00:00Z",)"
                  R"("lifetimeValueCents":"42"})")));
  EXPECT_THAT(ResponseToJson(RouteOf("GetCustomer"), testpb::Customer()),
              IsOkAndHolds(std::string(R"({"tags":[]})")));
}

TEST_F(TranscoderTest, EmptyListsAndMapsArePrintedAtAnyDepth) {
  // What a portal expects of an empty page: the list, empty; scalars keep proto3's omission.
  EXPECT_THAT(ResponseToJson(RouteOf("ListCustomers"), testpb::ListCustomersResponse()),
              IsOkAndHolds(std::string(R"({"customers":[]})")));
  testpb::ListCustomersResponse page;
  page.add_customers()->set_customer_id("c1");
  testpb::Customer* second = page.add_customers();
  second->add_tags("重要");
  second->mutable_create_time()->set_seconds(1714521600);
  page.set_next_page_token("t");
  EXPECT_THAT(ResponseToJson(RouteOf("ListCustomers"), page),
              IsOkAndHolds(std::string(R"({"customers":[{"customerId":"c1","tags":[]},)"
                                       R"({"tags":["重要"],"createTime":"2024-05-01T00:00:00Z"}],)"
                                       R"("nextPageToken":"t"})")));
  // A map is an empty object; well-known types keep their JSON form.
  testpb::ListCustomersRequest request;
  request.mutable_vip()->set_value(false);
  EXPECT_THAT(ResponseToJson(RouteOf("GetCustomer"), request),
              IsOkAndHolds(std::string(R"({"tiers":[],"vip":false,"labels":{}})")));
}

TEST_F(TranscoderTest, ResponseBodyFieldIsTheWholeBody) {
  testpb::GetCustomer360Response response;
  response.mutable_customer()->set_display_name("王五");
  response.set_recent_touchpoint_count(3);
  EXPECT_THAT(ResponseToJson(RouteOf("GetCustomer360"), response),
              IsOkAndHolds(std::string(R"({"displayName":"王五","tags":[]})")));
}

TEST_F(TranscoderTest, RepeatedResponseBodyIsAnArray) {
  testpb::GetAttachmentResponse response;
  response.set_size_bytes(10);
  EXPECT_THAT(ResponseToJson(RouteOf("GetAttachment"), response), IsOkAndHolds(std::string("[]")));
  response.add_chunks("第一");
  response.add_chunks("b");
  EXPECT_THAT(ResponseToJson(RouteOf("GetAttachment"), response),
              IsOkAndHolds(std::string(R"(["第一","b"])")));
}

TEST(ParseQueryStringTest, SplitsDecodesAndKeepsUrlOrder) {
  EXPECT_EQ(ParseQueryString("region=%E5%8C%97%E4%BA%AC&pageSize=20&tag=a+b&tag=c&flag&=x&&"),
            (QueryParameters{{"region", "北京"},
                             {"pageSize", "20"},
                             {"tag", "a b"},
                             {"tag", "c"},
                             {"flag", ""},
                             {"", "x"}}));
  EXPECT_EQ(ParseQueryString("q=%2B1%3D2&bad=%zz"),
            (QueryParameters{{"q", "+1=2"}, {"bad", "%zz"}}));
  EXPECT_TRUE(ParseQueryString("").empty());
}

}  // namespace
}  // namespace touchline::gateway::http
