// Redis killed under a running gateway: the 360 view and every forwarded call keep being
// served from the services with no errors, and caching resumes once Redis is back. The suite
// runs on a Redis of this test's own, so killing it disturbs no other test.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/events/outbox.h"
#include "common/redis/pool.h"
#include "gtest/gtest.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/http_client.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/suite.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/gateway/v1/gateway_service.grpc.pb.h"

namespace touchline {
namespace {

using testing::Eventually;

namespace cv1 = ::touchline::contacts::v1;
namespace gv1 = ::touchline::gateway::v1;

class GatewayRedisFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    testing::Suite::Options options;
    options.gateway = true;
    options.redis_addr = redis_.address();
    suite_ = std::make_unique<testing::Suite>(options);
    ASSERT_FALSE(HasFatalFailure());
    token_ = suite_->AdminToken("acme");
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    testing::Suite::Authorize(*context, token_);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  std::shared_ptr<grpc::Channel> Gateway() {
    return grpc::CreateChannel(suite_->gateway_address(), grpc::InsecureChannelCredentials());
  }

  // GetCustomer360 of `id` over gRPC; how it was served, or "error: ..." when it failed.
  std::string View(const std::string& id) {
    gv1::GetCustomer360Request request;
    request.set_customer_id(id);
    gv1::GetCustomer360Response response;
    auto context = Context();
    const grpc::Status status =
        gv1::GatewayService::NewStub(Gateway())->GetCustomer360(context.get(), request, &response);
    if (!status.ok()) return "error: " + status.error_message();
    const auto cache = context->GetServerInitialMetadata().find("x-touchline-cache");
    if (cache == context->GetServerInitialMetadata().end()) return "no header";
    return std::string(cache->second.data(), cache->second.size());
  }

  testing::ThrowawayRedis redis_;
  std::unique_ptr<testing::Suite> suite_;
  std::string token_;
};

TEST_F(GatewayRedisFaultTest, ServesWithoutRedisAndCachesAgainWhenItReturns) {
  cv1::CreateCustomerRequest create;
  create.mutable_customer()->set_kind(cv1::CUSTOMER_KIND_ORGANIZATION);
  create.mutable_customer()->set_display_name("上海申通物流");
  cv1::CreateCustomerResponse created;
  auto contacts = cv1::ContactsService::NewStub(Gateway());
  ASSERT_TRUE(contacts->CreateCustomer(Context().get(), create, &created).ok());
  const std::string id = created.customer().customer_id();
  // Its creation event would drop what is cached before the gateway has applied it.
  TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions options, redis::ParseRedisAddress(redis_.address()));
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::Pool> redis, redis::Pool::Create(options));
  ASSERT_TRUE(Eventually([&] {
    const absl::StatusOr<bool> applied = testing::GroupHasApplied(
        *redis, events::StreamKey(suite_->redis_prefix(), "customers"), "gateway", id);
    return applied.ok() && *applied;
  }));
  EXPECT_EQ(View(id), "miss");
  EXPECT_EQ(View(id), "hit");

  redis_.Kill();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(View(id), "bypass") << i;
    cv1::GetCustomerRequest get;
    get.set_customer_id(id);
    cv1::GetCustomerResponse customer;
    const grpc::Status status = contacts->GetCustomer(Context().get(), get, &customer);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(customer.customer().display_name(), "上海申通物流");
    const testing::HttpReply http = testing::HttpCall(suite_->gateway_http_port(), "GET",
                                                      "/v1/customers/" + id + "/360", token_);
    EXPECT_EQ(http.status, 200) << http.body;
    EXPECT_EQ(http.header("x-touchline-cache"), "bypass");
    EXPECT_EQ(http.json["customer"]["displayName"], "上海申通物流");
  }

  ASSERT_TRUE(redis_.Start().ok());
  // The gateway leaves the cache alone for a moment after a failure, then uses it again.
  EXPECT_TRUE(Eventually([&] { return View(id) == "hit"; })) << View(id);
}

}  // namespace
}  // namespace touchline
