// The real touchline-journeys binary with the rest of the suite (tests/testing/suite.h): a
// journey created and published over gRPC, a customer created in contacts entering it through
// the customers stream, touchpoints recorded in touchpoints moving it through the touchpoints
// stream, the same read over HTTP/JSON through the gateway, the customer's 360 in the gateway
// showing its stage and following its moves (the cached view dropped by journey events) and
// served without journeys, uncached, while journeys is down, and kill -9 of journeys while it
// consumes losing and doubling nothing. Needs the PostgreSQL and Redis the test command starts.
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth/request_context.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "services/journeys/definitions/testing/sample_journey.h"
#include "tests/testing/http_client.h"
#include "tests/testing/process.h"
#include "tests/testing/suite.h"
#include "touchline/journeys/v1/journeys_service.grpc.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.grpc.pb.h"

namespace touchline {
namespace {

using ::google::protobuf::util::TimeUtil;
using testing::Eventually;
namespace jv1 = ::touchline::journeys::v1;
namespace tv1 = ::touchline::touchpoints::v1;

constexpr char kTenant[] = "acme";

class JourneysProcessTest : public ::testing::Test {
 protected:
  void StartSuite(bool gateway) {
    testing::Suite::Options options;
    options.tenants = {kTenant};
    options.journeys = true;
    options.gateway = gateway;
    suite_ = std::make_unique<testing::Suite>(options);
    ASSERT_FALSE(HasFatalFailure());
    token_ = suite_->AdminToken(kTenant);
    touchpoints_ = tv1::TouchpointsService::NewStub(
        grpc::CreateChannel(suite_->touchpoints_address(), grpc::InsecureChannelCredentials()));
    journeys_ = jv1::JourneysService::NewStub(
        grpc::CreateChannel(suite_->journeys_address(), grpc::InsecureChannelCredentials()));
  }

  void Authorize(grpc::ClientContext& context) const {
    context.AddMetadata(auth::kTenantHeader, kTenant);
    testing::Suite::Authorize(context, token_);
  }

  // The seed's retail map: a store visit or a call makes a customer of 华东 consider, a won
  // deal makes it buy.
  std::string PublishJourney() {
    jv1::CreateJourneyRequest create;
    *create.mutable_journey() = journeys::testing::RetailJourney();
    jv1::CreateJourneyResponse created;
    {
      grpc::ClientContext context;
      Authorize(context);
      const grpc::Status status = journeys_->CreateJourney(&context, create, &created);
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
    jv1::PublishJourneyRequest publish;
    publish.set_journey_id(created.journey().journey_id());
    jv1::PublishJourneyResponse published;
    grpc::ClientContext context;
    Authorize(context);
    const grpc::Status status = journeys_->PublishJourney(&context, publish, &published);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created.journey().journey_id();
  }

  std::string CreateCustomer(const std::string& name) {
    return suite_->CreateCustomer(kTenant, token_, name);
  }

  void Record(const std::string& customer, tv1::Channel channel, tv1::Outcome outcome,
              absl::Duration ago) {
    grpc::ClientContext context;
    Authorize(context);
    tv1::RecordTouchpointRequest request;
    tv1::Touchpoint* t = request.mutable_touchpoint();
    t->set_customer_id(customer);
    t->set_channel(channel);
    t->set_outcome(outcome);
    t->set_category(tv1::CATEGORY_SALES);
    t->set_direction(tv1::DIRECTION_INBOUND);
    t->set_subject("到店看车");
    *t->mutable_occur_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() - ago));
    tv1::RecordTouchpointResponse response;
    const grpc::Status status = touchpoints_->RecordTouchpoint(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  // The customer's stage on its one journey ("" when it is on none), or "!" on an error.
  std::string StageOf(const std::string& customer) {
    grpc::ClientContext context;
    Authorize(context);
    jv1::GetCustomerJourneysRequest request;
    request.set_customer_id(customer);
    jv1::GetCustomerJourneysResponse response;
    if (!journeys_->GetCustomerJourneys(&context, request, &response).ok()) return "!";
    return response.journeys_size() == 1 ? response.journeys(0).stage_id() : "";
  }

  // The customer's 360 over HTTP/JSON through the gateway.
  testing::HttpReply View360(const std::string& customer) const {
    return testing::HttpCall(suite_->gateway_http_port(), "GET",
                             absl::StrCat("/v1/customers/", customer, "/360"), token_);
  }

  // The stage of the one journey a 360 shows ("" when it shows none), or "!" for an error.
  static std::string StageIn(const testing::HttpReply& view) {
    if (view.status != 200 || !view.json.contains("journeys")) return "!";
    if (view.json["journeys"].size() != 1) return "";
    return view.json["journeys"][0].value("stageId", "");
  }

  // Moves the customer by hand (MoveCustomer): its only trace are events on the journeys topic.
  void Move(const std::string& customer, const std::string& journey, const std::string& stage) {
    grpc::ClientContext context;
    Authorize(context);
    jv1::MoveCustomerRequest request;
    request.set_customer_id(customer);
    request.set_journey_id(journey);
    request.set_to_stage_id(stage);
    request.set_reason("客户选择了竞品");
    jv1::MoveCustomerResponse response;
    const grpc::Status status = journeys_->MoveCustomer(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  std::vector<jv1::StageVisit> History(const std::string& customer, const std::string& journey) {
    grpc::ClientContext context;
    Authorize(context);
    jv1::ListStageHistoryRequest request;
    request.set_customer_id(customer);
    request.set_journey_id(journey);
    jv1::ListStageHistoryResponse response;
    EXPECT_TRUE(journeys_->ListStageHistory(&context, request, &response).ok());
    return {response.visits().begin(), response.visits().end()};
  }

  std::unique_ptr<testing::Suite> suite_;
  std::string token_;
  std::unique_ptr<tv1::TouchpointsService::Stub> touchpoints_;
  std::unique_ptr<jv1::JourneysService::Stub> journeys_;
};

TEST_F(JourneysProcessTest, TouchpointsRecordedInTouchpointsMoveTheCustomerThroughTheStreams) {
  StartSuite(/*gateway=*/true);
  ASSERT_FALSE(HasFatalFailure());
  const std::string journey = PublishJourney();
  const std::string customer = CreateCustomer("王小明");
  ASSERT_TRUE(Eventually([&] { return StageOf(customer) == "awareness"; }));
  Record(customer, tv1::CHANNEL_STORE_VISIT, tv1::OUTCOME_UNSPECIFIED, absl::Hours(2));
  ASSERT_TRUE(Eventually([&] { return StageOf(customer) == "consideration"; }));
  Record(customer, tv1::CHANNEL_PHONE, tv1::OUTCOME_WON, absl::Hours(1));
  ASSERT_TRUE(Eventually([&] { return StageOf(customer) == "purchase"; }));
  const std::vector<jv1::StageVisit> visits = History(customer, journey);
  ASSERT_EQ(visits.size(), 3u);
  EXPECT_TRUE(visits[0].cause().entered());
  EXPECT_FALSE(visits[1].cause().touchpoint_id().empty());

  // The same over HTTP/JSON through the gateway.
  const testing::HttpReply reply =
      testing::HttpCall(suite_->gateway_http_port(), "GET",
                        absl::StrCat("/v1/customers/", customer, "/journeys"), token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_TRUE(reply.json.contains("journeys")) << reply.body;
  EXPECT_EQ(reply.json["journeys"][0]["stageId"], "purchase");
  EXPECT_EQ(reply.json["journeys"][0]["journeyDisplayName"], "零售客户旅程");
}

TEST_F(JourneysProcessTest, The360ShowsTheJourneyStageAndFollowsItsMoves) {
  StartSuite(/*gateway=*/true);
  ASSERT_FALSE(HasFatalFailure());
  const std::string journey = PublishJourney();
  const std::string customer = CreateCustomer("李华");
  testing::HttpReply view;
  ASSERT_TRUE(Eventually([&] {
    view = View360(customer);
    return StageIn(view) == "awareness";
  })) << view.body;
  EXPECT_EQ(view.json["customer"]["displayName"], "李华");
  EXPECT_EQ(view.json["journeys"][0]["journeyId"], journey);
  EXPECT_EQ(view.json["journeys"][0]["journeyDisplayName"], "零售客户旅程");
  EXPECT_EQ(view.json["journeys"][0]["stageKind"], "STAGE_KIND_ENTRY");

  // A touchpoint moves the customer on: the 360 shows the touchpoint and the new stage.
  Record(customer, tv1::CHANNEL_STORE_VISIT, tv1::OUTCOME_UNSPECIFIED, absl::Hours(1));
  ASSERT_TRUE(Eventually([&] {
    view = View360(customer);
    return StageIn(view) == "consideration";
  })) << view.body;
  EXPECT_EQ(view.json["recentTouchpoints"].size(), 1u);

  // Once the view is cached, a move by hand can reach it only through the journey events it
  // publishes (nothing else changes, and the cache keeps a view for minutes).
  ASSERT_TRUE(Eventually([&] {
    view = View360(customer);
    return view.header("x-touchline-cache") == "hit";
  })) << view.body;
  ASSERT_EQ(StageIn(view), "consideration");
  Move(customer, journey, "lost");
  ASSERT_TRUE(Eventually([&] {
    view = View360(customer);
    return StageIn(view) == "lost";
  })) << view.body;
  EXPECT_EQ(view.json["journeys"][0]["stageKind"], "STAGE_KIND_EXIT");
  EXPECT_EQ(view.json["journeys"][0]["completed"], true);
}

TEST_F(JourneysProcessTest, WhileJourneysIsDownThe360IsServedWithoutJourneysAndUncached) {
  StartSuite(/*gateway=*/true);
  ASSERT_FALSE(HasFatalFailure());
  PublishJourney();
  const std::string customer = CreateCustomer("赵敏");
  testing::HttpReply view;
  ASSERT_TRUE(Eventually([&] {
    view = View360(customer);
    return StageIn(view) == "awareness" && view.header("x-touchline-cache") == "hit";
  })) << view.body;

  suite_->journeys()->Kill(SIGKILL);
  suite_->journeys()->Wait(std::chrono::seconds(10));
  // The touchpoint's event drops the cached view; the next one is read without journeys.
  Record(customer, tv1::CHANNEL_STORE_VISIT, tv1::OUTCOME_UNSPECIFIED, absl::Hours(1));
  ASSERT_TRUE(Eventually([&] {
    view = View360(customer);
    return view.status == 200 && view.json["recentTouchpoints"].size() == 1;
  })) << view.body;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(StageIn(view), "") << view.body;
    EXPECT_EQ(view.json["customer"]["displayName"], "赵敏");
    EXPECT_EQ(view.header("x-touchline-cache"), "bypass");
    view = View360(customer);
  }

  // Journeys back (and caught up on the touchpoint): the 360 shows the stage, cached again.
  suite_->StartJourneys();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(Eventually([&] {
    view = View360(customer);
    return StageIn(view) == "consideration" && view.header("x-touchline-cache") == "hit";
  })) << view.body;
}

TEST_F(JourneysProcessTest, KillNineWhileConsumingLosesAndDoublesNothing) {
  StartSuite(/*gateway=*/false);
  ASSERT_FALSE(HasFatalFailure());
  const std::string journey = PublishJourney();
  std::vector<std::string> customers;
  for (int i = 0; i < 8; ++i) customers.push_back(CreateCustomer(absl::StrCat("客户", i)));
  for (const std::string& c : customers) {
    ASSERT_TRUE(Eventually([&] { return StageOf(c) == "awareness"; }));
  }
  for (size_t i = 0; i < customers.size(); ++i) {
    Record(customers[i], tv1::CHANNEL_STORE_VISIT, tv1::OUTCOME_UNSPECIFIED, absl::Hours(3));
    if (i == customers.size() / 2) suite_->journeys()->Kill(SIGKILL);
    Record(customers[i], tv1::CHANNEL_PHONE, tv1::OUTCOME_WON, absl::Hours(1));
  }
  suite_->journeys()->Wait(std::chrono::seconds(10));
  suite_->StartJourneys();
  ASSERT_FALSE(HasFatalFailure());
  for (const std::string& c : customers) {
    // Events the killed process had read but not acknowledged come back after the consumers'
    // claim_idle (30 s from their delivery), whatever the restart: 60 s leaves room on a busy
    // machine (20 s did not once, with the restart 10 s after the kill).
    ASSERT_TRUE(Eventually([&] { return StageOf(c) == "purchase"; }, std::chrono::seconds(60)))
        << c;
    const std::vector<jv1::StageVisit> visits = History(c, journey);
    ASSERT_EQ(visits.size(), 3u) << c;
    EXPECT_EQ(visits[1].stage_id(), "consideration");
    EXPECT_EQ(visits[2].stage_id(), "purchase");
  }
}

}  // namespace
}  // namespace touchline
