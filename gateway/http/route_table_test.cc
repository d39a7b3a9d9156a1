#include "gateway/http/route_table.h"

#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "touchline/testing/http/v1/customer_test_service.pb.h"

namespace touchline::gateway::http {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::touchline::testing::StatusIs;
namespace testpb = ::touchline::testing::http::v1;

constexpr char kService[] = "touchline.testing.http.v1.CustomerTestService";

RouteTable TestTable() {
  // Names a generated type so the linker keeps the test proto's descriptors.
  EXPECT_EQ(testpb::Customer::descriptor()->file()->service(0)->full_name(), kService);
  absl::StatusOr<RouteTable> table = RouteTable::Build({kService});
  EXPECT_TRUE(table.ok()) << table.status();
  return *std::move(table);
}

std::string Describe(const Route& route) {
  return route.http_method + " " + route.path.text() + " -> " + route.method->name() +
         " body=" + route.body + " response_body=" + route.response_body;
}

TEST(RouteTableTest, BuildsOneRoutePerRuleAndAdditionalBinding) {
  const RouteTable table = TestTable();
  std::vector<std::string> routes;
  for (const Route& route : table.routes()) routes.push_back(Describe(route));
  EXPECT_THAT(
      routes,
      ElementsAre(
          "GET /v1/customers/{customer_id} -> GetCustomer body= response_body=",
          "GET /v1/customers -> ListCustomers body= response_body=",
          "POST /v1/customers -> CreateCustomer body=* response_body=",
          "PATCH /v1/customers/{customer.customer_id} -> UpdateCustomer body=customer "
          "response_body=",
          "DELETE /v1/customers/{customer_id} -> DeleteCustomer body= response_body=",
          "POST /v1/customers/{customer_id}:undelete -> UndeleteCustomer body=* response_body=",
          "GET /v1/customers:batchGet -> BatchGetCustomers body= response_body=",
          "GET /v1/customers/{customer_id}/360 -> GetCustomer360 body= response_body=customer",
          "GET /v1/customers/{customer_id}/touchpoints -> ListTouchpoints body= response_body=",
          "GET /v1/touchpoints -> ListTouchpoints body= response_body=",
          "GET /v1/{name=customers/*/attachments/**} -> GetAttachment body= "
          "response_body=chunks"));
}

TEST(RouteTableTest, MethodWithoutAnnotationGetsNoRoute) {
  const RouteTable table = TestTable();
  for (const Route& route : table.routes()) EXPECT_NE(route.method->name(), "PurgeCustomers");
  EXPECT_THAT(table.Find("POST", "/v1/PurgeCustomers"), StatusIs(absl::StatusCode::kNotFound));
}

struct FindCase {
  const char* http_method;
  const char* path;
  const char* rpc;
  Bindings bindings;
};

TEST(RouteTableTest, FindsTheRouteOfEveryExample) {
  const RouteTable table = TestTable();
  const FindCase cases[] = {
      {"GET", "/v1/customers/c1", "GetCustomer", {{"customer_id", "c1"}}},
      {"GET", "/v1/customers", "ListCustomers", {}},
      {"POST", "/v1/customers", "CreateCustomer", {}},
      {"PATCH", "/v1/customers/c1", "UpdateCustomer", {{"customer.customer_id", "c1"}}},
      {"DELETE", "/v1/customers/c1", "DeleteCustomer", {{"customer_id", "c1"}}},
      {"POST", "/v1/customers/c1:undelete", "UndeleteCustomer", {{"customer_id", "c1"}}},
      {"GET", "/v1/customers:batchGet", "BatchGetCustomers", {}},
      {"GET", "/v1/customers/c1/360", "GetCustomer360", {{"customer_id", "c1"}}},
      {"GET", "/v1/customers/c1/touchpoints", "ListTouchpoints", {{"customer_id", "c1"}}},
      {"GET", "/v1/touchpoints", "ListTouchpoints", {}},
      {"GET",
       "/v1/customers/c1/attachments/a/b.pdf",
       "GetAttachment",
       {{"name", "customers/c1/attachments/a/b.pdf"}}},
      // Without a verb route for GET, the colon is part of the id.
      {"GET", "/v1/customers/c1:undelete", "GetCustomer", {{"customer_id", "c1:undelete"}}},
      {"GET", "/v1/customers/%E5%BC%A0%E4%B8%89", "GetCustomer", {{"customer_id", "张三"}}},
  };
  for (const FindCase& c : cases) {
    absl::StatusOr<RouteMatch> match = table.Find(c.http_method, c.path);
    ASSERT_TRUE(match.ok()) << c.http_method << " " << c.path << ": " << match.status();
    ASSERT_NE(match->route, nullptr) << c.http_method << " " << c.path;
    EXPECT_EQ(match->route->method->name(), c.rpc) << c.http_method << " " << c.path;
    EXPECT_EQ(match->bindings, c.bindings) << c.http_method << " " << c.path;
  }
}

TEST(RouteTableTest, ListsEveryMethodOfThePath) {
  const RouteTable table = TestTable();
  TL_ASSERT_OK_AND_ASSIGN(const RouteMatch match, table.Find("GET", "/v1/customers/c1"));
  EXPECT_THAT(match.allowed_methods, ElementsAre("DELETE", "GET", "PATCH"));
  TL_ASSERT_OK_AND_ASSIGN(const RouteMatch collection, table.Find("POST", "/v1/customers"));
  EXPECT_THAT(collection.allowed_methods, ElementsAre("GET", "POST"));
}

TEST(RouteTableTest, PathOfOtherMethodsOnlyTellsWhichAreAllowed) {
  const RouteTable table = TestTable();
  TL_ASSERT_OK_AND_ASSIGN(const RouteMatch match, table.Find("PUT", "/v1/customers/c1"));
  EXPECT_EQ(match.route, nullptr);
  EXPECT_THAT(match.bindings, IsEmpty());
  EXPECT_THAT(match.allowed_methods, ElementsAre("DELETE", "GET", "PATCH"));

  // A CORS preflight asks the same way.
  TL_ASSERT_OK_AND_ASSIGN(const RouteMatch preflight,
                          table.Find("OPTIONS", "/v1/customers:batchGet"));
  EXPECT_EQ(preflight.route, nullptr);
  EXPECT_THAT(preflight.allowed_methods, ElementsAre("GET"));

  // The id-with-a-colon readings (GET, PATCH, DELETE) and the verb route (POST) all match.
  TL_ASSERT_OK_AND_ASSIGN(const RouteMatch verb, table.Find("PATCH", "/v1/customers/c1:undelete"));
  EXPECT_EQ(verb.route->method->name(), "UpdateCustomer");
  EXPECT_THAT(verb.allowed_methods, ElementsAre("DELETE", "GET", "PATCH", "POST"));

  // Another verb than the route's: only the id-with-a-colon readings remain.
  TL_ASSERT_OK_AND_ASSIGN(const RouteMatch other_verb,
                          table.Find("POST", "/v1/customers/c1:merge"));
  EXPECT_EQ(other_verb.route, nullptr);
  EXPECT_THAT(other_verb.allowed_methods, ElementsAre("DELETE", "GET", "PATCH"));
}

TEST(RouteTableTest, PathWithoutRouteIsNotFound) {
  const RouteTable table = TestTable();
  EXPECT_THAT(table.Find("GET", "/v1/x"),
              StatusIs(absl::StatusCode::kNotFound, "no route for GET /v1/x"));
  EXPECT_THAT(table.Find("GET", "/v1/customers/c1/"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      table.Find("GET", "/v1/customers/c1/touchpoints/t1"),
      StatusIs(absl::StatusCode::kNotFound, "no route for GET /v1/customers/c1/touchpoints/t1"));
}

TEST(RouteTableTest, UnknownServiceIsNotFound) {
  EXPECT_THAT(RouteTable::Build({kService, "touchline.testing.http.v1.NoSuchService"}),
              StatusIs(absl::StatusCode::kNotFound,
                       "unknown service touchline.testing.http.v1.NoSuchService"));
}

// Builds a table over one service "bad.vN.BadService" whose methods are `methods` (text
// format of MethodDescriptorProto, input bad.vN.Req, output bad.vN.Inner), in a pool of its
// own. Each call takes a new N, so the pool never sees a file twice.
absl::StatusOr<RouteTable> BuildBadService(const std::string& methods) {
  static int calls = 0;
  const std::string package = "bad.v" + std::to_string(++calls);
  const std::string text = absl::StrReplaceAll(
      R"pb(
            name: "PKG.proto"
            package: "PKG"
            dependency: "google/api/annotations.proto"
            syntax: "proto3"
            message_type {
              name: "Inner"
              field { name: "id" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "id" }
            }
            message_type {
              name: "Req"
              field { name: "id" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "id" }
              field {
                name: "tags"
                number: 2
                type: TYPE_STRING
                label: LABEL_REPEATED
                json_name: "tags"
              }
              field {
                name: "inner"
                number: 3
                type: TYPE_MESSAGE
                type_name: ".PKG.Inner"
                label: LABEL_OPTIONAL
                json_name: "inner"
              }
              field {
                name: "inners"
                number: 4
                type: TYPE_MESSAGE
                type_name: ".PKG.Inner"
                label: LABEL_REPEATED
                json_name: "inners"
              }
            }
            service { name: "BadService")pb" +
          methods + "}",
      {{"PKG", package}});
  google::protobuf::FileDescriptorProto file;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &file)) << text;
  static google::protobuf::DescriptorPool* const pool =
      new google::protobuf::DescriptorPool(google::protobuf::DescriptorPool::generated_pool());
  EXPECT_NE(pool->BuildFile(file), nullptr) << text;
  return RouteTable::Build({package + ".BadService"}, *pool);
}

std::string Method(const std::string& name, const std::string& rule) {
  return "method { name: \"" + name +
         "\" input_type: \".PKG.Req\" output_type: \".PKG.Inner\" options { "
         "[google.api.http] { " +
         rule + " } } }";
}

TEST(RouteTableTest, BuildsFromAnyPool) {
  TL_ASSERT_OK_AND_ASSIGN(
      const RouteTable table,
      BuildBadService(Method("Get", R"(get: "/v1/{inner.id}" response_body: "id")") +
                      Method("Act", R"(custom { kind: "HEAD" path: "/v1/x/{id}" })")));
  ASSERT_EQ(table.routes().size(), 2u);
  EXPECT_EQ(table.routes()[0].method->name(), "Get");
  EXPECT_EQ(table.routes()[1].http_method, "HEAD");
  TL_ASSERT_OK_AND_ASSIGN(const RouteMatch match, table.Find("HEAD", "/v1/x/1"));
  EXPECT_THAT(match.bindings, ElementsAre(Pair("id", "1")));
}

TEST(RouteTableTest, VerbRouteThenMoreLiteralRouteWins) {
  TL_ASSERT_OK_AND_ASSIGN(const RouteTable table,
                          BuildBadService(Method("Update", R"(post: "/v1/x/{id}")") +
                                          Method("Sync", R"(post: "/v1/x/{id}:sync")") +
                                          Method("Me", R"(post: "/v1/x/me")") +
                                          Method("Any", R"(post: "/v1/{id=**}")")));
  const std::pair<const char*, std::string> cases[] = {
      {"/v1/x/1:sync", "Sync"},  {"/v1/x/1:other", "Update"}, {"/v1/x/me", "Me"},
      {"/v1/x/me:sync", "Sync"}, {"/v1/x/1", "Update"},       {"/v1/x/1/2", "Any"},
      {"/v1/x", "Any"},
  };
  for (const auto& [path, rpc] : cases) {
    TL_ASSERT_OK_AND_ASSIGN(const RouteMatch match, table.Find("POST", path));
    ASSERT_NE(match.route, nullptr) << path;
    EXPECT_EQ(match.route->method->name(), rpc) << path;
  }
}

TEST(RouteTableTest, RejectsInvalidRulesNamingTheRpc) {
  const struct {
    std::string rule;
    std::string message;
  } cases[] = {
      {R"(body: "*")", "no HTTP method and path"},
      {R"(custom { kind: "" path: "/v1/x" })", "no HTTP method and path"},
      {R"(get: "/v1/{id")", "invalid path template \"/v1/{id\": expected '}' at offset 7"},
      {R"(get: "/v1/{nope}")", "path variable \"nope\": no field \"nope\" in "},
      {R"(get: "/v1/{tags}")", "path variable \"tags\" must name a singular non-message field"},
      {R"(get: "/v1/{inner}")", "path variable \"inner\" must name a singular non-message field"},
      {R"(get: "/v1/{inners.id}")",
       "path variable \"inners.id\": \"inners\" is not a singular "
       "message field"},
      {R"(get: "/v1/{id.x}")", "path variable \"id.x\": \"id\" is not a singular message field"},
      {R"(post: "/v1/x" body: "nope")", "body \"nope\" is no field of "},
      {R"(get: "/v1/x" response_body: "nope")", "response_body \"nope\" is no field of "},
      {R"(get: "/v1/x" response_body: "*")", "response_body \"*\" is no field of "},
      {R"(get: "/v1/x" additional_bindings { get: "/v1/y" additional_bindings { get: "/v1/z" } })",
       "additional_bindings must not nest"},
      {R"(get: "/v1/x" additional_bindings { get: "/v1/{nope}" })", "path variable \"nope\""},
  };
  for (const auto& c : cases) {
    absl::StatusOr<RouteTable> table = BuildBadService(Method("Broken", c.rule));
    EXPECT_THAT(table, StatusIs(absl::StatusCode::kInvalidArgument,
                                ::testing::AllOf(::testing::MatchesRegex(
                                                     "google\\.api\\.http of RPC "
                                                     "bad\\.v[0-9]+\\.BadService\\.Broken: .*"),
                                                 ::testing::HasSubstr(c.message))))
        << c.rule;
  }
}

TEST(RouteTableTest, RejectsTwoRoutesForTheSameRequests) {
  EXPECT_THAT(
      BuildBadService(Method("First", R"(get: "/v1/x/{id}")") +
                      Method("Second", R"(get: "/v1/x/{inner.id}")")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::MatchesRegex("google\\.api\\.http of RPC bad\\.v[0-9]+\\.BadService\\."
                                       "Second: GET /v1/x/\\{inner\\.id\\} matches the same "
                                       "requests as /v1/x/\\{id\\} of RPC bad\\.v[0-9]+\\."
                                       "BadService\\.First")));
  // The same template under another method, or with a verb, is another route.
  TL_EXPECT_OK(BuildBadService(Method("First", R"(get: "/v1/x/{id}")") +
                               Method("Second", R"(delete: "/v1/x/{id}")") +
                               Method("Third", R"(get: "/v1/x/{id}:sync")")));
}

}  // namespace
}  // namespace touchline::gateway::http
