// The bootstrap end to end: a real gRPC server in-process, a test EchoService whose handler
// runs through UnaryRunner, and clients over a loopback channel.
#include "common/server/server.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/auth/request_context.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/metrics/testing/http_get.h"
#include "common/server/executor.h"
#include "common/server/testing/reflection.h"
#include "common/server/unary_call.h"
#include "common/status/errors.h"
#include "common/status/grpc_status.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "touchline/testing/v1/echo.grpc.pb.h"

namespace touchline::server {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::touchline::testing::v1::EchoRequest;
using ::touchline::testing::v1::EchoResponse;
using ::touchline::testing::v1::EchoService;

constexpr char kServiceName[] = "touchline.testing.v1.EchoService";

// What the test's Echo handler does after filling the response from the request context.
using Behaviour = std::function<absl::Status(const EchoRequest&)>;

class EchoServiceImpl final : public EchoService::CallbackService {
 public:
  // `on_queued` runs once UnaryRunner::Run has returned, i.e. the call is queued or finished.
  EchoServiceImpl(UnaryRunner* runner, Behaviour behaviour,
                  std::function<void(const EchoRequest&)> on_queued)
      : runner_(runner), behaviour_(std::move(behaviour)), on_queued_(std::move(on_queued)) {}

  ~EchoServiceImpl() override {
    absl::MutexLock lock(&completers_mu_);
    for (std::thread& t : completers_) t.join();
  }

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                 EchoResponse* response) override {
    if (request->text().rfind("async:", 0) == 0) return EchoAsync(context, request, response);
    grpc::ServerUnaryReactor* reactor = runner_->Run(
        context, "Echo", [this, request, response](const auth::RequestContext& caller) {
          handler_runs_.fetch_add(1);
          response->set_text(request->text());
          response->set_tenant_id(caller.tenant_id);
          response->set_caller_id(caller.caller_id);
          response->set_request_id(caller.request_id);
          return behaviour_(*request);
        });
    on_queued_(*request);
    return reactor;
  }

  int handler_runs() const { return handler_runs_.load(); }

 private:
  // RunAsync: the response is filled and the call completed on a thread of its own, as a
  // batch worker would.
  grpc::ServerUnaryReactor* EchoAsync(grpc::CallbackServerContext* context,
                                      const EchoRequest* request, EchoResponse* response) {
    return runner_->RunAsync(
        context, "Echo",
        [this, request, response](const auth::RequestContext& caller, UnaryRunner::Done done) {
          handler_runs_.fetch_add(1);
          absl::MutexLock lock(&completers_mu_);
          completers_.emplace_back([this, request, response, caller, done] {
            response->set_text(request->text());
            response->set_tenant_id(caller.tenant_id);
            done(behaviour_(*request));
          });
        });
  }

  UnaryRunner* const runner_;
  const Behaviour behaviour_;
  const std::function<void(const EchoRequest&)> on_queued_;
  std::atomic<int> handler_runs_ = 0;
  absl::Mutex completers_mu_;
  std::vector<std::thread> completers_ ABSL_GUARDED_BY(completers_mu_);
};

// Metrics off unless a test needs them: destroying a metrics endpoint takes up to 2 s
// (civetweb polls its listener at that interval).
ServerOptions WithoutMetrics() {
  ServerOptions options;
  options.metrics_address = "";
  return options;
}

struct TestServerOptions {
  int threads = 4;
  int max_queue = 16;
  bool access_log = false;
  std::string runner_name = kServiceName;
  std::function<absl::Time()> clock = &absl::Now;
  ServerOptions server = WithoutMetrics();
  Behaviour behaviour = [](const EchoRequest&) { return absl::OkStatus(); };
  std::function<void(const EchoRequest&)> on_queued = [](const EchoRequest&) {};
};

// Owns everything a served EchoService needs, destroyed in the order a service main would.
class TestServer {
 public:
  explicit TestServer(TestServerOptions options)
      : executor_(options.threads, options.max_queue),
        runner_(options.runner_name, &executor_, &authenticator_, options.access_log,
                std::move(options.clock)),
        service_(&runner_, std::move(options.behaviour), std::move(options.on_queued)) {
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Start(options.server, {{kServiceName, &service_}});
    EXPECT_THAT(server, ::touchline::testing::IsOk());
    if (!server.ok()) return;
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
    echo_ = EchoService::NewStub(channel_);
    health_ = Health::NewStub(channel_);
  }

  ~TestServer() {
    if (server_ != nullptr) server_->Shutdown();
    executor_.Shutdown();
  }

  Server& server() { return *server_; }
  Executor& executor() { return executor_; }
  EchoServiceImpl& service() { return service_; }
  EchoService::Stub& echo() { return *echo_; }
  Health::Stub& health() { return *health_; }
  const std::shared_ptr<grpc::Channel>& channel() { return channel_; }

 private:
  Executor executor_;
  auth::MetadataAuthenticator authenticator_;
  UnaryRunner runner_;
  EchoServiceImpl service_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<EchoService::Stub> echo_;
  std::unique_ptr<Health::Stub> health_;
};

// A client context identifying tenant "acme".
std::unique_ptr<grpc::ClientContext> AcmeContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata(auth::kTenantHeader, "acme");
  return context;
}

grpc::Status Echo(TestServer& server, grpc::ClientContext* context, const std::string& text,
                  EchoResponse* response) {
  EchoRequest request;
  request.set_text(text);
  return server.echo().Echo(context, request, response);
}

std::string ServerRequestId(const grpc::ClientContext& context) {
  auto it = context.GetServerInitialMetadata().find(auth::kRequestIdHeader);
  if (it == context.GetServerInitialMetadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

HealthCheckResponse::ServingStatus Check(TestServer& server, const std::string& service) {
  grpc::ClientContext context;
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status status = server.health().Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

// Holds Echo calls whose text is "block" inside their handler until released.
class BlockingHandler {
 public:
  Behaviour AsBehaviour() {
    return [this](const EchoRequest& request) {
      if (request.text() == "block") {
        blocked_.Notify();
        release_.WaitForNotification();
      }
      return absl::OkStatus();
    };
  }

  // Returns once a "block" call is inside its handler. At most one call may block.
  void WaitUntilBlocked() { blocked_.WaitForNotification(); }
  void Release() { release_.Notify(); }

 private:
  absl::Notification blocked_;
  absl::Notification release_;
};

// Runs one Echo call on its own thread, for calls that block in the handler.
class BackgroundEcho {
 public:
  BackgroundEcho(TestServer& server, std::string text)
      : context_(AcmeContext()), thread_([this, &server, text = std::move(text)] {
          status_ = Echo(server, context_.get(), text, &response_);
        }) {}

  // Waits for the call to end and returns its status.
  grpc::Status Wait() {
    thread_.join();
    return status_;
  }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  EchoResponse response_;
  grpc::Status status_;
  std::thread thread_;
};

TEST(ServerTest, UnauthenticatedWithoutTenantAndHandlerNotRun) {
  TestServer server({});
  grpc::ClientContext context;
  EchoResponse response;

  grpc::Status status = Echo(server, &context, "hi", &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "missing x-touchline-tenant metadata");
  EXPECT_EQ(server.service().handler_runs(), 0);
  EXPECT_TRUE(ids::IsUuid(ServerRequestId(context)));
}

TEST(ServerTest, HandlerSeesTenantCallerAndRequestId) {
  TestServer server({});
  auto context = AcmeContext();
  context->AddMetadata(auth::kCallerHeader, "user:7");
  context->AddMetadata(auth::kRequestIdHeader, "req-123");
  EchoResponse response;

  grpc::Status status = Echo(server, context.get(), "你好", &response);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.text(), "你好");
  EXPECT_EQ(response.tenant_id(), "acme");
  EXPECT_EQ(response.caller_id(), "user:7");
  EXPECT_EQ(response.request_id(), "req-123");
  EXPECT_EQ(ServerRequestId(*context), "req-123");
}

TEST(ServerTest, GeneratedRequestIdIsReturnedInMetadata) {
  TestServer server({});
  auto context = AcmeContext();
  EchoResponse response;

  ASSERT_TRUE(Echo(server, context.get(), "hi", &response).ok());

  EXPECT_TRUE(ids::IsUuid(response.request_id()));
  EXPECT_EQ(ServerRequestId(*context), response.request_id());
}

TEST(ServerTest, InvalidArgumentCarriesFieldViolationsToTheClient) {
  TestServerOptions options;
  options.behaviour = [](const EchoRequest&) {
    status::FieldViolations violations;
    violations.Add("text", "must not be empty");
    violations.Add("text", "must be at most 100 characters");
    return violations.ToStatus();
  };
  TestServer server(std::move(options));
  auto context = AcmeContext();
  EchoResponse response;

  grpc::Status status = Echo(server, context.get(), "", &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status::FieldViolationsOf(status),
              ElementsAre(Pair("text", "must not be empty"),
                          Pair("text", "must be at most 100 characters")));
  EXPECT_FALSE(ServerRequestId(*context).empty());
}

TEST(ServerTest, ErrorInfoReasonReachesTheClient) {
  TestServerOptions options;
  options.behaviour = [](const EchoRequest&) {
    return status::WithErrorInfo(absl::AbortedError("etag mismatch"), "ETAG_MISMATCH");
  };
  TestServer server(std::move(options));
  auto context = AcmeContext();
  EchoResponse response;

  absl::Status status = status::FromGrpcStatus(Echo(server, context.get(), "", &response));

  EXPECT_THAT(status, ::touchline::testing::StatusIs(absl::StatusCode::kAborted, "etag mismatch"));
  EXPECT_EQ(status::ErrorReasonOf(status), "ETAG_MISMATCH");
}

TEST(ServerTest, ResourceExhaustedWhenTheQueueIsFull) {
  BlockingHandler gate;
  TestServerOptions options;
  options.threads = 1;
  options.max_queue = 1;
  options.behaviour = gate.AsBehaviour();
  TestServer server(std::move(options));
  BackgroundEcho blocked(server, "block");
  gate.WaitUntilBlocked();
  // The only worker is busy; this fills the one queue slot.
  ASSERT_TRUE(server.executor().TrySubmit([] {}));

  auto context = AcmeContext();
  EchoResponse response;
  grpc::Status status = Echo(server, context.get(), "hi", &response);
  gate.Release();

  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "server overloaded");
  EXPECT_TRUE(blocked.Wait().ok());
  EXPECT_EQ(server.service().handler_runs(), 1);
}

// A clock that can be moved an hour ahead, past every deadline the tests set.
class JumpingClock {
 public:
  absl::Time Now() const {
    return absl::Now() + (jumped_.load() ? absl::Hours(1) : absl::ZeroDuration());
  }
  void Jump() { jumped_ = true; }

 private:
  std::atomic<bool> jumped_ = false;
};

std::unique_ptr<grpc::ClientContext> AcmeContextWithDeadline() {
  auto context = AcmeContext();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(1));
  return context;
}

TEST(ServerTest, CallPastItsDeadlineIsRejectedBeforeQueueing) {
  JumpingClock clock;
  clock.Jump();
  TestServerOptions options;
  options.clock = [&clock] { return clock.Now(); };
  TestServer server(std::move(options));
  auto context = AcmeContextWithDeadline();
  EchoResponse response;

  grpc::Status status = Echo(server, context.get(), "late", &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(status.error_message(), "deadline passed before the call started");
  EXPECT_EQ(server.service().handler_runs(), 0);
}

TEST(ServerTest, QueuedCallPastItsDeadlineIsNotRun) {
  JumpingClock clock;
  BlockingHandler gate;
  absl::Notification late_queued;
  TestServerOptions options;
  options.threads = 1;
  options.clock = [&clock] { return clock.Now(); };
  options.behaviour = gate.AsBehaviour();
  options.on_queued = [&](const EchoRequest& request) {
    if (request.text() == "late") late_queued.Notify();
  };
  TestServer server(std::move(options));
  BackgroundEcho blocked(server, "block");
  gate.WaitUntilBlocked();

  auto context = AcmeContextWithDeadline();
  EchoResponse response;
  std::thread late([&] {
    late_queued.WaitForNotification();  // Queued behind the blocked call...
    clock.Jump();                       // ...when its deadline passes.
    gate.Release();
  });
  grpc::Status status = Echo(server, context.get(), "late", &response);
  late.join();

  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(status.error_message(), "deadline passed while the call was queued");
  EXPECT_TRUE(blocked.Wait().ok());
  EXPECT_EQ(server.service().handler_runs(), 1);
}

TEST(ServerTest, HandlerExceptionBecomesInternal) {
  TestServerOptions options;
  options.behaviour = [](const EchoRequest&) -> absl::Status {
    throw std::runtime_error("connection lost");
  };
  TestServer server(std::move(options));
  auto context = AcmeContext();
  EchoResponse response;

  grpc::Status status = Echo(server, context.get(), "hi", &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "internal error");
}

TEST(ServerTest, LogsFailuresAlwaysAndSuccessesOnlyWithAccessLog) {
  std::vector<std::string> lines;
  log::SetSinkForTest([&lines](std::string_view line) { lines.emplace_back(line); });
  {
    TestServerOptions options;
    options.access_log = true;
    options.behaviour = [](const EchoRequest& request) {
      if (request.text() == "missing") return absl::NotFoundError("no such echo");
      if (request.text() == "broken") return absl::InternalError("invariant violated");
      return absl::OkStatus();
    };
    TestServer server(std::move(options));
    for (const char* text : {"fine", "missing", "broken"}) {
      auto context = AcmeContext();
      context->AddMetadata(auth::kRequestIdHeader, std::string("req-") + text);
      EchoResponse response;
      Echo(server, context.get(), text, &response);
    }
  }  // Everything has been logged once the server has shut down.
  log::SetSinkForTest(nullptr);

  ASSERT_EQ(lines.size(), 3u);
  const auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["request_id"], "req-fine");
  EXPECT_EQ(first["tenant"], "acme");
  EXPECT_EQ(first["method"], "Echo");
  EXPECT_EQ(first["service"], kServiceName);
  EXPECT_EQ(first["code"], "OK");
  EXPECT_TRUE(first.contains("latency_ms"));
  const auto second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["level"], "warning");
  EXPECT_EQ(second["code"], "NOT_FOUND");
  EXPECT_EQ(second["error"], "no such echo");
  const auto third = nlohmann::json::parse(lines[2]);
  EXPECT_EQ(third["level"], "error");
  EXPECT_EQ(third["code"], "INTERNAL");
}

TEST(ServerTest, HealthReportsServingForDefaultAndNamedService) {
  TestServer server({});
  EXPECT_EQ(Check(server, ""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(server, kServiceName), HealthCheckResponse::SERVING);

  grpc::ClientContext context;
  HealthCheckRequest request;
  request.set_service("touchline.unknown.v1.NoService");
  HealthCheckResponse response;
  EXPECT_EQ(server.health().Check(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(ServerTest, ShutdownReportsNotServingAndDrainsInFlightCalls) {
  BlockingHandler gate;
  TestServerOptions options;
  options.behaviour = gate.AsBehaviour();
  TestServer server(std::move(options));
  grpc::ClientContext watch_context;
  HealthCheckRequest watch_request;
  watch_request.set_service(kServiceName);
  auto watch = server.health().Watch(&watch_context, watch_request);
  HealthCheckResponse health;
  ASSERT_TRUE(watch->Read(&health));
  EXPECT_EQ(health.status(), HealthCheckResponse::SERVING);
  BackgroundEcho in_flight(server, "block");
  gate.WaitUntilBlocked();

  std::atomic<bool> shutdown_returned = false;
  std::thread shutdown([&] {
    server.server().Shutdown();
    shutdown_returned = true;
  });
  ASSERT_TRUE(watch->Read(&health));
  EXPECT_EQ(health.status(), HealthCheckResponse::NOT_SERVING);
  watch_context.TryCancel();  // An open Watch would otherwise hold the drain.
  watch->Finish().IgnoreError();
  EXPECT_FALSE(shutdown_returned.load());  // The blocked call is still in flight.
  gate.Release();

  grpc::Status status = in_flight.Wait();
  shutdown.join();

  EXPECT_TRUE(status.ok()) << status.error_message();
  auto context = AcmeContext();
  EchoResponse response;
  EXPECT_EQ(Echo(server, context.get(), "after", &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(ServerTest, DrainTimeoutCancelsCallsStillRunning) {
  BlockingHandler gate;
  TestServerOptions options;
  options.server.drain_timeout = absl::ZeroDuration();
  options.behaviour = gate.AsBehaviour();
  TestServer server(std::move(options));
  BackgroundEcho in_flight(server, "block");
  gate.WaitUntilBlocked();

  std::thread shutdown([&] { server.server().Shutdown(); });
  grpc::Status status = in_flight.Wait();  // Cancelled while the handler still runs.
  gate.Release();
  shutdown.join();

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST(ServerTest, MetricsEndpointServesRequestCounts) {
  // The registry is process-wide: a label of its own keeps counts exact under --gtest_repeat.
  static int runs = 0;
  const std::string service = "server_test.MetricsService_" + std::to_string(++runs);
  TestServerOptions options;
  options.runner_name = service;
  options.server.metrics_address = "127.0.0.1:0";
  TestServer server(std::move(options));
  auto context = AcmeContext();
  EchoResponse response;
  ASSERT_TRUE(Echo(server, context.get(), "hi", &response).ok());
  ASSERT_GT(server.server().metrics_port(), 0);

  TL_ASSERT_OK_AND_ASSIGN(std::string scrape,
                          metrics::testing::HttpGet(server.server().metrics_port(), "/metrics"));

  EXPECT_THAT(scrape, HasSubstr("200 OK"));
  EXPECT_THAT(scrape, HasSubstr("touchline_rpc_requests_total{code=\"OK\",method=\"Echo\","
                                "service=\"" +
                                service + "\"} 1\n"));
  EXPECT_THAT(scrape, HasSubstr("touchline_rpc_latency_seconds_count{method=\"Echo\","
                                "service=\"" +
                                service + "\"} 1\n"));
}

TEST(ServerTest, MetricsOffWhenAddressEmpty) {
  TestServer server({});
  EXPECT_EQ(server.server().metrics_port(), 0);
}

TEST(ServerTest, StartFailsWhenThePortIsTaken) {
  TestServer first({});
  ServerOptions options;
  options.listen_address = "127.0.0.1:" + std::to_string(first.server().port());
  options.metrics_address = "";

  EXPECT_THAT(Server::Start(options, {}),
              ::touchline::testing::StatusIs(absl::StatusCode::kUnavailable,
                                             HasSubstr(options.listen_address)));
}

TEST(ServerTest, ServesReflection) {
  TestServer server({});
  const absl::StatusOr<std::string> services =
      touchline::server::testing::ListServicesByReflection(server.channel());
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, HasSubstr(kServiceName));
  EXPECT_THAT(*services, HasSubstr("grpc.health.v1.Health"));
}

TEST(SignalsTest, WaitReturnsTheBlockedSignal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        BlockTerminationSignals();
        ::kill(::getpid(), SIGTERM);
        const int received = WaitForTerminationSignal();
        std::_Exit(received == SIGTERM ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(UnaryRunnerAsyncTest, FinishesWhenDoneIsCalledFromAnotherThread) {
  TestServer server({});
  auto context = AcmeContext();
  EchoResponse response;
  const grpc::Status status = Echo(server, context.get(), "async:你好", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.text(), "async:你好");
  EXPECT_EQ(response.tenant_id(), "acme");
  EXPECT_FALSE(ServerRequestId(*context).empty());
}

TEST(UnaryRunnerAsyncTest, UnauthenticatedCallNeverReachesTheHandler) {
  TestServer server({});
  grpc::ClientContext context;
  EchoResponse response;
  EXPECT_EQ(Echo(server, &context, "async:hi", &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(server.service().handler_runs(), 0);
}

TEST(UnaryRunnerAsyncTest, StatusPassedToDoneReachesTheClientWithDetails) {
  TestServerOptions options;
  options.behaviour = [](const EchoRequest&) {
    return status::InvalidArgument("text", "must not start with async");
  };
  TestServer server(std::move(options));
  auto context = AcmeContext();
  EchoResponse response;
  const grpc::Status status = Echo(server, context.get(), "async:hi", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status::FieldViolationsOf(status),
              ElementsAre(Pair("text", "must not start with async")));
}

}  // namespace
}  // namespace touchline::server
