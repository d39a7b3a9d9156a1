// touchline-grpc against a real gRPC server in-process: the library through Run(), and the
// built binary (TOUCHLINE_GRPC_BINARY) for what only the binary decides: the command line,
// and which descriptors are linked into it.
#include "gateway/cli/grpc_call.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/status/errors.h"
#include "common/status/grpc_status.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "touchline/gateway/v1/gateway_service.grpc.pb.h"
#include "touchline/testing/v1/echo.grpc.pb.h"

namespace touchline::cli {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::touchline::gateway::v1::GatewayService;
using ::touchline::gateway::v1::GetCustomer360Request;
using ::touchline::gateway::v1::GetCustomer360Response;
using ::touchline::testing::StatusIs;
using ::touchline::testing::v1::EchoRequest;
using ::touchline::testing::v1::EchoResponse;
using ::touchline::testing::v1::EchoService;

constexpr char kEcho[] = "touchline.testing.v1.EchoService/Echo";
constexpr char kHealthCheck[] = "grpc.health.v1.Health/Check";

std::string MetadataValue(const grpc::ServerContext& context, const std::string& name) {
  const auto it = context.client_metadata().find(name);
  if (it == context.client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

grpc::Status InvalidField(const std::string& field, const std::string& description) {
  status::FieldViolations violations;
  violations.Add(field, description);
  return status::ToGrpcStatus(violations.ToStatus("bad request"));
}

// Echoes the text and the caller's headers; "invalid" fails with a BadRequest, "block" waits
// for Release().
class EchoServiceImpl final : public EchoService::Service {
 public:
  grpc::Status Echo(grpc::ServerContext* context, const EchoRequest* request,
                    EchoResponse* response) override {
    calls_.fetch_add(1);
    context->AddInitialMetadata("x-touchline-cache", "hit");
    context->AddTrailingMetadata("x-request-id", "req-from-server");
    if (request->text() == "invalid") return InvalidField("text", "must not be invalid");
    if (request->text() == "block") release_.WaitForNotification();
    response->set_text(request->text());
    response->set_tenant_id(MetadataValue(*context, "x-touchline-tenant"));
    response->set_caller_id(MetadataValue(*context, "authorization"));
    response->set_request_id(MetadataValue(*context, "x-request-id"));
    return grpc::Status::OK;
  }

  int calls() const { return calls_.load(); }

  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }

 private:
  std::atomic<int> calls_{0};
  absl::Notification release_;
};

// The binary knows grpc.health but not the test echo service: this one records the caller's
// metadata, and fails with a BadRequest for the service "invalid".
class HealthServiceImpl final : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* context, const HealthCheckRequest* request,
                     HealthCheckResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [name, value] : context->client_metadata()) {
        metadata_.emplace_back(std::string(name.data(), name.size()),
                               std::string(value.data(), value.size()));
      }
    }
    if (request->service() == "invalid") return InvalidField("service", "no such service");
    response->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }

  std::vector<std::pair<std::string, std::string>> metadata() const {
    absl::MutexLock lock(&mu_);
    return metadata_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::pair<std::string, std::string>> metadata_ ABSL_GUARDED_BY(mu_);
};

// Answers with a customer made of the request's fields, to show how both are spelled in JSON.
class GatewayServiceImpl final : public GatewayService::Service {
 public:
  grpc::Status GetCustomer360(grpc::ServerContext*, const GetCustomer360Request* request,
                              GetCustomer360Response* response) override {
    response->mutable_customer()->set_customer_id(request->customer_id());
    response->mutable_customer()->set_display_name("Acme GmbH");
    response->mutable_customer()->add_tags(absl::StrCat(request->touchpoint_count()));
    return grpc::Status::OK;
  }
};

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// Runs the built touchline-grpc with `args`, `stdin_text` as its stdin and an empty
// environment, so that no TOUCHLINE_* variable of the caller changes its flags.
Outcome RunBinary(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  static std::atomic<int> runs{0};
  const std::string prefix =
      absl::StrCat(::testing::TempDir(), "grpc_call_test_", getpid(), "_", runs.fetch_add(1));
  const std::string in_path = prefix + ".in";
  const std::string out_path = prefix + ".out";
  const std::string err_path = prefix + ".err";
  std::ofstream(in_path, std::ios::binary) << stdin_text;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> argv_strings = {TOUCHLINE_GRPC_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  pid_t pid = 0;
  Outcome outcome;
  const int spawned =
      posix_spawn(&pid, TOUCHLINE_GRPC_BINARY, &actions, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    ADD_FAILURE() << "posix_spawn " << TOUCHLINE_GRPC_BINARY << ": " << spawned;
    return outcome;
  }
  int wait_status = 0;
  if (waitpid(pid, &wait_status, 0) == pid && WIFEXITED(wait_status)) {
    outcome.exit_code = WEXITSTATUS(wait_status);
  }
  outcome.out = ReadFile(out_path);
  outcome.err = ReadFile(err_path);
  for (const std::string& path : {in_path, out_path, err_path}) unlink(path.c_str());
  return outcome;
}

class GrpcCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&echo_);
    builder.RegisterService(&health_);
    builder.RegisterService(&gateway_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    target_ = absl::StrCat("127.0.0.1:", port);
  }

  void TearDown() override {
    echo_.Release();
    if (server_ != nullptr) server_->Shutdown();
  }

  Invocation EchoCall(std::string request) const {
    Invocation invocation;
    invocation.target = target_;
    invocation.method = kEcho;
    invocation.request = std::move(request);
    return invocation;
  }

  static Outcome Call(const Invocation& invocation, const std::string& stdin_text = "") {
    std::istringstream in(stdin_text);
    std::ostringstream out;
    std::ostringstream err;
    Outcome outcome;
    outcome.exit_code = cli::Run(invocation, in, out, err);
    outcome.out = out.str();
    outcome.err = err.str();
    return outcome;
  }

  EchoServiceImpl echo_;
  HealthServiceImpl health_;
  GatewayServiceImpl gateway_;
  std::unique_ptr<grpc::Server> server_;
  std::string target_;
};

TEST_F(GrpcCallTest, PrintsTheReplyAsCamelCaseJson) {
  const Outcome outcome = Call(EchoCall(R"({"text": "hello"})"));
  EXPECT_EQ(outcome.exit_code, kExitOk);
  EXPECT_EQ(outcome.out, "{\n \"text\": \"hello\"\n}\n");
  EXPECT_EQ(outcome.err, "");
}

TEST_F(GrpcCallTest, SendsHeadersAsMetadata) {
  Invocation invocation = EchoCall(R"({"text": "hello"})");
  invocation.headers = {"X-Touchline-Tenant: acme", "authorization:Bearer abc",
                        "x-request-id:   req-1  "};
  const Outcome outcome = Call(invocation);
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out,
            "{\n"
            " \"text\": \"hello\",\n"
            " \"tenantId\": \"acme\",\n"
            " \"callerId\": \"Bearer abc\",\n"
            " \"requestId\": \"req-1\"\n"
            "}\n");
}

TEST_F(GrpcCallTest, AcceptsEverySpellingOfTheMethod) {
  for (const char* method :
       {"touchline.testing.v1.EchoService/Echo", "/touchline.testing.v1.EchoService/Echo",
        "touchline.testing.v1.EchoService.Echo"}) {
    Invocation invocation = EchoCall(R"({"text": "hi"})");
    invocation.method = method;
    const Outcome outcome = Call(invocation);
    EXPECT_EQ(outcome.exit_code, kExitOk) << method << ": " << outcome.err;
    EXPECT_EQ(outcome.out, "{\n \"text\": \"hi\"\n}\n") << method;
  }
}

TEST_F(GrpcCallTest, AcceptsProtoAndCamelCaseFieldNames) {
  Invocation invocation;
  invocation.target = target_;
  invocation.method = "touchline.gateway.v1.GatewayService/GetCustomer360";
  invocation.request = R"({"customer_id": "c-1", "touchpointCount": 3})";
  const Outcome outcome = Call(invocation);
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out,
            "{\n"
            " \"customer\": {\n"
            "  \"customerId\": \"c-1\",\n"
            "  \"displayName\": \"Acme GmbH\",\n"
            "  \"tags\": [\n"
            "   \"3\"\n"
            "  ]\n"
            " }\n"
            "}\n");
}

TEST_F(GrpcCallTest, ReadsTheRequestFromStdinOrAFile) {
  Invocation from_stdin = EchoCall("-");
  EXPECT_EQ(Call(from_stdin, R"({"text": "piped"})").out, "{\n \"text\": \"piped\"\n}\n");

  const std::string path = absl::StrCat(::testing::TempDir(), "grpc_call_test_", getpid(), ".json");
  std::ofstream(path) << R"({"text": "filed"})";
  const Outcome from_file = Call(EchoCall("@" + path));
  unlink(path.c_str());
  EXPECT_EQ(from_file.exit_code, kExitOk) << from_file.err;
  EXPECT_EQ(from_file.out, "{\n \"text\": \"filed\"\n}\n");

  const Outcome missing = Call(EchoCall("@/nonexistent/request.json"));
  EXPECT_EQ(missing.exit_code, kExitUsage);
  EXPECT_THAT(missing.err, HasSubstr("cannot read /nonexistent/request.json"));
}

TEST_F(GrpcCallTest, NoRequestMeansAnEmptyMessage) {
  const Outcome outcome = Call(EchoCall(""));
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "{}\n");
  EXPECT_EQ(echo_.calls(), 1);
}

TEST_F(GrpcCallTest, VerbosePrintsResponseHeadersAndTrailers) {
  Invocation invocation = EchoCall(R"({"text": "hello"})");
  invocation.verbose = true;
  const Outcome outcome = Call(invocation);
  EXPECT_EQ(outcome.exit_code, kExitOk);
  EXPECT_THAT(outcome.err, HasSubstr("response headers:\n  x-touchline-cache: hit\n"));
  EXPECT_THAT(outcome.err, HasSubstr("response trailers:\n  x-request-id: req-from-server\n"));

  invocation.verbose = false;
  EXPECT_THAT(Call(invocation).err, Not(HasSubstr("x-touchline-cache")));
}

TEST_F(GrpcCallTest, FailedCallPrintsCodeMessageAndFieldViolations) {
  const Outcome outcome = Call(EchoCall(R"({"text": "invalid"})"));
  EXPECT_EQ(outcome.exit_code, kExitCallFailed);
  EXPECT_EQ(outcome.out, "");
  EXPECT_THAT(outcome.err,
              HasSubstr("touchline-grpc: INVALID_ARGUMENT: bad request: text: must not be "
                        "invalid\n"));
  EXPECT_THAT(outcome.err, HasSubstr("\"@type\": \"type.googleapis.com/google.rpc.BadRequest\""));
  EXPECT_THAT(outcome.err, HasSubstr("\"field\": \"text\""));
  EXPECT_THAT(outcome.err, HasSubstr("\"description\": \"must not be invalid\""));
}

TEST_F(GrpcCallTest, TimeoutIsTheDeadlineOfTheCall) {
  Invocation invocation = EchoCall(R"({"text": "block"})");
  invocation.timeout = absl::Milliseconds(100);
  const Outcome outcome = Call(invocation);
  EXPECT_EQ(outcome.exit_code, kExitCallFailed);
  EXPECT_THAT(outcome.err, HasSubstr("DEADLINE_EXCEEDED"));
}

TEST_F(GrpcCallTest, UnreachableServerIsAFailedCall) {
  Invocation invocation = EchoCall("{}");
  invocation.target = "127.0.0.1:1";
  const Outcome outcome = Call(invocation);
  EXPECT_EQ(outcome.exit_code, kExitCallFailed);
  EXPECT_THAT(outcome.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(GrpcCallTest, UnknownMethodIsAUsageErrorAndSendsNothing) {
  Invocation invocation = EchoCall("{}");
  invocation.method = "touchline.testing.v1.EchoService/Shout";
  Outcome outcome = Call(invocation);
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err,
            "touchline-grpc: service touchline.testing.v1.EchoService has no method Shout; it "
            "has Echo\n");

  invocation.method = "touchline.nothing.v1.NoService/Get";
  outcome = Call(invocation);
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_THAT(outcome.err, HasSubstr("unknown service touchline.nothing.v1.NoService"));
  EXPECT_EQ(echo_.calls(), 0);
}

TEST_F(GrpcCallTest, StreamingMethodIsAUsageError) {
  Invocation invocation = EchoCall("{}");
  invocation.method = "grpc.health.v1.Health/Watch";
  const Outcome outcome = Call(invocation);
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_THAT(outcome.err, HasSubstr("only unary calls are supported"));
}

TEST_F(GrpcCallTest, BadJsonIsAUsageErrorNamingTheProblem) {
  Outcome outcome = Call(EchoCall(R"({"txt": "hello"})"));
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_THAT(outcome.err, HasSubstr("not a touchline.testing.v1.EchoRequest in JSON"));
  EXPECT_THAT(outcome.err, HasSubstr("txt"));

  outcome = Call(EchoCall(R"({"text": 12})"));
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_THAT(outcome.err, HasSubstr("text"));

  outcome = Call(EchoCall(R"({"text": "hello")"));
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_THAT(outcome.err, HasSubstr("not a touchline.testing.v1.EchoRequest in JSON: "));
  EXPECT_EQ(echo_.calls(), 0);
}

TEST_F(GrpcCallTest, BadHeaderIsAUsageError) {
  Invocation invocation = EchoCall("{}");
  invocation.headers = {"x-touchline-tenant acme"};
  const Outcome outcome = Call(invocation);
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err,
            "touchline-grpc: header 'x-touchline-tenant acme' is not of the form 'name: value'\n");
  EXPECT_EQ(echo_.calls(), 0);
}

TEST(ParseHeaderTest, NormalizesNameAndValue) {
  TL_ASSERT_OK_AND_ASSIGN(const auto text, ParseHeader("Authorization:  Bearer a.b.c "));
  EXPECT_THAT(text, Pair("authorization", "Bearer a.b.c"));
  TL_ASSERT_OK_AND_ASSIGN(const auto binary, ParseHeader("trace-bin: AAEC"));
  EXPECT_THAT(binary, Pair("trace-bin", std::string("\x00\x01\x02", 3)));
  EXPECT_THAT(ParseHeader(": value"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseHeader("bad name: value"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseHeader("x: caf\xc3\xa9"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseHeader("x-bin: not base64!"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FindMethodTest, RejectsNamesOfNoMethodShape) {
  EXPECT_THAT(FindMethod("Echo"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FindMethod("a/b/c"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FindMethod("touchline.testing.v1.EchoService/"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(GrpcCallTest, BinaryListsEveryTouchlineService) {
  const Outcome outcome = RunBinary({"--list"});
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_THAT(outcome.out, HasSubstr("touchline.contacts.v1.ContactsService/GetCustomer("
                                     "touchline.contacts.v1.GetCustomerRequest) returns "
                                     "(touchline.contacts.v1.GetCustomerResponse)\n"));
  EXPECT_THAT(outcome.out, HasSubstr("touchline.gateway.v1.GatewayService/GetCustomer360("
                                     "touchline.gateway.v1.GetCustomer360Request) returns "
                                     "(touchline.gateway.v1.GetCustomer360Response)\n"));
  EXPECT_THAT(outcome.out,
              HasSubstr("touchline.touchpoints.v1.TouchpointsService/RecordTouchpoint("));
  EXPECT_THAT(outcome.out, HasSubstr("touchline.permissions.v1.PermissionsService/Login("));
  EXPECT_THAT(outcome.out,
              HasSubstr("grpc.health.v1.Health/Watch(grpc.health.v1.HealthCheckRequest) returns "
                        "(stream grpc.health.v1.HealthCheckResponse)\n"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("EchoService")));
}

TEST_F(GrpcCallTest, BinarySendsEveryHeaderFlag) {
  const Outcome outcome =
      RunBinary({"-H", "x-touchline-tenant: acme", "--header", "authorization: Bearer a,b",
                 "--header=x-request-id: req-2", "-Hx-debug: 1", "--timeout", "5s", target_,
                 kHealthCheck, R"({"service": ""})"});
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "{\n \"status\": \"SERVING\"\n}\n");
  const auto metadata = health_.metadata();
  EXPECT_THAT(metadata, Contains(Pair("x-touchline-tenant", "acme")));
  EXPECT_THAT(metadata, Contains(Pair("authorization", "Bearer a,b")));
  EXPECT_THAT(metadata, Contains(Pair("x-request-id", "req-2")));
  EXPECT_THAT(metadata, Contains(Pair("x-debug", "1")));
}

TEST_F(GrpcCallTest, BinaryReadsStdinAndPrintsErrorDetails) {
  const Outcome outcome =
      RunBinary({target_, "grpc.health.v1.Health.Check", "-"}, R"({"service": "invalid"})");
  EXPECT_EQ(outcome.exit_code, kExitCallFailed);
  EXPECT_EQ(outcome.out, "");
  EXPECT_THAT(outcome.err, HasSubstr("INVALID_ARGUMENT: bad request: service: no such service"));
  EXPECT_THAT(outcome.err, HasSubstr("\"field\": \"service\""));
}

TEST_F(GrpcCallTest, BinaryRejectsBadUsageWithExitTwo) {
  Outcome outcome = RunBinary({target_});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_THAT(outcome.err, HasSubstr("HOST:PORT and a method are required"));

  outcome = RunBinary({"--no_such_flag", target_, kHealthCheck});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_THAT(outcome.err, HasSubstr("unknown flag --no_such_flag"));

  outcome = RunBinary({target_, "touchline.testing.v1.EchoService/Echo"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_THAT(outcome.err, HasSubstr("unknown service touchline.testing.v1.EchoService"));

  outcome = RunBinary({target_, kHealthCheck, "{", "extra"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_THAT(outcome.err, HasSubstr("unexpected argument 'extra'"));

  outcome = RunBinary({"-H"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_THAT(outcome.err, HasSubstr("-H: missing value"));
  EXPECT_THAT(health_.metadata(), IsEmpty());
}

}  // namespace
}  // namespace touchline::cli
