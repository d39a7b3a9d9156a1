// The real touchline-contacts and touchline-touchpoints binaries together, as an operator runs
// them: customers created in contacts reach the touchpoints service through the event stream,
// an acknowledged touchpoint survives kill -9, a merge in contacts moves touchpoints, SIGTERM
// drains, bad configuration fails fast. Needs the PostgreSQL and Redis the test command starts.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/auth/request_context.h"
#include "common/events/outbox.h"
#include "common/redis/pool.h"
#include "gtest/gtest.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/process.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.grpc.pb.h"

namespace touchline {
namespace {

using grpc::health::v1::HealthCheckResponse;
namespace cv1 = ::touchline::contacts::v1;
namespace tv1 = ::touchline::touchpoints::v1;

constexpr char kTouchpointsService[] = "touchline.touchpoints.v1.TouchpointsService";

// Retries `attempt` every 50 ms for up to 15 s until it returns true.
bool Eventually(const std::function<bool()>& attempt) {
  for (int i = 0; i < 300; ++i) {
    if (attempt()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class TouchpointsProcessTest : public ::testing::Test {
 protected:
  std::vector<std::string> Args(const std::string& schema, int port) const {
    return {"--pg_dsn=" + testing::TestPgDsn(),
            "--redis_addr=" + testing::TestRedisAddr(),
            "--pg_schema=" + schema,
            "--events_stream_prefix=" + prefix_,
            "--listen_address=127.0.0.1:" + std::to_string(port),
            "--metrics_address="};
  }
  std::unique_ptr<testing::ServiceProcess> StartContacts() {
    auto p = std::make_unique<testing::ServiceProcess>(
        TOUCHLINE_CONTACTS_BINARY, Args(contacts_schema_.name(), contacts_port_), log_ + ".contacts");
    EXPECT_TRUE(testing::WaitForHealth(Address(contacts_port_),
                                       "touchline.contacts.v1.ContactsService",
                                       HealthCheckResponse::SERVING));
    return p;
  }
  std::unique_ptr<testing::ServiceProcess> StartTouchpoints(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = Args(touchpoints_schema_.name(), touchpoints_port_);
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<testing::ServiceProcess>(TOUCHLINE_TOUCHPOINTS_BINARY, args, log_);
  }
  static std::string Address(int port) { return "127.0.0.1:" + std::to_string(port); }

  static void SetTenant(grpc::ClientContext& context) {
    context.AddMetadata(auth::kTenantHeader, "acme");
    context.AddMetadata(auth::kCallerHeader, "rep-7");
  }

  std::string CreateCustomer(const std::string& name) {
    auto stub = cv1::ContactsService::NewStub(
        grpc::CreateChannel(Address(contacts_port_), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    SetTenant(context);
    cv1::CreateCustomerRequest request;
    request.mutable_customer()->set_kind(cv1::CUSTOMER_KIND_ORGANIZATION);
    request.mutable_customer()->set_display_name(name);
    cv1::CreateCustomerResponse response;
    const grpc::Status status = stub->CreateCustomer(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.customer().customer_id();
  }

  std::unique_ptr<tv1::TouchpointsService::Stub> Touchpoints() {
    return tv1::TouchpointsService::NewStub(
        grpc::CreateChannel(Address(touchpoints_port_), grpc::InsecureChannelCredentials()));
  }

  // Records a call for `customer`, retrying while the customer has not reached the
  // touchpoints service's read model yet. Returns the response status of the last attempt.
  grpc::Status Record(const std::string& customer, const std::string& request_id,
                      tv1::RecordTouchpointResponse* response) {
    grpc::Status status;
    Eventually([&] {
      grpc::ClientContext context;
      SetTenant(context);
      tv1::RecordTouchpointRequest request;
      request.set_request_id(request_id);
      tv1::Touchpoint* t = request.mutable_touchpoint();
      t->set_customer_id(customer);
      t->mutable_occur_time()->set_seconds(occur_seconds_);
      t->set_channel(tv1::CHANNEL_PHONE);
      t->set_category(tv1::CATEGORY_SERVICE);
      t->set_subject("客户投诉：物流延迟");
      status = Touchpoints()->RecordTouchpoint(&context, request, response);
      return status.error_code() != grpc::StatusCode::INVALID_ARGUMENT &&
             status.error_code() != grpc::StatusCode::UNAVAILABLE;
    });
    return status;
  }

  std::vector<std::string> Timeline(const std::string& customer) {
    grpc::ClientContext context;
    SetTenant(context);
    tv1::ListTouchpointsRequest request;
    request.set_customer_id(customer);
    tv1::ListTouchpointsResponse response;
    std::vector<std::string> ids;
    if (!Touchpoints()->ListTouchpoints(&context, request, &response).ok()) return ids;
    for (const tv1::Touchpoint& t : response.touchpoints()) ids.push_back(t.touchpoint_id());
    return ids;
  }

  testing::ScopedSchema contacts_schema_{"contacts_e2e"};
  testing::ScopedSchema touchpoints_schema_{"touchpoints_e2e"};
  std::string prefix_ = testing::UniqueRedisPrefix();
  int contacts_port_ = testing::FreePort();
  int touchpoints_port_ = testing::FreePort();
  // A retry must send the same touchpoint, occur_time included.
  const int64_t occur_seconds_ = std::time(nullptr) - 600;
  std::string log_ =
      ::testing::TempDir() + "touchpoints_process_" + std::to_string(::getpid()) + ".log";
};

TEST_F(TouchpointsProcessTest, ServesHealthThenDrainsAndExitsZeroOnSigterm) {
  auto process = StartTouchpoints();
  ASSERT_GT(process->pid(), 0);
  ASSERT_TRUE(testing::WaitForHealth(Address(touchpoints_port_), kTouchpointsService,
                                     HealthCheckResponse::SERVING));
  process->Kill(SIGTERM);
  EXPECT_EQ(process->Wait(std::chrono::seconds(20)), 0);
}

TEST_F(TouchpointsProcessTest, AcknowledgedTouchpointSurvivesKillNineAndIsPublishedOnce) {
  auto contacts = StartContacts();
  const std::string customer = CreateCustomer("上海远航物流有限公司");
  std::string id;
  {
    auto touchpoints = StartTouchpoints();
    ASSERT_TRUE(testing::WaitForHealth(Address(touchpoints_port_), kTouchpointsService,
                                       HealthCheckResponse::SERVING));
    tv1::RecordTouchpointResponse response;
    const grpc::Status status = Record(customer, "call-42", &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    id = response.touchpoint().touchpoint_id();
    touchpoints->Kill(SIGKILL);
    touchpoints->Wait(std::chrono::seconds(10));
  }
  auto restarted = StartTouchpoints();
  ASSERT_TRUE(testing::WaitForHealth(Address(touchpoints_port_), kTouchpointsService,
                                     HealthCheckResponse::SERVING));
  EXPECT_EQ(Timeline(customer), std::vector<std::string>{id});
  // The phone retries after the crash: the same request id gives the same touchpoint.
  tv1::RecordTouchpointResponse retry;
  ASSERT_TRUE(Record(customer, "call-42", &retry).ok());
  EXPECT_EQ(retry.touchpoint().touchpoint_id(), id);
  EXPECT_TRUE(retry.replayed());

  auto options = redis::ParseRedisAddress(testing::TestRedisAddr());
  ASSERT_TRUE(options.ok());
  auto redis = redis::Pool::Create(*options);
  ASSERT_TRUE(redis.ok());
  int recorded_events = 0;
  Eventually([&] {
    auto envelopes = testing::ReadEnvelopes(**redis, events::StreamKey(prefix_, "touchpoints"));
    recorded_events = envelopes.ok() ? static_cast<int>(std::count_if(
                                           envelopes->begin(), envelopes->end(),
                                           [&](const events::v1::EventEnvelope& e) {
                                             return e.aggregate_id() == id;
                                           }))
                                     : -1;
    return recorded_events > 0;
  });
  EXPECT_EQ(recorded_events, 1);
}

TEST_F(TouchpointsProcessTest, MergeInContactsMovesTouchpointsToTheSurvivor) {
  auto contacts = StartContacts();
  auto touchpoints = StartTouchpoints();
  ASSERT_TRUE(testing::WaitForHealth(Address(touchpoints_port_), kTouchpointsService,
                                     HealthCheckResponse::SERVING));
  const std::string survivor = CreateCustomer("北京华信科技有限公司");
  const std::string merged = CreateCustomer("华信科技（北京）");
  tv1::RecordTouchpointResponse response;
  ASSERT_TRUE(Record(merged, "visit-1", &response).ok());
  const std::string id = response.touchpoint().touchpoint_id();

  auto stub = cv1::ContactsService::NewStub(
      grpc::CreateChannel(Address(contacts_port_), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  SetTenant(context);
  cv1::MergeCustomersRequest merge;
  merge.set_survivor_customer_id(survivor);
  merge.set_merged_customer_id(merged);
  cv1::MergeCustomersResponse merge_response;
  const grpc::Status status = stub->MergeCustomers(&context, merge, &merge_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(Eventually([&] { return Timeline(survivor) == std::vector<std::string>{id}; }));
  EXPECT_TRUE(Timeline(merged).empty());
}

TEST_F(TouchpointsProcessTest, BadConfigurationExitsTwoWithOneClearLine) {
  auto process = StartTouchpoints({"--max_clock_skew=-1m"});
  EXPECT_EQ(process->Wait(std::chrono::seconds(20)), 2);
  const std::string text = testing::ReadFile(log_);
  EXPECT_NE(text.find("max_clock_skew"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}

}  // namespace
}  // namespace touchline
