// The real touchline-contacts binary as an operator runs it: start, health, SIGTERM, kill -9,
// bad configuration. Calls carry an administrator's access token from the real permissions
// service (testing::Suite). Needs the PostgreSQL and Redis the test command starts.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/events/outbox.h"
#include "common/redis/pool.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/process.h"
#include "tests/testing/suite.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline {
namespace {

namespace v1 = ::touchline::contacts::v1;
using testing::Suite;

constexpr char kTenant[] = "acme";

Suite::Options ContactsOnly() {
  Suite::Options options;
  options.tenants = {kTenant};
  options.touchpoints = false;
  return options;
}

std::unique_ptr<v1::ContactsService::Stub> Stub(const Suite& suite) {
  return v1::ContactsService::NewStub(
      grpc::CreateChannel(suite.contacts_address(), grpc::InsecureChannelCredentials()));
}

TEST(ContactsProcessTest, ServesHealthThenDrainsAndExitsZeroOnSigterm) {
  Suite suite(ContactsOnly());
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_GT(suite.contacts()->pid(), 0);
  suite.contacts()->Kill(SIGTERM);
  EXPECT_EQ(suite.contacts()->Wait(std::chrono::seconds(20)), 0);
}

TEST(ContactsProcessTest, AcknowledgedCreateSurvivesKillNineAndItsEventIsPublishedOnce) {
  Suite suite(ContactsOnly());
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const std::string token = suite.AdminToken(kTenant);
  std::string id;
  {
    grpc::ClientContext context;
    Suite::Authorize(context, token);
    v1::CreateCustomerRequest request;
    request.mutable_customer()->set_kind(v1::CUSTOMER_KIND_PERSON);
    request.mutable_customer()->set_display_name("王小明");
    v1::CreateCustomerResponse response;
    const grpc::Status status = Stub(suite)->CreateCustomer(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    id = response.customer().customer_id();
    suite.contacts()->Kill(SIGKILL);
    suite.contacts()->Wait(std::chrono::seconds(10));
  }
  suite.StartContacts();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  grpc::ClientContext context;
  Suite::Authorize(context, token);
  v1::GetCustomerRequest request;
  request.set_customer_id(id);
  v1::GetCustomerResponse response;
  const grpc::Status status = Stub(suite)->GetCustomer(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.customer().display_name(), "王小明");

  auto options = redis::ParseRedisAddress(testing::TestRedisAddr());
  ASSERT_TRUE(options.ok());
  auto redis = redis::Pool::Create(*options);
  ASSERT_TRUE(redis.ok());
  // The relay publishes shortly after start-up; poll for up to 10 s.
  int created_events = 0;
  for (int attempt = 0; attempt < 200 && created_events == 0; ++attempt) {
    auto envelopes =
        testing::ReadEnvelopes(**redis, events::StreamKey(suite.redis_prefix(), "customers"));
    ASSERT_TRUE(envelopes.ok()) << envelopes.status();
    created_events = static_cast<int>(std::count_if(
        envelopes->begin(), envelopes->end(),
        [&id](const events::v1::EventEnvelope& e) { return e.aggregate_id() == id; }));
    if (created_events == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(created_events, 1);
}

class ContactsConfigurationTest : public ::testing::Test {
 protected:
  // A complete command line but for the flags a test leaves out or spoils.
  std::vector<std::string> Args() {
    return {"--pg_dsn=" + testing::TestPgDsn(),
            "--redis_addr=" + testing::TestRedisAddr(),
            "--pg_schema=" + schema_.name(),
            "--listen_address=127.0.0.1:" + std::to_string(testing::FreePort()),
            "--metrics_address=",
            "--permissions_addr=127.0.0.1:" + std::to_string(testing::FreePort()),
            "--jwt_public_key_file=" + key_file_};
  }

  // Runs the binary with `args` and expects exit 2 with one line that mentions `flag`.
  void ExpectRefused(const std::vector<std::string>& args, const std::string& flag) {
    testing::ServiceProcess process(TOUCHLINE_CONTACTS_BINARY, args, log_);
    EXPECT_EQ(process.Wait(std::chrono::seconds(20)), 2) << flag;
    const std::string text = testing::ReadFile(log_);
    EXPECT_NE(text.find(flag), std::string::npos) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  }

  testing::ScopedSchema schema_{"contacts_proc"};
  std::string log_ =
      ::testing::TempDir() + "contacts_process_" + std::to_string(::getpid()) + ".log";
  std::string key_file_ = ::testing::TempDir() + "contacts_no_such_key.pem";
};

TEST_F(ContactsConfigurationTest, BadConfigurationExitsTwoWithOneClearLine) {
  std::vector<std::string> args = Args();
  args[0] = "--pg_dsn=";
  ExpectRefused(args, "pg_dsn");
}

TEST_F(ContactsConfigurationTest, EnforcementFlagsAreRequired) {
  std::vector<std::string> args = Args();
  args[5] = "--permissions_addr=";
  ExpectRefused(args, "--permissions_addr is required");
  args = Args();
  args[6] = "--jwt_public_key_file=";
  ExpectRefused(args, "--jwt_public_key_file is required");
  // A key file that is not there.
  ExpectRefused(Args(), "--jwt_public_key_file: cannot read");
}

}  // namespace
}  // namespace touchline
