// The real touchline-contacts binary as an operator runs it: start, health, SIGTERM, kill -9,
// bad configuration. Needs the PostgreSQL and Redis the test command starts.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/auth/request_context.h"
#include "common/events/outbox.h"
#include "common/redis/pool.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/process.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline {
namespace {

namespace v1 = ::touchline::contacts::v1;
using grpc::health::v1::HealthCheckResponse;

// The contacts binary with `args`, its stderr to `log`.
class ContactsProcess : public testing::ServiceProcess {
 public:
  ContactsProcess(std::vector<std::string> args, const std::string& log)
      : ServiceProcess(TOUCHLINE_CONTACTS_BINARY, std::move(args), log) {}
};

class ContactsProcessTest : public ::testing::Test {
 protected:
  std::vector<std::string> Args() {
    return {"--pg_dsn=" + testing::TestPgDsn(),
            "--redis_addr=" + testing::TestRedisAddr(),
            "--pg_schema=" + schema_.name(),
            "--events_stream_prefix=" + prefix_,
            "--listen_address=127.0.0.1:" + std::to_string(port_),
            "--metrics_address="};
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }

  bool WaitForHealth(HealthCheckResponse::ServingStatus want) {
    return testing::WaitForHealth(Address(), "touchline.contacts.v1.ContactsService", want);
  }

  std::unique_ptr<v1::ContactsService::Stub> Stub() {
    return v1::ContactsService::NewStub(
        grpc::CreateChannel(Address(), grpc::InsecureChannelCredentials()));
  }

  static void SetTenant(grpc::ClientContext& context) {
    context.AddMetadata(auth::kTenantHeader, "acme");
    context.AddMetadata(auth::kCallerHeader, "ops");
  }

  testing::ScopedSchema schema_{"contacts_proc"};
  std::string prefix_ = testing::UniqueRedisPrefix();
  int port_ = testing::FreePort();
  std::string log_ =
      ::testing::TempDir() + "contacts_process_" + std::to_string(::getpid()) + ".log";
};

TEST_F(ContactsProcessTest, ServesHealthThenDrainsAndExitsZeroOnSigterm) {
  ContactsProcess process(Args(), log_);
  ASSERT_GT(process.pid(), 0);
  ASSERT_TRUE(WaitForHealth(HealthCheckResponse::SERVING));
  process.Kill(SIGTERM);
  EXPECT_EQ(process.Wait(std::chrono::seconds(20)), 0);
}

TEST_F(ContactsProcessTest, AcknowledgedCreateSurvivesKillNineAndItsEventIsPublishedOnce) {
  std::string id;
  {
    ContactsProcess process(Args(), log_);
    ASSERT_TRUE(WaitForHealth(HealthCheckResponse::SERVING));
    grpc::ClientContext context;
    SetTenant(context);
    v1::CreateCustomerRequest request;
    request.mutable_customer()->set_kind(v1::CUSTOMER_KIND_PERSON);
    request.mutable_customer()->set_display_name("王小明");
    v1::CreateCustomerResponse response;
    ASSERT_TRUE(Stub()->CreateCustomer(&context, request, &response).ok());
    id = response.customer().customer_id();
    process.Kill(SIGKILL);
    process.Wait(std::chrono::seconds(10));
  }
  ContactsProcess restarted(Args(), log_);
  ASSERT_TRUE(WaitForHealth(HealthCheckResponse::SERVING));
  grpc::ClientContext context;
  SetTenant(context);
  v1::GetCustomerRequest request;
  request.set_customer_id(id);
  v1::GetCustomerResponse response;
  ASSERT_TRUE(Stub()->GetCustomer(&context, request, &response).ok());
  EXPECT_EQ(response.customer().display_name(), "王小明");

  auto options = redis::ParseRedisAddress(testing::TestRedisAddr());
  ASSERT_TRUE(options.ok());
  auto redis = redis::Pool::Create(*options);
  ASSERT_TRUE(redis.ok());
  // The relay publishes shortly after start-up; poll for up to 10 s.
  int created_events = 0;
  for (int attempt = 0; attempt < 200 && created_events == 0; ++attempt) {
    auto envelopes = testing::ReadEnvelopes(**redis, events::StreamKey(prefix_, "customers"));
    ASSERT_TRUE(envelopes.ok()) << envelopes.status();
    created_events = static_cast<int>(std::count_if(
        envelopes->begin(), envelopes->end(),
        [&id](const events::v1::EventEnvelope& e) { return e.aggregate_id() == id; }));
    if (created_events == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(created_events, 1);
}

TEST_F(ContactsProcessTest, BadConfigurationExitsTwoWithOneClearLine) {
  std::vector<std::string> args = Args();
  args[0] = "--pg_dsn=";
  ContactsProcess process(args, log_);
  EXPECT_EQ(process.Wait(std::chrono::seconds(20)), 2);
  const std::string text = testing::ReadFile(log_);
  EXPECT_NE(text.find("pg_dsn"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}

}  // namespace
}  // namespace touchline
