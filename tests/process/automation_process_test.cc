// The real touchline-automation binary beside the suite (tests/testing/suite.h: permissions,
// contacts and touchpoints): a touchpoint recorded in touchpoints with an agreed next action
// becomes a task through the touchpoints stream, listed for its assignee and its customer and
// completed over gRPC; a rule acts as its owner (changes the customer in contacts, sends only
// what the owner's field policies show) and stops at the depth limit when it triggers itself
// through contacts; webhook endpoints are created, refused for a bad URL and their secrets
// rotated; and the binary refuses to start without its webhook secret key. Needs the
// PostgreSQL and Redis the test command starts.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth/request_context.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "services/automation/webhooks/testing/receiver.h"
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
    touchpoints_ = tv1::TouchpointsService::NewStub(
        grpc::CreateChannel(suite_->touchpoints_address(), grpc::InsecureChannelCredentials()));
    contacts_ = contacts::v1::ContactsService::NewStub(
        grpc::CreateChannel(suite_->contacts_address(), grpc::InsecureChannelCredentials()));
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

  // Starts touchline-automation with the key file and `extra` and waits until it serves.
  void StartAutomation(std::vector<std::string> extra = {}) {
    extra.push_back("--webhook_secret_key_file=" + dir_ + "/webhook.key");
    automation_process_ = std::make_unique<testing::ServiceProcess>(
        TOUCHLINE_AUTOMATION_BINARY, AutomationArgs(std::move(extra)), log());
    ASSERT_TRUE(testing::WaitForHealth(address(), kAutomationService, HealthCheckResponse::SERVING))
        << testing::ReadFile(log());
  }

  std::string log() const { return dir_ + "/automation.log"; }

  void Authorize(grpc::ClientContext& context) const {
    context.AddMetadata(auth::kTenantHeader, kTenant);
    testing::Suite::Authorize(context, token_);
  }

  std::string CreateCustomer(const std::string& name) {
    return suite_->CreateCustomer(kTenant, token_, name);
  }

  // Records a phone call of `customer` now, with `summary`.
  void RecordCall(const std::string& customer, const std::string& summary) {
    grpc::ClientContext context;
    Authorize(context);
    tv1::RecordTouchpointRequest request;
    tv1::Touchpoint* t = request.mutable_touchpoint();
    t->set_customer_id(customer);
    t->set_channel(tv1::CHANNEL_PHONE);
    t->set_category(tv1::CATEGORY_SERVICE);
    t->set_direction(tv1::DIRECTION_INBOUND);
    t->set_summary(summary);
    *t->mutable_occur_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now()));
    tv1::RecordTouchpointResponse response;
    const grpc::Status status = touchpoints_->RecordTouchpoint(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
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

  // Creates and publishes `rule` as the user of `token` (the administrator's when empty), then
  // waits until the engine runs it (it reads the runnable rules at most a second old); its id.
  std::string Publish(const av1::Rule& rule, const std::string& token = "") {
    const auto authorize = [&](grpc::ClientContext& context) {
      context.AddMetadata(auth::kTenantHeader, kTenant);
      testing::Suite::Authorize(context, token.empty() ? token_ : token);
    };
    av1::CreateRuleRequest create;
    *create.mutable_rule() = rule;
    av1::CreateRuleResponse created;
    {
      grpc::ClientContext context;
      authorize(context);
      const grpc::Status status = automation_->CreateRule(&context, create, &created);
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
    grpc::ClientContext context;
    authorize(context);
    av1::PublishRuleRequest publish;
    publish.set_rule_id(created.rule().rule_id());
    av1::PublishRuleResponse published;
    const grpc::Status status = automation_->PublishRule(&context, publish, &published);
    EXPECT_TRUE(status.ok()) << status.error_message();
    absl::SleepFor(absl::Seconds(2));
    return created.rule().rule_id();
  }

  // A webhook endpoint posting to `receiver`, which checks signatures with its secret; its id.
  std::string EndpointOf(automation::testing::WebhookReceiver& receiver) {
    EXPECT_TRUE(receiver.running());
    av1::CreateWebhookEndpointResponse endpoint;
    const grpc::Status status = CreateEndpoint(receiver.Url(), &endpoint);
    EXPECT_TRUE(status.ok()) << status.error_message();
    receiver.SetSecrets({endpoint.secret()});
    return endpoint.endpoint().endpoint_id();
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
  std::unique_ptr<tv1::TouchpointsService::Stub> touchpoints_;
  std::unique_ptr<contacts::v1::ContactsService::Stub> contacts_;
  std::unique_ptr<av1::AutomationService::Stub> automation_;
};

// The seed's "a customer calls in -> the owner's phone shows it": a rule on recorded
// touchpoints that mention 投诉 makes a task and a signed webhook to a real receiver. The
// service is killed with SIGKILL while it works through them and started again: every
// touchpoint ends with exactly one task and one webhook-id at the receiver.
TEST_F(AutomationProcessTest, RuleActsOncePerTouchpointThroughAKillDashNine) {
  StartAutomation({"--webhook_allow_private_addresses=true", "--engine_job_lease=5s"});
  ASSERT_FALSE(HasFatalFailure());
  automation::testing::WebhookReceiver receiver;
  const std::string endpoint_id = EndpointOf(receiver);
  ASSERT_FALSE(HasFailure());

  av1::Rule rule;
  rule.set_display_name("客户来电投诉：提醒负责人");
  rule.mutable_trigger()->mutable_touchpoint_recorded();
  av1::Comparison& complaint = *rule.mutable_condition()->add_any_of()->add_all_of();
  complaint.set_field("touchpoint.summary");
  complaint.set_operator_(av1::OPERATOR_CONTAINS);
  complaint.add_values()->set_string_value("投诉");
  av1::Action& task = *rule.add_actions();
  task.set_action_id("call_back");
  task.mutable_create_task()->mutable_assignee()->set_user_id("u-duty");
  task.mutable_create_task()->mutable_due_in()->set_seconds(2 * 3600);
  task.mutable_create_task()->set_title_template("回电：{{touchpoint.summary}}");
  av1::Action& push = *rule.add_actions();
  push.set_action_id("push");
  push.mutable_webhook()->set_endpoint_id(endpoint_id);
  push.mutable_webhook()->set_payload_template(R"({"msg": "{{touchpoint.summary}}"})");
  const std::string rule_id = Publish(rule);
  ASSERT_FALSE(HasFailure());

  const std::string customer = CreateCustomer("李女士");
  constexpr int kCalls = 16;
  for (int i = 0; i < kCalls; ++i) {
    RecordCall(customer, absl::StrCat("投诉 第", i, "次：物流太慢"));
    if (i == kCalls / 2) automation_process_->Kill(SIGKILL);
  }
  RecordCall(customer, "询问报价");  // matches nothing
  StartAutomation({"--webhook_allow_private_addresses=true", "--engine_job_lease=5s"});
  ASSERT_FALSE(HasFatalFailure());

  av1::ListTasksRequest duty;
  duty.set_assignee_id("u-duty");
  duty.set_page_size(100);
  std::vector<av1::Task> tasks;
  grpc::Status status;
  // What the killed process held comes back: jobs it had claimed when their lease (5 s here)
  // runs out, events it had read but not acknowledged after the consumers' claim_idle (30 s).
  ASSERT_TRUE(Eventually(
      [&] {
        tasks = ListTasks(duty, &status);
        return status.ok() && tasks.size() >= kCalls && receiver.distinct_ids().size() >= kCalls;
      },
      std::chrono::seconds(90)))
      << tasks.size() << " tasks, " << receiver.distinct_ids().size() << " webhook ids\n"
      << testing::ReadFile(log());
  absl::SleepFor(absl::Seconds(3));  // anything doubled would show by now
  tasks = ListTasks(duty, &status);
  EXPECT_EQ(tasks.size(), static_cast<size_t>(kCalls));
  std::set<std::string> titles;
  for (const av1::Task& t : tasks) titles.insert(t.title());
  EXPECT_EQ(titles.size(), static_cast<size_t>(kCalls));
  EXPECT_EQ(receiver.distinct_ids().size(), static_cast<size_t>(kCalls));
  std::set<std::string> bodies;
  for (const auto& r : receiver.received()) {
    EXPECT_TRUE(r.verified.ok()) << r.verified;
    bodies.insert(r.body);
  }
  EXPECT_EQ(bodies.size(), static_cast<size_t>(kCalls));

  av1::ListRuleRunsRequest runs_request;
  runs_request.set_rule_id(rule_id);
  runs_request.set_page_size(100);
  av1::ListRuleRunsResponse runs;
  {
    grpc::ClientContext context;
    Authorize(context);
    ASSERT_TRUE(automation_->ListRuleRuns(&context, runs_request, &runs).ok());
  }
  ASSERT_EQ(runs.runs_size(), kCalls + 1);
  int matched = 0;
  for (const av1::RuleRun& run : runs.runs()) {
    EXPECT_EQ(run.state(), av1::RUN_STATE_SUCCEEDED);
    matched += run.matched() ? 1 : 0;
  }
  EXPECT_EQ(matched, kCalls);
}

// A rule acts as its owner (the user who published it), through contacts and with the
// owner's field policies: a complaint, recorded by the administrator, tags the customer and
// adds to its lead score in contacts as the owner, and the webhook's payload leaves out the
// touchpoint summary the owner's role ("ops") may not see.
TEST_F(AutomationProcessTest, ARuleChangesTheCustomerAsItsOwnerAndSendsOnlyWhatTheOwnerSees) {
  StartAutomation({"--webhook_allow_private_addresses=true"});
  ASSERT_FALSE(HasFatalFailure());
  automation::testing::WebhookReceiver receiver;
  const std::string endpoint_id = EndpointOf(receiver);
  ASSERT_FALSE(HasFailure());
  const std::unique_ptr<permissions::v1::PermissionsService::Stub> permissions =
      suite_->Permissions();
  {
    grpc::ClientContext context;
    Authorize(context);
    permissions::v1::CreateRoleRequest request;
    permissions::v1::Role& role = *request.mutable_role();
    role.set_role_id("ops");
    role.set_display_name("运营");
    role.set_rank(40);
    role.set_data_scope(permissions::v1::DATA_SCOPE_TENANT);
    role.add_permissions(permissions::v1::PERMISSION_ADMINISTER);
    role.add_permissions(permissions::v1::PERMISSION_CUSTOMERS_WRITE);
    permissions::v1::CreateRoleResponse response;
    const grpc::Status status = permissions->CreateRole(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    grpc::ClientContext context;
    Authorize(context);
    permissions::v1::CreateUserRequest request;
    request.mutable_user()->set_username("ops");
    request.mutable_user()->set_display_name("运营小刘");
    request.mutable_user()->set_role_id("ops");
    request.set_password(testing::kAdminPassword);
    permissions::v1::CreateUserResponse response;
    const grpc::Status status = permissions->CreateUser(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  permissions::v1::LoginResponse ops;
  ASSERT_TRUE(suite_->Login(kTenant, "ops", testing::kAdminPassword, &ops).ok());
  {
    grpc::ClientContext context;
    Authorize(context);
    permissions::v1::SetFieldPolicyRequest request;
    permissions::v1::FieldPolicy& policy = *request.mutable_policy();
    policy.set_role_id("ops");
    policy.set_resource("touchpoint");
    policy.set_field_path("summary");
    policy.set_access(permissions::v1::FIELD_ACCESS_HIDDEN);
    permissions::v1::SetFieldPolicyResponse response;
    const grpc::Status status = permissions->SetFieldPolicy(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  av1::Rule rule;
  rule.set_display_name("投诉客户：打标签、加分、通知客服系统");
  rule.mutable_trigger()->mutable_touchpoint_recorded();
  av1::Action& tag = *rule.add_actions();
  tag.set_action_id("tag");
  tag.mutable_update_customer()->set_add_tag("投诉客户");
  av1::Action& score = *rule.add_actions();
  score.set_action_id("score");
  score.mutable_add_lead_score()->set_points(-20);
  score.mutable_add_lead_score()->set_reason("来电投诉");
  av1::Action& push = *rule.add_actions();
  push.set_action_id("push");
  push.mutable_webhook()->set_endpoint_id(endpoint_id);
  push.mutable_webhook()->set_payload_template(
      R"({"summary": "{{touchpoint.summary}}", "channel": "{{touchpoint.channel}}"})");
  Publish(rule, ops.access_token());
  ASSERT_FALSE(HasFailure());

  const std::string customer = CreateCustomer("赵先生");
  RecordCall(customer, "投诉：安装师傅迟到三小时");
  ASSERT_TRUE(Eventually([&] { return !receiver.received().empty(); }, std::chrono::seconds(30)))
      << testing::ReadFile(log());
  const auto received = receiver.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_TRUE(received[0].verified.ok()) << received[0].verified;
  EXPECT_EQ(received[0].body, R"({"summary": "", "channel": "CHANNEL_PHONE"})");

  // The webhook comes after the customer's changes: they are in contacts.
  grpc::ClientContext context;
  Authorize(context);
  contacts::v1::GetCustomerRequest get;
  get.set_customer_id(customer);
  contacts::v1::GetCustomerResponse got;
  const grpc::Status status = contacts_->GetCustomer(&context, get, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(got.customer().tags(), ::testing::Contains("投诉客户"));
  ASSERT_TRUE(got.customer().custom_fields().contains("lead_score"));
  EXPECT_EQ(got.customer().custom_fields().at("lead_score").int_value(), -20);
}

// A rule that triggers itself, end to end through contacts: "the lead score changed -> add a
// point" changes the lead score again. Each change carries the depth of the run that made it in
// its request id; the run at --max_rule_depth (3) does nothing, so the score ends three points
// up and stays there.
TEST_F(AutomationProcessTest, ARuleThatTriggersItselfThroughContactsStopsAtTheDepthLimit) {
  StartAutomation();
  ASSERT_FALSE(HasFatalFailure());
  av1::Rule rule;
  rule.set_display_name("分数变化再加一分（自触发）");
  rule.mutable_trigger()->mutable_customer_changed()->set_field("custom_fields.lead_score");
  av1::Action& score = *rule.add_actions();
  score.set_action_id("again");
  score.mutable_add_lead_score()->set_points(1);
  const std::string rule_id = Publish(rule);
  ASSERT_FALSE(HasFailure());

  const std::string customer = CreateCustomer("钱女士");
  // The lead score as contacts has it; -1 when it cannot be read.
  const auto lead_score = [&] {
    grpc::ClientContext context;
    Authorize(context);
    contacts::v1::GetCustomerRequest get;
    get.set_customer_id(customer);
    contacts::v1::GetCustomerResponse got;
    if (!contacts_->GetCustomer(&context, get, &got).ok()) return int64_t{-1};
    const auto& fields = got.customer().custom_fields();
    return fields.contains("lead_score") ? fields.at("lead_score").int_value() : int64_t{-1};
  };
  {
    grpc::ClientContext context;
    Authorize(context);
    contacts::v1::UpdateCustomerRequest update;
    update.mutable_customer()->set_customer_id(customer);
    (*update.mutable_customer()->mutable_custom_fields())["lead_score"].set_int_value(100);
    update.mutable_update_mask()->add_paths("custom_fields.lead_score");
    contacts::v1::UpdateCustomerResponse updated;
    const grpc::Status status = contacts_->UpdateCustomer(&context, update, &updated);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_TRUE(Eventually([&] { return lead_score() >= 103; }, std::chrono::seconds(30)))
      << lead_score() << "\n"
      << testing::ReadFile(log());
  absl::SleepFor(absl::Seconds(3));  // a fourth point would show by now
  EXPECT_EQ(lead_score(), 103);

  av1::ListRuleRunsRequest request;
  request.set_rule_id(rule_id);
  request.set_page_size(100);
  av1::ListRuleRunsResponse runs;
  grpc::ClientContext context;
  Authorize(context);
  ASSERT_TRUE(automation_->ListRuleRuns(&context, request, &runs).ok());
  std::multiset<int> depths;
  for (const av1::RuleRun& run : runs.runs()) {
    depths.insert(run.depth());
    EXPECT_EQ(run.state(), run.depth() < 3 ? av1::RUN_STATE_SUCCEEDED : av1::RUN_STATE_SKIPPED);
  }
  EXPECT_EQ(depths, (std::multiset<int>{0, 1, 2, 3}));
}

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
  // Started without --webhook_allow_private_addresses: the service's own neighbourhood is out
  // of reach.
  status = CreateEndpoint("http://127.0.0.1:8080/admin", &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "loopback")) << status.error_message();

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
