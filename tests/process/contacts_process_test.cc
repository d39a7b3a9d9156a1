// The real touchline-contacts binary as an operator runs it: start, health, SIGTERM, kill -9,
// bad configuration. Needs the PostgreSQL and Redis the test command starts.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
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
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/events/v1/event.pb.h"

extern char** environ;

namespace touchline {
namespace {

namespace v1 = ::touchline::contacts::v1;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

int FreePort() {
  // Bind to port 0 and release it: the binary binds it right after (a narrow race we accept
  // in a test; the service itself never uses fixed ports in tests otherwise).
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class ContactsProcess {
 public:
  ContactsProcess(std::vector<std::string> args, std::string stderr_path) {
    std::vector<char*> argv;
    std::string binary = TOUCHLINE_CONTACTS_BINARY;
    argv.push_back(binary.data());
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ContactsProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Waits for exit; returns the exit code, or -1 on a signal or after `timeout`.
  int Wait(std::chrono::seconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < give_up) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  void Kill(int signal) { ::kill(pid_, signal); }

 private:
  pid_t pid_ = -1;
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

  // Polls grpc.health.v1 until `want` or 20 s.
  bool WaitForHealth(HealthCheckResponse::ServingStatus want) {
    // Short reconnect backoff: the server refuses connects until it has started.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateCustomChannel(Address(), grpc::InsecureChannelCredentials(), args));
    for (int i = 0; i < 400; ++i) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      HealthCheckRequest request;
      request.set_service("touchline.contacts.v1.ContactsService");
      HealthCheckResponse response;
      if (stub->Check(&context, request, &response).ok() && response.status() == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
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
  int port_ = FreePort();
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
  std::ifstream in(log_);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  EXPECT_NE(text.find("pg_dsn"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}

}  // namespace
}  // namespace touchline
