// The gateway as portals and typed clients meet it: the real binaries of the whole suite,
// then login, listing and the 360 view over HTTP/JSON as the README shows them, the cache's
// hit, miss and invalidation by events, the services' errors passed on with their details,
// the edge's own answers (no credential, unknown routes, bad JSON, oversized bodies, CORS),
// and rate limits per API key and per partner organisation.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/events/outbox.h"
#include "common/redis/pool.h"
#include "common/status/grpc_status.h"
#include "gtest/gtest.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/http_client.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/suite.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/gateway/v1/gateway_service.grpc.pb.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"

namespace touchline {
namespace {

using testing::Eventually;

namespace cv1 = ::touchline::contacts::v1;
namespace gv1 = ::touchline::gateway::v1;
namespace pv1 = ::touchline::permissions::v1;
using testing::HttpCall;
using testing::HttpReply;
using testing::Suite;

constexpr char kTenant[] = "acme";
constexpr char kPortal[] = "https://portal.example.com";
constexpr char kPhone[] = "+8613812341234";

struct World {
  std::unique_ptr<Suite> suite;
  std::string admin_token;
  std::string partner_token;
  std::string rep_id;
  std::string owned;   // a customer of the rep
  std::string shared;  // a customer of the rep shared with dealer-1
};
World* world = nullptr;

std::shared_ptr<grpc::Channel> GatewayChannel() {
  return grpc::CreateChannel(world->suite->gateway_address(), grpc::InsecureChannelCredentials());
}

std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) Suite::Authorize(*context, token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

HttpReply Http(const std::string& method, const std::string& path, const std::string& token = "",
               const std::string& body = "",
               const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return HttpCall(world->suite->gateway_http_port(), method, path, token, body, headers);
}

// Logs in over HTTP as the README shows; the access token, or "" (and a failure).
std::string HttpLogin(const std::string& username, const std::string& password) {
  const HttpReply reply =
      Http("POST", "/v1/sessions:login", "",
           nlohmann::json{{"username", username}, {"password", password}}.dump(),
           {{"X-Touchline-Tenant", kTenant}});
  EXPECT_EQ(reply.status, 200) << reply.body;
  return reply.json.is_object() ? reply.json.value("accessToken", "") : "";
}

// Creates a customer over HTTP; its id.
std::string CreateCustomer(const std::string& name, const std::string& owner_id) {
  const nlohmann::json body = {{"customer",
                                {{"kind", "CUSTOMER_KIND_ORGANIZATION"},
                                 {"displayName", name},
                                 {"region", "北京"},
                                 {"ownerId", owner_id},
                                 {"contactPersons",
                                  {{{"name", {{"familyName", "王"}, {"givenName", "伟"}}},
                                    {"phones", {{{"number", kPhone}}}},
                                    {"emails", {{{"address", "wang.wei@example.com"}}}}}}}}},
                               {"requestId", "create-" + name}};
  const HttpReply reply = Http("POST", "/v1/customers", world->admin_token, body.dump());
  EXPECT_EQ(reply.status, 200) << reply.body;
  return reply.json.is_object() ? reply.json["customer"].value("customerId", "") : "";
}

// GetCustomer360 over gRPC through the gateway; the cache outcome in `cache`.
grpc::Status Get360(const std::string& token, const std::string& customer_id,
                    gv1::GetCustomer360Response* response, std::string* cache = nullptr) {
  gv1::GetCustomer360Request request;
  request.set_customer_id(customer_id);
  auto context = As(token);
  const grpc::Status status = gv1::GatewayService::NewStub(GatewayChannel())
                                  ->GetCustomer360(context.get(), request, response);
  if (cache != nullptr) {
    const auto it = context->GetServerInitialMetadata().find("x-touchline-cache");
    *cache = it == context->GetServerInitialMetadata().end()
                 ? ""
                 : std::string(it->second.data(), it->second.size());
  }
  return status;
}

class GatewayProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world = new World;
    Suite::Options options;
    options.tenants = {kTenant};
    options.gateway = true;
    options.gateway_flags = {std::string("--cors_allowed_origins=") + kPortal,
                             "--max_request_bytes=65536"};
    world->suite = std::make_unique<Suite>(options);
    if (::testing::Test::HasFatalFailure()) return;
    world->admin_token = HttpLogin("admin", testing::kAdminPassword);
    ASSERT_FALSE(world->admin_token.empty());

    auto permissions = pv1::PermissionsService::NewStub(GatewayChannel());
    pv1::CreatePartnerOrganizationRequest org;
    org.mutable_partner_organization()->set_partner_org_id("dealer-1");
    org.mutable_partner_organization()->set_display_name("华北经销商一号");
    pv1::CreatePartnerOrganizationResponse created_org;
    ASSERT_TRUE(
        permissions->CreatePartnerOrganization(As(world->admin_token).get(), org, &created_org)
            .ok());
    for (const auto& [username, role, partner] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"rep1", "rep", ""}, {"partner1", "partner", "dealer-1"}}) {
      pv1::CreateUserRequest user;
      user.mutable_user()->set_username(username);
      user.mutable_user()->set_display_name("用户 " + username);
      user.mutable_user()->set_role_id(role);
      user.mutable_user()->set_partner_org_id(partner);
      user.set_password("pw-" + username + "-长密码-0001");
      pv1::CreateUserResponse created;
      const grpc::Status status =
          permissions->CreateUser(As(world->admin_token).get(), user, &created);
      ASSERT_TRUE(status.ok()) << status.error_message();
      if (username == "rep1") world->rep_id = created.user().user_id();
    }
    world->owned = CreateCustomer("星河贸易", world->rep_id);
    world->shared = CreateCustomer("长城机电", world->rep_id);
    ASSERT_FALSE(world->owned.empty());
    ASSERT_FALSE(world->shared.empty());
    // The share needs the customer in the permissions read model: retry until it is there.
    ASSERT_TRUE(Eventually([] {
      return Http("POST", "/v1/customers/" + world->shared + ":share", world->admin_token,
                  R"({"partnerOrgId":"dealer-1","access":"SHARE_ACCESS_READ"})")
                 .status == 200;
    }));
    world->partner_token = HttpLogin("partner1", "pw-partner1-长密码-0001");
    ASSERT_FALSE(world->partner_token.empty());
  }

  static void TearDownTestSuite() {
    delete world;
    world = nullptr;
  }

  void SetUp() override {
    if (world == nullptr || world->partner_token.empty()) {
      GTEST_SKIP() << "the suite did not start (see the first failure)";
    }
  }
};

TEST_F(GatewayProcessTest, PartnerLogsInListsSharedCustomersAndReadsAMasked360OverHttp) {
  // Contacts learns of the share through an event: wait until the list shows it.
  HttpReply list;
  ASSERT_TRUE(Eventually([&] {
    list = Http("GET", "/v1/customers", world->partner_token);
    return list.status == 200 && list.json["customers"].size() == 1;
  })) << list.body;
  const nlohmann::json& customer = list.json["customers"][0];
  EXPECT_EQ(customer["customerId"], world->shared);
  EXPECT_EQ(customer["displayName"], "长城机电");
  EXPECT_EQ(customer["contactPersons"][0]["phones"][0]["number"], "+86138****1234");
  EXPECT_EQ(customer["contactPersons"][0]["emails"][0]["address"], "w***@example.com");

  const HttpReply view =
      Http("GET", "/v1/customers/" + world->shared + "/360", world->partner_token);
  ASSERT_EQ(view.status, 200) << view.body;
  EXPECT_EQ(view.json["customer"]["displayName"], "长城机电");
  EXPECT_EQ(view.json["customer"]["contactPersons"][0]["phones"][0]["number"], "+86138****1234");
  EXPECT_EQ(view.header("content-type"), "application/json; charset=utf-8");
  EXPECT_FALSE(view.header("x-request-id").empty());

  const HttpReply hidden =
      Http("GET", "/v1/customers/" + world->owned + "/360", world->partner_token);
  EXPECT_EQ(hidden.status, 404) << hidden.body;
  EXPECT_EQ(hidden.json.value("message", ""), "customer " + world->owned + " not found");
}

// Waits until the gateway's invalidation consumer has applied the newest event of `topic`
// about `aggregate_id`, so that what a test reads next is not dropped under it.
void WaitForGateway(const std::string& topic, const std::string& aggregate_id) {
  absl::StatusOr<redis::RedisOptions> options = redis::ParseRedisAddress(testing::TestRedisAddr());
  ASSERT_TRUE(options.ok());
  absl::StatusOr<std::unique_ptr<redis::Pool>> redis = redis::Pool::Create(*options);
  ASSERT_TRUE(redis.ok());
  const std::string stream = events::StreamKey(world->suite->redis_prefix(), topic);
  ASSERT_TRUE(Eventually([&] {
    const absl::StatusOr<bool> applied =
        testing::GroupHasApplied(**redis, stream, "gateway", aggregate_id);
    return applied.ok() && *applied;
  })) << topic
      << " event of " << aggregate_id << " was never applied by the gateway";
}

TEST_F(GatewayProcessTest, CacheMissesThenHitsAndATouchpointInvalidatesIt) {
  const std::string id = CreateCustomer("缓存测试客户", world->rep_id);
  WaitForGateway("customers", id);
  gv1::GetCustomer360Response first, second;
  std::string cache;
  ASSERT_TRUE(Get360(world->admin_token, id, &first, &cache).ok());
  EXPECT_EQ(cache, "miss");
  ASSERT_TRUE(Get360(world->admin_token, id, &second, &cache).ok());
  EXPECT_EQ(cache, "hit");
  EXPECT_EQ(second.customer().display_name(), "缓存测试客户");
  EXPECT_EQ(second.recent_touchpoints_size(), 0);

  const nlohmann::json touchpoint = {{"touchpoint",
                                      {{"customerId", id},
                                       {"occurTime", "2026-12-01T08:30:00Z"},
                                       {"channel", "CHANNEL_PHONE"},
                                       {"category", "CATEGORY_SERVICE"},
                                       {"subject", "客户投诉：物流延迟"}}},
                                     {"requestId", "tp-cache-1"}};
  // The touchpoints service learns of the customer through an event: retry until then.
  HttpReply recorded;
  ASSERT_TRUE(Eventually([&] {
    recorded = Http("POST", "/v1/touchpoints", world->admin_token, touchpoint.dump());
    return recorded.status == 200;
  }));
  WaitForGateway("touchpoints", recorded.json["touchpoint"].value("touchpointId", ""));
  gv1::GetCustomer360Response after;
  ASSERT_TRUE(Get360(world->admin_token, id, &after, &cache).ok());
  EXPECT_EQ(cache, "miss");
  ASSERT_EQ(after.recent_touchpoints_size(), 1);
  EXPECT_EQ(after.recent_touchpoints(0).subject(), "客户投诉：物流延迟");
  ASSERT_TRUE(Get360(world->admin_token, id, &after, &cache).ok());
  EXPECT_EQ(cache, "hit");
  EXPECT_EQ(after.recent_touchpoints_size(), 1);

  // A change to the customer reaches the view the same way.
  const HttpReply renamed = Http("PATCH", "/v1/customers/" + id + "?updateMask=displayName",
                                 world->admin_token, R"({"displayName":"缓存测试客户（已更名）"})");
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  ASSERT_TRUE(Eventually([&] {
    return Get360(world->admin_token, id, &after).ok() &&
           after.customer().display_name() == "缓存测试客户（已更名）";
  }));
}

TEST_F(GatewayProcessTest, ViewsFromTheCacheHoldTheNewestTouchpointsAskedFor) {
  const std::string id = CreateCustomer("多次回访客户", world->rep_id);
  nlohmann::json batch = {{"requests", nlohmann::json::array()}};
  for (int i = 0; i < 12; ++i) {
    batch["requests"].push_back(
        {{"touchpoint",
          {{"customerId", id},
           {"occurTime", "2026-11-" + std::to_string(10 + i) + "T08:00:00Z"},
           {"channel", "CHANNEL_WECOM"},
           {"category", "CATEGORY_SALES"},
           {"subject", "回访 " + std::to_string(i)}}},
         {"requestId", "tp-count-" + std::to_string(i)}});
  }
  HttpReply recorded;
  ASSERT_TRUE(Eventually([&] {
    recorded = Http("POST", "/v1/touchpoints:batchRecord", world->admin_token, batch.dump());
    return recorded.status == 200 && recorded.json.value("recordedCount", 0) == 12;
  }));
  // Every touchpoint event applied, then one read to fill the cache: what follows are hits.
  for (const nlohmann::json& result : recorded.json["results"]) {
    WaitForGateway("touchpoints", result["touchpoint"].value("touchpointId", ""));
  }
  gv1::GetCustomer360Response view;
  std::string cache;
  ASSERT_TRUE(Get360(world->admin_token, id, &view).ok());
  ASSERT_TRUE(Get360(world->admin_token, id, &view, &cache).ok());
  EXPECT_EQ(cache, "hit");
  ASSERT_EQ(view.recent_touchpoints_size(), 10);
  EXPECT_EQ(view.recent_touchpoints(0).subject(), "回访 11");
  EXPECT_EQ(view.recent_touchpoints(9).subject(), "回访 2");

  const HttpReply three =
      Http("GET", "/v1/customers/" + id + "/360?touchpointCount=3", world->admin_token);
  ASSERT_EQ(three.status, 200) << three.body;
  EXPECT_EQ(three.header("x-touchline-cache"), "hit");
  ASSERT_EQ(three.json["recentTouchpoints"].size(), 3u);
  EXPECT_EQ(three.json["recentTouchpoints"][2]["subject"], "回访 9");
  const HttpReply too_many =
      Http("GET", "/v1/customers/" + id + "/360?touchpointCount=21", world->admin_token);
  EXPECT_EQ(too_many.status, 400) << too_many.body;
}

TEST_F(GatewayProcessTest, ServicesErrorsPassThroughWithTheirDetails) {
  cv1::CreateCustomerRequest request;
  request.mutable_customer()->set_kind(cv1::CUSTOMER_KIND_ORGANIZATION);
  request.mutable_customer()->set_display_name("坏电话");
  request.mutable_customer()->add_contact_persons()->add_phones()->set_number("12");
  cv1::CreateCustomerResponse response;
  const grpc::Status status =
      cv1::ContactsService::NewStub(GatewayChannel())
          ->CreateCustomer(As(world->admin_token).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const std::string phone_field = "customer.contact_persons[0].phones[0].number";
  bool named = false;
  for (const auto& [field, description] : status::FieldViolationsOf(status)) {
    named |= field == phone_field;
  }
  EXPECT_TRUE(named) << status.error_message();

  const HttpReply http = Http(
      "POST", "/v1/customers", world->admin_token,
      R"({"customer":{"kind":"CUSTOMER_KIND_ORGANIZATION","displayName":"坏电话","contactPersons":[{"phones":[{"number":"12"}]}]}})");
  EXPECT_EQ(http.status, 400) << http.body;
  EXPECT_EQ(http.json.value("code", 0), 3);
  ASSERT_EQ(http.json["details"].size(), 1u) << http.body;
  EXPECT_EQ(http.json["details"][0]["@type"], "type.googleapis.com/google.rpc.BadRequest");
  bool http_named = false;
  for (const nlohmann::json& violation : http.json["details"][0]["fieldViolations"]) {
    http_named |= violation.value("field", "") == phone_field;
  }
  EXPECT_TRUE(http_named) << http.body;
}

TEST_F(GatewayProcessTest, RequestIdTravelsToTheServiceAndBack) {
  cv1::GetCustomerRequest request;
  request.set_customer_id(world->owned);
  cv1::GetCustomerResponse response;
  auto context = As(world->admin_token);
  context->AddMetadata("x-request-id", "gw-trace-0001");
  ASSERT_TRUE(cv1::ContactsService::NewStub(GatewayChannel())
                  ->GetCustomer(context.get(), request, &response)
                  .ok());
  const auto echoed = context->GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(echoed, context->GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(echoed->second.data(), echoed->second.size()), "gw-trace-0001");
  EXPECT_EQ(Http("GET", "/v1/customers/" + world->owned, world->admin_token, "",
                 {{"X-Request-Id", "gw-trace-0002"}})
                .header("x-request-id"),
            "gw-trace-0002");
}

TEST_F(GatewayProcessTest, CallsWithoutAValidCredentialAreUnauthenticated) {
  cv1::ListCustomersRequest request;
  cv1::ListCustomersResponse response;
  auto contacts = cv1::ContactsService::NewStub(GatewayChannel());
  EXPECT_EQ(contacts->ListCustomers(As("").get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(contacts->ListCustomers(As("not.a.token").get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  gv1::GetCustomer360Response view;
  EXPECT_EQ(Get360("", world->owned, &view).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  const HttpReply none = Http("GET", "/v1/customers");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.json.value("code", 0), 16);
  EXPECT_EQ(none.header("www-authenticate"), R"(Bearer realm="touchline")");
  EXPECT_EQ(Http("GET", "/v1/customers/" + world->owned + "/360", "forged").status, 401);
  // Login needs no credential, but it needs the tenant.
  EXPECT_EQ(Http("POST", "/v1/sessions:login", "", R"({"username":"admin","password":"x"})").status,
            401);
}

TEST_F(GatewayProcessTest, UnknownMethodsAndRoutesAreRefusedClearly) {
  grpc::GenericStub stub(GatewayChannel());
  grpc::ClientContext context;
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  stub.UnaryCall(&context, "/touchline.contacts.v1.ContactsService/DropAllCustomers",
                 grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_one();
                 });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);

  const HttpReply unknown = Http("GET", "/v1/secrets", world->admin_token);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.json.value("message", ""), "no route for GET /v1/secrets");
  const HttpReply wrong_method = Http("DELETE", "/v1/customers", world->admin_token);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("allow"), "GET, POST");
}

TEST_F(GatewayProcessTest, BadJsonUnknownParametersAndOversizedBodiesGetClearErrors) {
  const auto field_of = [](const HttpReply& reply) -> std::string {
    if (!reply.json.is_object() || !reply.json.contains("details")) return "";
    return reply.json["details"][0]["fieldViolations"][0].value("field", "");
  };
  const HttpReply malformed = Http("POST", "/v1/customers", world->admin_token, R"({"customer": )");
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_EQ(field_of(malformed), "body");

  const HttpReply typo = Http("POST", "/v1/customers", world->admin_token,
                              R"({"customer":{"displayNam":"拼写错误"}})");
  EXPECT_EQ(typo.status, 400) << typo.body;
  EXPECT_EQ(field_of(typo), "body");

  const HttpReply parameter = Http("GET", "/v1/customers?pageSise=3", world->admin_token);
  EXPECT_EQ(parameter.status, 400) << parameter.body;
  EXPECT_EQ(field_of(parameter), "pageSise");

  const std::string big = R"({"customer":{"displayName":")" + std::string(70000, 'x') + R"("}})";
  const HttpReply oversized = Http("POST", "/v1/customers", world->admin_token, big);
  EXPECT_EQ(oversized.status, 413) << oversized.body;
  EXPECT_EQ(oversized.json.value("code", 0), 3);
  EXPECT_EQ(field_of(oversized), "body");
  // Nothing was created by any of them.
  const HttpReply list = Http(
      "GET", "/v1/customers?displayNamePrefix=" + testing::UrlEncode("拼写"), world->admin_token);
  EXPECT_EQ(list.status, 200);
  // An empty list is there, empty, as portals expect ({"customers":[]}, not {}).
  EXPECT_EQ(list.json.value("customers", nlohmann::json()), nlohmann::json::array()) << list.body;
}

TEST_F(GatewayProcessTest, AFormEncodedBodyIsReadAsJsonNotAsParameters) {
  // What `curl -d '{...}'` sends: JSON labelled as a form. Its fields must neither become
  // query parameters nor end up in an error message.
  const HttpReply login = Http(
      "POST", "/v1/sessions:login", "",
      nlohmann::json{{"username", "admin"}, {"password", testing::kAdminPassword}}.dump(),
      {{"X-Touchline-Tenant", kTenant}, {"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(login.status, 200) << login.body;
  EXPECT_FALSE(login.json.value("accessToken", "").empty());
}

TEST_F(GatewayProcessTest, CorsAnswersConfiguredOriginsOnly) {
  const HttpReply preflight =
      Http("OPTIONS", "/v1/customers", "", "",
           {{"Origin", kPortal}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.header("access-control-allow-origin"), kPortal);
  EXPECT_EQ(preflight.header("access-control-allow-methods"), "GET, POST");
  EXPECT_NE(preflight.header("access-control-allow-headers").find("authorization"),
            std::string::npos);

  const HttpReply allowed =
      Http("GET", "/v1/customers", world->admin_token, "", {{"Origin", kPortal}});
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(allowed.header("access-control-allow-origin"), kPortal);

  const HttpReply foreign =
      Http("GET", "/v1/customers", world->admin_token, "", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(foreign.status, 403);
  EXPECT_EQ(foreign.header("access-control-allow-origin"), "");
}

// Last: it restarts the gateway with tight limits.
TEST_F(GatewayProcessTest, RateLimitsPerApiKeyAndPerPartnerOrganisation) {
  const HttpReply key = Http(
      "POST", "/v1/apiKeys", world->admin_token,
      nlohmann::json{{"apiKey", {{"displayName", "ERP 集成"}, {"userId", world->rep_id}}}}.dump());
  ASSERT_EQ(key.status, 200) << key.body;
  const std::string secret = key.json.value("secret", "");
  ASSERT_FALSE(secret.empty()) << key.body;

  world->suite->StartGateway({"--rate_limit_per_api_key=1/m:2", "--rate_limit_per_partner=1/m:3"});
  ASSERT_FALSE(HasFatalFailure());
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Http("GET", "/v1/customers", "", "", {{"X-Api-Key", secret}}).status, 200) << i;
  }
  const HttpReply limited = Http("GET", "/v1/customers", "", "", {{"X-Api-Key", secret}});
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_GE(std::stoi(limited.header("retry-after").empty() ? "0" : limited.header("retry-after")),
            1);
  EXPECT_EQ(limited.json.value("code", 0), 8);
  bool has_retry_info = false;
  for (const nlohmann::json& detail : limited.json["details"]) {
    has_retry_info |= detail.value("@type", "") == "type.googleapis.com/google.rpc.RetryInfo";
  }
  EXPECT_TRUE(has_retry_info) << limited.body;
  // The same bucket over gRPC.
  cv1::ListCustomersRequest request;
  cv1::ListCustomersResponse response;
  grpc::ClientContext context;
  context.AddMetadata("x-api-key", secret);
  EXPECT_EQ(cv1::ContactsService::NewStub(GatewayChannel())
                ->ListCustomers(&context, request, &response)
                .error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);

  // The partner organisation's budget covers every route, the 360 view included.
  gv1::GetCustomer360Response view;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Get360(world->partner_token, world->shared, &view).ok()) << i;
  }
  EXPECT_EQ(Get360(world->partner_token, world->shared, &view).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(Http("GET", "/v1/customers", world->partner_token).status, 429);
  // Employees signed in with a token have neither limit.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Http("GET", "/v1/customers", world->admin_token).status, 200) << i;
  }
}

}  // namespace
}  // namespace touchline
