// The real touchline-automation binary beside the suite (tests/testing/suite.h: permissions,
// contacts and touchpoints): a touchpoint recorded in touchpoints with an agreed next action
// becomes a task through the touchpoints stream, listed for its assignee and its customer and
// completed over gRPC; webhook endpoints are created, refused for a bad URL and their secrets
// rotated; and the binary refuses to start without its webhook secret key. Needs the
// PostgreSQL and Redis the test command starts.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/auth/request_context.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/process.h"
#include "tests/testing/suite.h"
#include "touchline/automation/v1/automation_service.grpc.pb.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.grpc.pb.h"

namespace touchline {
namespace {

using ::google::protobuf::util::TimeUtil;
using grpc::health::v1::HealthCheckResponse;
using testing::Eventually;
namespace av1 = ::touchline::automation::v1;
namespace cv1 = ::touchline::contacts::v1;
namespace tv1 = ::touchline::touchpoints::v1;

constexpr char kTenant[] = "acme";
constexpr char kAutomationService[] = "touchline.automation.v1.AutomationService";
constexpr char kNextAction[] = "三天后回访，确认试驾时间";

class AutomationProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::Suite::Options options;
    options.tenants = {kTenant};
    suite_ = std::make_unique<testing::Suite>(options);
    ASSERT_FALSE(HasFatalFailure());
    token_ = suite_->AdminToken(kTenant);
    dir_ = std::filesystem::path(suite_->log_path()).parent_path().string();
    std::ofstream(dir_ + "/automation.jwt.pub") << suite_->public_key_pem();
    // The base64 of 32 bytes, as an operator makes it (openssl rand -base64 32).
    std::ofstream(dir_ + "/webhook.key") << "dG91Y2hsaW5lLWF1dG9tYXRpb24td2ViaG9vay1rZXk=\n";
    contacts_ = cv1::ContactsService::NewStub(
        grpc::CreateChannel(suite_->contacts_address(), grpc::InsecureChannelCredentials()));
    touchpoints_ = tv1::TouchpointsService::NewStub(
        grpc::CreateChannel(suite_->touchpoints_address(), grpc::InsecureChannelCredentials()));
    automation_ = av1::AutomationService::NewStub(
        grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // touchline-automation's flags, as an operator passes them, and `extra`.
  std::vector<std::string> AutomationArgs(std::vector<std::string> extra) const {
    std::vector<std::string> args = {"--pg_dsn=" + testing::TestPgDsn(),
                                     "--redis_addr=" + testing::TestRedisAddr(),
                                     "--pg_schema=" + schema_.name(),
                                     "--events_stream_prefix=" + suite_->redis_prefix(),
                                     "--listen_address=" + address(),
                                     "--metrics_address=",
                                     "--jwt_public_key_file=" + dir_ + "/automation.jwt.pub",
                                     "--permissions_addr=" + suite_->permissions_address(),
                                     "--edge_secret_file=" + suite_->edge_secret_path(),
                                     "--contacts_addr=" + suite_->contacts_address()};
    for (std::string& flag : extra) args.push_back(std::move(flag));
    return args;
  }

  // Starts touchline-automation with the key file and waits until it serves.
  void StartAutomation() {
    automation_process_ = std::make_unique<testing::ServiceProcess>(
        TOUCHLINE_AUTOMATION_BINARY,
        AutomationArgs({"--webhook_secret_key_file=" + dir_ + "/webhook.key"}), log());
    ASSERT_TRUE(testing::WaitForHealth(address(), kAutomationService, HealthCheckResponse::SERVING))
        << testing::ReadFile(log());
  }

  std::string log() const { return dir_ + "/automation.log"; }

  void Authorize(grpc::ClientContext& context) const {
    context.AddMetadata(auth::kTenantHeader, kTenant);
    testing::Suite::Authorize(context, token_);
  }

  std::string CreateCustomer(const std::string& name) {
    grpc::ClientContext context;
    Authorize(context);
    cv1::CreateCustomerRequest request;
    request.mutable_customer()->set_kind(cv1::CUSTOMER_KIND_PERSON);
    request.mutable_customer()->set_display_name(name);
    request.mutable_customer()->set_region("华东");
    cv1::CreateCustomerResponse response;
    const grpc::Status status = contacts_->CreateCustomer(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.customer().customer_id();
  }

  // Records a store visit of `customer` an hour ago with kNextAction due in three days.
  tv1::Touchpoint RecordWithNextAction(const std::string& customer) {
    grpc::ClientContext context;
    Authorize(context);
    tv1::RecordTouchpointRequest request;
    tv1::Touchpoint* t = request.mutable_touchpoint();
    t->set_customer_id(customer);
    t->set_channel(tv1::CHANNEL_STORE_VISIT);
    t->set_category(tv1::CATEGORY_SALES);
    t->set_direction(tv1::DIRECTION_INBOUND);
    t->set_subject("到店看车");
    *t->mutable_occur_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() - absl::Hours(1)));
    t->mutable_next_action()->set_description(kNextAction);
    *t->mutable_next_action()->mutable_due_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() + absl::Hours(72)));
    tv1::RecordTouchpointResponse response;
    const grpc::Status status = touchpoints_->RecordTouchpoint(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.touchpoint();
  }

  // ListTasks with `request`; the status's code and message land in `status`.
  std::vector<av1::Task> ListTasks(const av1::ListTasksRequest& request, grpc::Status* status) {
    grpc::ClientContext context;
    Authorize(context);
    av1::ListTasksResponse response;
    *status = automation_->ListTasks(&context, request, &response);
    return {response.tasks().begin(), response.tasks().end()};
  }

  grpc::Status CreateEndpoint(const std::string& url, av1::CreateWebhookEndpointResponse* created) {
    grpc::ClientContext context;
    Authorize(context);
    av1::CreateWebhookEndpointRequest request;
    request.mutable_endpoint()->set_display_name("订单系统");
    request.mutable_endpoint()->set_url(url);
    return automation_->CreateWebhookEndpoint(&context, request, created);
  }

  std::unique_ptr<testing::Suite> suite_;
  // Declared before the process, so the process stops before its schema is dropped.
  testing::ScopedSchema schema_{"automation_e2e"};
  const int port_ = testing::FreePort();
  std::string dir_;
  std::string token_;
  std::unique_ptr<testing::ServiceProcess> automation_process_;
  std::unique_ptr<cv1::ContactsService::Stub> contacts_;
  std::unique_ptr<tv1::TouchpointsService::Stub> touchpoints_;
  std::unique_ptr<av1::AutomationService::Stub> automation_;
};

TEST_F(AutomationProcessTest, ATouchpointsNextActionBecomesATaskToComplete) {
  StartAutomation();
  ASSERT_FALSE(HasFatalFailure());
  const std::string customer = CreateCustomer("王小明");
  const tv1::Touchpoint touchpoint = RecordWithNextAction(customer);
  ASSERT_FALSE(touchpoint.touchpoint_id().empty());

  // The caller recorded it and named no owner: the task is the caller's ("me").
  av1::ListTasksRequest mine;
  mine.set_assignee_id("me");
  std::vector<av1::Task> tasks;
  grpc::Status status;
  ASSERT_TRUE(Eventually([&] {
    tasks = ListTasks(mine, &status);
    return status.ok() && tasks.size() == 1;
  })) << status.error_message()
      << "\n"
      << testing::ReadFile(log());
  const av1::Task task = tasks[0];
  EXPECT_EQ(task.title(), kNextAction);
  EXPECT_EQ(task.customer_id(), customer);
  EXPECT_EQ(task.source().touchpoint_id(), touchpoint.touchpoint_id());
  EXPECT_EQ(task.state(), av1::TASK_STATE_OPEN);
  EXPECT_EQ(task.due_time().seconds(), touchpoint.next_action().due_time().seconds());
  EXPECT_TRUE(absl::StrContains(task.body(), "到店看车")) << task.body();

  av1::ListTasksRequest of_customer;
  of_customer.set_customer_id(customer);
  tasks = ListTasks(of_customer, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].task_id(), task.task_id());

  av1::CompleteTaskRequest complete;
  complete.set_task_id(task.task_id());
  complete.set_resolution_note("已约好周六试驾");
  complete.set_etag(task.etag());
  av1::CompleteTaskResponse completed;
  {
    grpc::ClientContext context;
    Authorize(context);
    status = automation_->CompleteTask(&context, complete, &completed);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(completed.task().state(), av1::TASK_STATE_COMPLETED);
  EXPECT_EQ(completed.task().resolution_note(), "已约好周六试驾");
  EXPECT_TRUE(completed.task().has_complete_time());
  EXPECT_NE(completed.task().etag(), task.etag());

  // Done once: a completed task is not completed again, nor listed as open.
  {
    grpc::ClientContext context;
    Authorize(context);
    av1::CompleteTaskResponse again;
    EXPECT_EQ(automation_->CompleteTask(&context, complete, &again).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  mine.set_state(av1::TASK_STATE_OPEN);
  tasks = ListTasks(mine, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(tasks.empty());
  av1::GetTaskRequest get;
  get.set_task_id(task.task_id());
  av1::GetTaskResponse got;
  grpc::ClientContext context;
  Authorize(context);
  ASSERT_TRUE(automation_->GetTask(&context, get, &got).ok());
  EXPECT_EQ(got.task().state(), av1::TASK_STATE_COMPLETED);
}

TEST_F(AutomationProcessTest, WebhookEndpointsAreCreatedCheckedAndTheirSecretsRotated) {
  StartAutomation();
  ASSERT_FALSE(HasFatalFailure());
  av1::CreateWebhookEndpointResponse created;
  grpc::Status status = CreateEndpoint("https://hooks.example.com/touchline", &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const av1::WebhookEndpoint& endpoint = created.endpoint();
  EXPECT_FALSE(endpoint.endpoint_id().empty());
  EXPECT_EQ(endpoint.display_name(), "订单系统");
  EXPECT_EQ(endpoint.max_attempts(), 8);
  EXPECT_TRUE(absl::StartsWith(created.secret(), "whsec_")) << created.secret();

  av1::CreateWebhookEndpointResponse refused;
  status = CreateEndpoint("ftp://hooks.example.com/touchline", &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "endpoint.url")) << status.error_message();

  av1::RotateWebhookSecretRequest rotate;
  rotate.set_endpoint_id(endpoint.endpoint_id());
  rotate.mutable_overlap()->set_seconds(3600);
  av1::RotateWebhookSecretResponse rotated;
  {
    grpc::ClientContext context;
    Authorize(context);
    status = automation_->RotateWebhookSecret(&context, rotate, &rotated);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_TRUE(absl::StartsWith(rotated.secret(), "whsec_")) << rotated.secret();
  EXPECT_NE(rotated.secret(), created.secret());
  EXPECT_NE(rotated.endpoint().etag(), endpoint.etag());

  // The secrets are sealed under the key file: restarted with the same key, the service still
  // lists and rotates the endpoint.
  automation_process_->Kill(SIGTERM);
  ASSERT_EQ(automation_process_->Wait(std::chrono::seconds(30)), 0) << testing::ReadFile(log());
  StartAutomation();
  ASSERT_FALSE(HasFatalFailure());
  av1::ListWebhookEndpointsResponse listed;
  {
    grpc::ClientContext context;
    Authorize(context);
    status = automation_->ListWebhookEndpoints(&context, {}, &listed);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_EQ(listed.endpoints_size(), 1);
  EXPECT_EQ(listed.endpoints(0).endpoint_id(), endpoint.endpoint_id());
  EXPECT_EQ(listed.endpoints(0).etag(), rotated.endpoint().etag());
  grpc::ClientContext context;
  Authorize(context);
  av1::RotateWebhookSecretResponse again;
  status = automation_->RotateWebhookSecret(&context, rotate, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(again.secret(), rotated.secret());
}

TEST_F(AutomationProcessTest, WithoutAGoodWebhookSecretKeyTheServiceDoesNotStart) {
  testing::ServiceProcess without(TOUCHLINE_AUTOMATION_BINARY, AutomationArgs({}), log());
  EXPECT_EQ(without.Wait(std::chrono::seconds(30)), 2);
  EXPECT_TRUE(absl::StrContains(testing::ReadFile(log()), "--webhook_secret_key_file is required"))
      << testing::ReadFile(log());

  std::ofstream(dir_ + "/short.key") << "too short";
  testing::ServiceProcess short_key(
      TOUCHLINE_AUTOMATION_BINARY,
      AutomationArgs({"--webhook_secret_key_file=" + dir_ + "/short.key"}), log());
  EXPECT_EQ(short_key.Wait(std::chrono::seconds(30)), 2);
  EXPECT_TRUE(absl::StrContains(testing::ReadFile(log()), dir_ + "/short.key"))
      << testing::ReadFile(log());
}

}  // namespace
}  // namespace touchline
