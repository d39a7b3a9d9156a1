// The real touchline-contacts and touchline-touchpoints binaries together, as an operator runs
// them (with touchline-permissions verifying callers: tests/testing/suite.h): customers created
// in contacts reach the touchpoints service through the event stream, an acknowledged
// touchpoint survives kill -9, a merge in contacts moves touchpoints, SIGTERM drains, bad
// configuration fails fast. Needs the PostgreSQL and Redis the test command starts.
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
#include <utility>
#include <vector>

#include "common/auth/request_context.h"
#include "common/events/outbox.h"
#include "common/redis/pool.h"
#include "gtest/gtest.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/process.h"
#include "tests/testing/suite.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.grpc.pb.h"

namespace touchline {
namespace {

using testing::Eventually;

using grpc::health::v1::HealthCheckResponse;
namespace cv1 = ::touchline::contacts::v1;
namespace pv1 = ::touchline::permissions::v1;
namespace tv1 = ::touchline::touchpoints::v1;

constexpr char kTouchpointsService[] = "touchline.touchpoints.v1.TouchpointsService";

constexpr char kTenant[] = "acme";

class TouchpointsProcessTest : public ::testing::Test {
 protected:
  // Starts permissions, contacts and touchpoints, and logs the tenant's administrator in.
  void StartSuite() {
    suite_ = std::make_unique<testing::Suite>(testing::Suite::Options());
    ASSERT_FALSE(HasFatalFailure());
    token_ = suite_->AdminToken(kTenant);
    ASSERT_FALSE(token_.empty());
  }

  void Authorize(grpc::ClientContext& context) const {
    context.AddMetadata(auth::kTenantHeader, kTenant);
    testing::Suite::Authorize(context, token_);
  }

  std::string CreateCustomer(const std::string& name) {
    auto stub = cv1::ContactsService::NewStub(
        grpc::CreateChannel(suite_->contacts_address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    Authorize(context);
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
        grpc::CreateChannel(suite_->touchpoints_address(), grpc::InsecureChannelCredentials()));
  }

  // Records a call for `customer`, retrying while the customer has not reached the
  // touchpoints service's read model yet. Returns the response status of the last attempt.
  grpc::Status Record(const std::string& customer, const std::string& request_id,
                      tv1::RecordTouchpointResponse* response) {
    grpc::Status status;
    Eventually([&] {
      grpc::ClientContext context;
      Authorize(context);
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
    Authorize(context);
    tv1::ListTouchpointsRequest request;
    request.set_customer_id(customer);
    tv1::ListTouchpointsResponse response;
    std::vector<std::string> ids;
    if (!Touchpoints()->ListTouchpoints(&context, request, &response).ok()) return ids;
    for (const tv1::Touchpoint& t : response.touchpoints()) ids.push_back(t.touchpoint_id());
    return ids;
  }

  std::unique_ptr<testing::Suite> suite_;
  std::string token_;
  // A retry must send the same touchpoint, occur_time included.
  const int64_t occur_seconds_ = std::time(nullptr) - 600;
};

TEST_F(TouchpointsProcessTest, ServesHealthThenDrainsAndExitsZeroOnSigterm) {
  StartSuite();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(testing::WaitForHealth(suite_->touchpoints_address(), kTouchpointsService,
                                     HealthCheckResponse::SERVING));
  suite_->touchpoints()->Kill(SIGTERM);
  EXPECT_EQ(suite_->touchpoints()->Wait(std::chrono::seconds(20)), 0);
}

TEST_F(TouchpointsProcessTest, AcknowledgedTouchpointSurvivesKillNineAndIsPublishedOnce) {
  StartSuite();
  if (HasFatalFailure()) return;
  const std::string customer = CreateCustomer("上海远航物流有限公司");
  tv1::RecordTouchpointResponse response;
  const grpc::Status status = Record(customer, "call-42", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string id = response.touchpoint().touchpoint_id();
  suite_->touchpoints()->Kill(SIGKILL);
  suite_->touchpoints()->Wait(std::chrono::seconds(10));
  suite_->StartTouchpoints();
  ASSERT_FALSE(HasFatalFailure());
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
    auto envelopes =
        testing::ReadEnvelopes(**redis, events::StreamKey(suite_->redis_prefix(), "touchpoints"));
    recorded_events = envelopes.ok()
                          ? static_cast<int>(std::count_if(envelopes->begin(), envelopes->end(),
                                                           [&](const events::v1::EventEnvelope& e) {
                                                             return e.aggregate_id() == id;
                                                           }))
                          : -1;
    return recorded_events > 0;
  });
  EXPECT_EQ(recorded_events, 1);
}

TEST_F(TouchpointsProcessTest, MergeInContactsMovesTouchpointsToTheSurvivor) {
  StartSuite();
  if (HasFatalFailure()) return;
  const std::string survivor = CreateCustomer("北京华信科技有限公司");
  const std::string merged = CreateCustomer("华信科技（北京）");
  tv1::RecordTouchpointResponse response;
  ASSERT_TRUE(Record(merged, "visit-1", &response).ok());
  const std::string id = response.touchpoint().touchpoint_id();

  auto stub = cv1::ContactsService::NewStub(
      grpc::CreateChannel(suite_->contacts_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  Authorize(context);
  cv1::MergeCustomersRequest merge;
  merge.set_survivor_customer_id(survivor);
  merge.set_merged_customer_id(merged);
  cv1::MergeCustomersResponse merge_response;
  const grpc::Status status = stub->MergeCustomers(&context, merge, &merge_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(Eventually([&] { return Timeline(survivor) == std::vector<std::string>{id}; }));
  EXPECT_TRUE(Timeline(merged).empty());
}

TEST_F(TouchpointsProcessTest, ACustomerJustCreatedInContactsTakesATouchpointAtOnce) {
  StartSuite();
  if (HasFatalFailure()) return;
  // Touchpoints on another stream prefix never hears of contacts' customers: only asking
  // contacts (with the caller's token) can tell it about this one.
  suite_->touchpoints()->Kill(SIGTERM);
  suite_->touchpoints()->Wait(std::chrono::seconds(20));
  suite_->StartTouchpoints({"--events_stream_prefix=elsewhere-" + std::to_string(::getpid())});
  ASSERT_FALSE(HasFatalFailure());
  const std::string customer = CreateCustomer("深圳刚建档科技有限公司");
  grpc::ClientContext context;
  Authorize(context);
  tv1::RecordTouchpointRequest request;
  tv1::Touchpoint* t = request.mutable_touchpoint();
  t->set_customer_id(customer);
  t->mutable_occur_time()->set_seconds(occur_seconds_);
  t->set_channel(tv1::CHANNEL_PHONE);
  t->set_category(tv1::CATEGORY_SALES);
  tv1::RecordTouchpointResponse response;
  const grpc::Status status = Touchpoints()->RecordTouchpoint(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.touchpoint().customer_id(), customer);
  EXPECT_EQ(Timeline(customer), std::vector<std::string>{response.touchpoint().touchpoint_id()});

  // A customer contacts does not have is still refused.
  grpc::ClientContext again;
  Authorize(again);
  t->set_customer_id("00000000-0000-4000-8000-000000000001");
  EXPECT_EQ(Touchpoints()->RecordTouchpoint(&again, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Configuration is checked before anything is connected to: no suite needed.
// customer_status_after reaches the customer in contacts through the touchpoint events: the
// newest touchpoint that sets a status wins, and an older one recorded later changes nothing.
TEST_F(TouchpointsProcessTest, TheNewestTouchpointsStatusAfterBecomesTheCustomersStatus) {
  StartSuite();
  if (HasFatalFailure()) return;
  const std::string customer = CreateCustomer("深圳市腾飞科技有限公司");
  const auto record = [&](int64_t occur_seconds, cv1::LifecycleStatus status) {
    grpc::Status recorded;
    Eventually([&] {
      grpc::ClientContext context;
      Authorize(context);
      tv1::RecordTouchpointRequest request;
      tv1::Touchpoint* t = request.mutable_touchpoint();
      t->set_customer_id(customer);
      t->mutable_occur_time()->set_seconds(occur_seconds);
      t->set_channel(tv1::CHANNEL_ONSITE_VISIT);
      t->set_category(tv1::CATEGORY_SALES);
      t->set_customer_status_after(status);
      tv1::RecordTouchpointResponse response;
      recorded = Touchpoints()->RecordTouchpoint(&context, request, &response);
      return recorded.error_code() != grpc::StatusCode::INVALID_ARGUMENT &&
             recorded.error_code() != grpc::StatusCode::UNAVAILABLE;
    });
    EXPECT_TRUE(recorded.ok()) << recorded.error_message();
  };
  const auto customer_now = [&] {
    auto stub = cv1::ContactsService::NewStub(
        grpc::CreateChannel(suite_->contacts_address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    Authorize(context);
    cv1::GetCustomerRequest request;
    request.set_customer_id(customer);
    cv1::GetCustomerResponse response;
    EXPECT_TRUE(stub->GetCustomer(&context, request, &response).ok());
    return response.customer();
  };

  record(occur_seconds_, cv1::LIFECYCLE_STATUS_CUSTOMER);
  EXPECT_TRUE(Eventually(
      [&] { return customer_now().lifecycle_status() == cv1::LIFECYCLE_STATUS_CUSTOMER; }));
  // Older, then newer: events are applied in order, so once the newer one shows, the older one
  // was applied before it and moved nothing (the version went up once per change: 1, 2, 3).
  record(occur_seconds_ - 3600, cv1::LIFECYCLE_STATUS_CHURNED);
  record(occur_seconds_ + 60, cv1::LIFECYCLE_STATUS_HIGH_INTENT);
  EXPECT_TRUE(Eventually(
      [&] { return customer_now().lifecycle_status() == cv1::LIFECYCLE_STATUS_HIGH_INTENT; }));
  EXPECT_EQ(customer_now().etag(), "3");
}

// A share made in the permissions service reaches the touchpoints service as an event, and
// there sends the customer's earlier touchpoints through the change feed again (main.cc wires
// the shares read model to the store): a partner reading on from its cursor, which passed
// over them while it did not see the customer, gets them once the customer is shared with it.
TEST_F(TouchpointsProcessTest, ASharedCustomersEarlierTouchpointsReachThePartnersChangeFeed) {
  StartSuite();
  if (HasFatalFailure()) return;
  const auto as_admin = [&] {
    auto context = std::make_unique<grpc::ClientContext>();
    Authorize(*context);
    return context;
  };
  pv1::CreatePartnerOrganizationRequest org;
  org.mutable_partner_organization()->set_partner_org_id("channel-z");
  org.mutable_partner_organization()->set_display_name("华南渠道Z");
  pv1::CreatePartnerOrganizationResponse org_response;
  ASSERT_TRUE(suite_->Permissions()
                  ->CreatePartnerOrganization(as_admin().get(), org, &org_response)
                  .ok());
  pv1::CreateUserRequest user;
  user.mutable_user()->set_username("partner_z");
  user.mutable_user()->set_display_name("渠道用户");
  user.mutable_user()->set_role_id("partner");
  user.mutable_user()->set_partner_org_id("channel-z");
  user.set_password("pw-partner_z-长密码-0001");
  pv1::CreateUserResponse user_response;
  const grpc::Status created =
      suite_->Permissions()->CreateUser(as_admin().get(), user, &user_response);
  ASSERT_TRUE(created.ok()) << created.error_message();
  pv1::LoginResponse login;
  ASSERT_TRUE(suite_->Login(kTenant, "partner_z", user.password(), &login).ok());
  const auto as_partner = [&] {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata(auth::kTenantHeader, kTenant);
    testing::Suite::Authorize(*context, login.access_token());
    return context;
  };
  const auto share = [&](const std::string& customer) {
    pv1::ShareCustomerRequest request;
    request.mutable_share()->set_customer_id(customer);
    request.mutable_share()->set_partner_org_id("channel-z");
    request.mutable_share()->set_access(pv1::SHARE_ACCESS_READ);
    pv1::ShareCustomerResponse response;
    grpc::Status status;
    // The permissions service learns the customer from contacts' events: retry until then.
    Eventually([&] {
      status = suite_->Permissions()->ShareCustomer(as_admin().get(), request, &response);
      return status.error_code() != grpc::StatusCode::NOT_FOUND;
    });
    EXPECT_TRUE(status.ok()) << status.error_message();
    // ... and the share reaches touchpoints as an event: until then the partner sees nothing.
    EXPECT_TRUE(Eventually([&] {
      tv1::ListTouchpointsRequest timeline;
      timeline.set_customer_id(customer);
      tv1::ListTouchpointsResponse listed;
      return Touchpoints()->ListTouchpoints(as_partner().get(), timeline, &listed).ok();
    }));
  };
  // Reads the partner's feed on from `cursor` until `marker` has come (every change
  // committed before it is final then); returns the touchpoint ids read.
  std::string cursor;
  const auto read_through = [&](const std::string& marker) {
    std::vector<std::string> ids;
    Eventually([&] {
      tv1::ListTouchpointChangesRequest request;
      request.set_cursor(cursor);
      tv1::ListTouchpointChangesResponse response;
      const grpc::Status status =
          Touchpoints()->ListTouchpointChanges(as_partner().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) return true;
      for (const tv1::Touchpoint& t : response.touchpoints()) ids.push_back(t.touchpoint_id());
      cursor = response.next_cursor();
      return std::find(ids.begin(), ids.end(), marker) != ids.end();
    });
    EXPECT_NE(std::find(ids.begin(), ids.end(), marker), ids.end()) << "marker " << marker;
    return ids;
  };

  const std::string shared = CreateCustomer("广州南方贸易有限公司");
  const std::string later = CreateCustomer("佛山后来共享有限公司");
  tv1::RecordTouchpointResponse recorded;
  ASSERT_TRUE(Record(later, "before-share", &recorded).ok());
  const std::string earlier = recorded.touchpoint().touchpoint_id();
  share(shared);
  ASSERT_TRUE(Record(shared, "marker-1", &recorded).ok());
  EXPECT_EQ(read_through(recorded.touchpoint().touchpoint_id()),
            std::vector<std::string>{recorded.touchpoint().touchpoint_id()});

  share(later);
  ASSERT_TRUE(Record(shared, "marker-2", &recorded).ok());
  EXPECT_EQ(read_through(recorded.touchpoint().touchpoint_id()),
            (std::vector<std::string>{earlier, recorded.touchpoint().touchpoint_id()}));
}

TEST_F(TouchpointsProcessTest, BadConfigurationExitsTwoWithOneClearLine) {
  const std::string log =
      ::testing::TempDir() + "touchpoints_process_" + std::to_string(::getpid()) + ".log";
  for (const auto& [flags, named] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--max_clock_skew=-1m", "--jwt_public_key_file=/nonexistent", "--permissions_addr=x"},
            "max_clock_skew"},
           {{"--permissions_addr=127.0.0.1:1"}, "--jwt_public_key_file is required"},
           {{"--jwt_public_key_file=/nonexistent/jwt.pub", "--permissions_addr=127.0.0.1:1"},
            "--jwt_public_key_file: cannot read /nonexistent/jwt.pub"}}) {
    std::vector<std::string> args = {"--pg_dsn=" + testing::TestPgDsn(),
                                     "--redis_addr=" + testing::TestRedisAddr(),
                                     "--listen_address=127.0.0.1:0", "--metrics_address="};
    args.insert(args.end(), flags.begin(), flags.end());
    testing::ServiceProcess process(TOUCHLINE_TOUCHPOINTS_BINARY, args, log);
    EXPECT_EQ(process.Wait(std::chrono::seconds(20)), 2) << named;
    const std::string text = testing::ReadFile(log);
    EXPECT_NE(text.find(named), std::string::npos) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  }
}

}  // namespace
}  // namespace touchline
