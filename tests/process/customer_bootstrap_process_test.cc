// The customer read model built from scratch: touchline-touchpoints started after contacts has
// had its customers for a long time, and after the customers stream lost everything it held,
// still knows every customer (from contacts' CustomerFeedService, over gRPC with the service
// credential), merges included. Needs the PostgreSQL and Redis the test command starts.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/events/outbox.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/suite.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"

namespace touchline {
namespace {

namespace v1 = ::touchline::contacts::v1;
using testing::Suite;

constexpr char kTenant[] = "acme";
constexpr int kCustomers = 40;

TEST(CustomerBootstrapProcessTest, TouchpointsStartedAfterTheStreamWasEmptiedKnowsEveryCustomer) {
  Suite::Options options;
  options.tenants = {kTenant};
  options.touchpoints = false;
  Suite suite(options);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const std::string token = suite.AdminToken(kTenant);
  const auto contacts = v1::ContactsService::NewStub(
      grpc::CreateChannel(suite.contacts_address(), grpc::InsecureChannelCredentials()));
  std::vector<std::string> ids;
  for (int i = 0; i < kCustomers; ++i) {
    grpc::ClientContext context;
    Suite::Authorize(context, token);
    v1::CreateCustomerRequest request;
    request.mutable_customer()->set_kind(v1::CUSTOMER_KIND_ORGANIZATION);
    request.mutable_customer()->set_display_name(absl::StrCat("华东经销商", i, "号"));
    request.mutable_customer()->set_region(i % 2 ? "华东" : "华南");
    v1::CreateCustomerResponse response;
    const grpc::Status status = contacts->CreateCustomer(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ids.push_back(response.customer().customer_id());
  }
  {
    grpc::ClientContext context;
    Suite::Authorize(context, token);
    v1::MergeCustomersRequest request;
    request.set_survivor_customer_id(ids[0]);
    request.set_merged_customer_id(ids[1]);
    v1::MergeCustomersResponse response;
    const grpc::Status status = contacts->MergeCustomers(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Every event relayed, then the whole stream gone: what a consumer group started now finds
  // of a stream trimmed long ago.
  auto redis_options = redis::ParseRedisAddress(testing::TestRedisAddr());
  ASSERT_TRUE(redis_options.ok());
  auto redis = redis::Pool::Create(*redis_options);
  ASSERT_TRUE(redis.ok());
  const std::string stream = events::StreamKey(suite.redis_prefix(), "customers");
  for (int i = 0; i < 200; ++i) {
    auto length = (*redis)->Command({"XLEN", stream});
    if (length.ok() && length->integer() >= kCustomers + 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE((*redis)->Command({"DEL", stream}).ok());

  suite.StartTouchpoints();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  pg::PoolOptions pool_options;
  pool_options.dsn = testing::TestPgDsn();
  pool_options.search_path = suite.touchpoints_schema();
  pool_options.size = 1;
  auto pool = pg::Pool::Create(pool_options);
  ASSERT_TRUE(pool.ok());
  int64_t known = 0;
  bool finished = false;
  for (int i = 0; i < 300 && !finished; ++i) {
    const absl::Status read = (*pool)->Query([&](pqxx::nontransaction& txn) {
      known = txn.exec("SELECT count(*) FROM customers")[0][0].as<int64_t>();
      finished = !txn.exec(
                         "SELECT 1 FROM customer_read_model_passes WHERE finish_time IS NOT "
                         "NULL AND reason = 'first start'")
                      .empty();
      return absl::OkStatus();
    });
    ASSERT_TRUE(read.ok()) << read;
    if (!finished) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(finished) << "no finished pass; customers known: " << known;
  EXPECT_EQ(known, kCustomers);
  std::string merged_into;
  std::string south_region;
  ASSERT_TRUE((*pool)
                  ->Query([&](pqxx::nontransaction& txn) {
                    merged_into = txn.exec_params(
                                         "SELECT coalesce(merged_into::text, '') FROM "
                                         "customers WHERE customer_id = $1::uuid",
                                         ids[1])[0][0]
                                      .as<std::string>();
                    south_region = txn.exec_params(
                                          "SELECT region FROM customers WHERE "
                                          "customer_id = $1::uuid",
                                          ids[2])[0][0]
                                       .as<std::string>();
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(merged_into, ids[0]);
  EXPECT_EQ(south_region, "华南");
}

}  // namespace
}  // namespace touchline
