// The 360 view's own rules over a fake loader: input checks, the row decision and field
// policies applied after the cache (the same engine as the services), the number of
// touchpoints, the journeys, the open tasks, and reading as the caller when the tenant has no
// service key. Then ServiceLoader over in-process fakes of the services: the journeys and the
// open tasks read with the same credential, and a view without them (not storable) when
// journeys or automation fails.
#include "gateway/customer360.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::gateway {
namespace {

namespace av1 = ::touchline::automation::v1;
namespace cv1 = ::touchline::contacts::v1;
namespace jv1 = ::touchline::journeys::v1;
namespace pv1 = ::touchline::permissions::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
constexpr char kCustomerId[] = "4f1c2d3e-0000-4000-8000-00000000c001";
constexpr char kPhone[] = "+8613812341234";

Customer360Cache::Entry Entry(
    contacts::v1::CustomerLevel level = contacts::v1::CUSTOMER_LEVEL_KEY) {
  Customer360Cache::Entry entry;
  contacts::v1::Customer* c = entry.mutable_customer();
  c->set_customer_id(kCustomerId);
  c->set_display_name("北京星河贸易有限公司");
  c->set_owner_id("u-rep1");
  c->set_region("北京");
  c->set_level(level);
  contacts::v1::ContactPerson* person = c->add_contact_persons();
  person->add_phones()->set_number(kPhone);
  person->add_emails()->set_address("wang.wei@example.com");
  person->set_note("喜欢喝茶");
  pv1::CustomerShare* share = entry.add_shares();
  share->set_customer_id(kCustomerId);
  share->set_partner_org_id("dealer-1");
  share->set_access(pv1::SHARE_ACCESS_READ);
  for (int i = 0; i < kMaxRecentTouchpoints; ++i) {
    touchpoints::v1::Touchpoint* t = entry.add_touchpoints();
    t->set_touchpoint_id("t" + std::to_string(i));
    t->set_customer_id(kCustomerId);
    t->set_subject("回访 " + std::to_string(i));
    t->set_content("客户投诉物流太慢");
  }
  jv1::CustomerJourney* journey = entry.add_journeys();
  journey->set_journey_id("4f1c2d3e-0000-4000-8000-00000000a001");
  journey->set_version(2);
  journey->set_journey_display_name("零售客户旅程");
  journey->set_stage_id("consideration");
  journey->set_stage_kind(jv1::STAGE_KIND_NORMAL);
  journey->mutable_stage_enter_time()->set_seconds(1767225600);
  for (int i = 0; i < 2; ++i) {
    av1::Task* task = entry.add_open_tasks();
    task->set_task_id("4f1c2d3e-0000-4000-8000-00000000b00" + std::to_string(i));
    task->set_customer_id(kCustomerId);
    task->set_title(i == 0 ? "回访 确认报价单" : "寄送合同");
    task->set_assignee_id("u-rep1");
    task->mutable_due_time()->set_seconds(1767312000 + i * 86400);
    task->set_state(av1::TASK_STATE_OPEN);
    task->set_etag("1");
  }
  return entry;
}

class FakeLoader : public Customer360Loader {
 public:
  bool HasServiceKey(const std::string& tenant) override { return tenant == kTenant; }
  absl::StatusOr<Customer360Cache::Loaded> Load(const Headers& headers,
                                                const std::string& customer_id,
                                                bool with_shares) override {
    calls.push_back({headers, customer_id, with_shares});
    if (customer_id != kCustomerId) {
      return absl::NotFoundError("customer " + customer_id + " not found");
    }
    return Customer360Cache::Loaded{.entry = entry, .storable = true};
  }
  Headers ServiceKeyHeaders(const std::string& tenant) override {
    return {{"x-api-key", "tlk_" + tenant + "_service"}};
  }

  struct Call {
    Headers headers;
    std::string customer_id;
    bool with_shares;
  };
  std::vector<Call> calls;
  Customer360Cache::Entry entry = Entry();
};

auth::RequestContext Caller(pv1::EffectiveScope scope, const std::string& tenant = kTenant) {
  scope.set_tenant_id(tenant);
  if (scope.user_id().empty()) scope.set_user_id("u-test");
  absl::StatusOr<std::shared_ptr<const auth::Scope>> compiled =
      auth::Scope::Compile(std::move(scope));
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return {.tenant_id = tenant,
          .caller_id = "u-test",
          .request_id = "r-1",
          .scope = compiled.ok() ? *compiled : nullptr,
          .client = "test"};
}

pv1::EffectiveScope Rep(const std::string& user, int rank = 10) {
  pv1::EffectiveScope scope;
  scope.set_user_id(user);
  scope.set_role_id("rep");
  scope.set_rank(rank);
  scope.add_owner_ids(user);
  scope.set_vip_visible(rank >= auth::kVipMinRank);
  return scope;
}

gateway::v1::GetCustomer360Request Request(const std::string& id = kCustomerId, int count = 0) {
  gateway::v1::GetCustomer360Request request;
  request.set_customer_id(id);
  request.set_touchpoint_count(count);
  return request;
}

class Customer360ServiceTest : public ::testing::Test {
 protected:
  FakeLoader loader_;
  Customer360Service views_{&loader_, nullptr, nullptr};
  const Headers credential_ = {{"authorization", "Bearer caller-token"}};
};

TEST_F(Customer360ServiceTest, RejectsABadIdOrCountNamingTheField) {
  const auth::RequestContext admin = Caller(auth::testing::AdminScope(kTenant, "u-admin"));
  const absl::StatusOr<Customer360Service::Served> bad_id =
      views_.Get(admin, credential_, Request("not-a-uuid"));
  EXPECT_THAT(bad_id.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status::FieldViolationsOf(bad_id.status()),
              ElementsAre(Pair("customer_id", "must be a UUID")));
  for (int count : {-1, kMaxRecentTouchpoints + 1}) {
    const absl::StatusOr<Customer360Service::Served> bad_count =
        views_.Get(admin, credential_, Request(kCustomerId, count));
    EXPECT_THAT(status::FieldViolationsOf(bad_count.status()),
                ElementsAre(Pair("touchpoint_count", "must be 0 to 20")));
  }
  EXPECT_TRUE(loader_.calls.empty());
}

TEST_F(Customer360ServiceTest, OwnerSeesTheViewReadWithTheServiceKey) {
  TL_ASSERT_OK_AND_ASSIGN(auto served, views_.Get(Caller(Rep("u-rep1")), credential_, Request()));
  EXPECT_EQ(served.outcome, CacheOutcome::kBypass);  // no cache in this test
  EXPECT_EQ(served.response.customer().display_name(), "北京星河贸易有限公司");
  EXPECT_EQ(served.response.customer().contact_persons(0).phones(0).number(), kPhone);
  ASSERT_EQ(served.response.recent_touchpoints_size(), kDefaultRecentTouchpoints);
  EXPECT_EQ(served.response.recent_touchpoints(0).touchpoint_id(), "t0");
  ASSERT_EQ(loader_.calls.size(), 1u);
  EXPECT_THAT(loader_.calls[0].headers, ElementsAre(Pair("x-api-key", "tlk_acme_service")));
  EXPECT_TRUE(loader_.calls[0].with_shares);
}

TEST_F(Customer360ServiceTest, UpperCaseIdIsTheSameCustomer) {
  std::string upper = kCustomerId;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  TL_ASSERT_OK_AND_ASSIGN(auto served,
                          views_.Get(Caller(Rep("u-rep1")), credential_, Request(upper)));
  EXPECT_EQ(served.response.customer().customer_id(), kCustomerId);
}

TEST_F(Customer360ServiceTest, CustomerOutOfScopeIsNotFoundInTheWordsOfAMissingOne) {
  const absl::StatusOr<Customer360Service::Served> invisible =
      views_.Get(Caller(Rep("u-rep2")), credential_, Request());
  const absl::StatusOr<Customer360Service::Served> missing = views_.Get(
      Caller(Rep("u-rep2")), credential_, Request("4f1c2d3e-0000-4000-8000-00000000ffff"));
  EXPECT_THAT(invisible.status(), StatusIs(absl::StatusCode::kNotFound,
                                           std::string("customer ") + kCustomerId + " not found"));
  EXPECT_THAT(missing.status(),
              StatusIs(absl::StatusCode::kNotFound,
                       "customer 4f1c2d3e-0000-4000-8000-00000000ffff not found"));
}

TEST_F(Customer360ServiceTest, VipCustomerNeedsAManagersRankOutsideItsOwnersLine) {
  loader_.entry = Entry(contacts::v1::CUSTOMER_LEVEL_VIP);
  // Its owner sees it at any rank; its region (北京) and its partner share only from rank 30.
  EXPECT_TRUE(views_.Get(Caller(Rep("u-rep1")), credential_, Request()).ok());
  pv1::EffectiveScope territory = Rep("u-rep2");
  territory.add_regions("北京");
  EXPECT_THAT(views_.Get(Caller(territory), credential_, Request()).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      views_.Get(Caller(auth::testing::PartnerScope("dealer-1")), credential_, Request()).status(),
      StatusIs(absl::StatusCode::kNotFound));
  territory.set_rank(30);
  territory.set_vip_visible(true);
  EXPECT_TRUE(views_.Get(Caller(territory), credential_, Request()).ok());
}

TEST_F(Customer360ServiceTest, PartnerSeesASharedCustomerWithPhonesAndEmailsMasked) {
  TL_ASSERT_OK_AND_ASSIGN(auto served, views_.Get(Caller(auth::testing::PartnerScope("dealer-1")),
                                                  credential_, Request()));
  const contacts::v1::ContactPerson& person = served.response.customer().contact_persons(0);
  EXPECT_EQ(person.phones(0).number(), "+86138****1234");
  EXPECT_EQ(person.emails(0).address(), "w***@example.com");
  EXPECT_EQ(person.note(), "喜欢喝茶");
  EXPECT_THAT(
      views_.Get(Caller(auth::testing::PartnerScope("dealer-2")), credential_, Request()).status(),
      StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(Customer360ServiceTest, HiddenFieldsAreAbsentFromCustomerAndTouchpoints) {
  pv1::EffectiveScope scope = Rep("u-rep1");
  *scope.add_field_rules() =
      auth::testing::FieldRuleOf("customer", "contact_persons.note", pv1::FIELD_ACCESS_HIDDEN);
  *scope.add_field_rules() =
      auth::testing::FieldRuleOf("touchpoint", "content", pv1::FIELD_ACCESS_HIDDEN);
  TL_ASSERT_OK_AND_ASSIGN(auto served, views_.Get(Caller(scope), credential_, Request()));
  EXPECT_EQ(served.response.customer().contact_persons(0).note(), "");
  for (const touchpoints::v1::Touchpoint& t : served.response.recent_touchpoints()) {
    EXPECT_EQ(t.content(), "");
    EXPECT_FALSE(t.subject().empty());
  }
}

TEST_F(Customer360ServiceTest, ReturnsTheNumberOfTouchpointsAskedForNewestFirst) {
  TL_ASSERT_OK_AND_ASSIGN(auto three,
                          views_.Get(Caller(Rep("u-rep1")), credential_, Request(kCustomerId, 3)));
  ASSERT_EQ(three.response.recent_touchpoints_size(), 3);
  EXPECT_EQ(three.response.recent_touchpoints(2).touchpoint_id(), "t2");
  TL_ASSERT_OK_AND_ASSIGN(auto all, views_.Get(Caller(Rep("u-rep1")), credential_,
                                               Request(kCustomerId, kMaxRecentTouchpoints)));
  EXPECT_EQ(all.response.recent_touchpoints_size(), kMaxRecentTouchpoints);
}

TEST_F(Customer360ServiceTest, TenantWithoutServiceKeyIsReadAsTheCaller) {
  // The services enforce for the caller: whatever they return is passed on as is.
  TL_ASSERT_OK_AND_ASSIGN(auto served, views_.Get(Caller(Rep("u-rep2"), "globex"), credential_,
                                                  Request(kCustomerId, 2)));
  EXPECT_EQ(served.outcome, CacheOutcome::kBypass);
  EXPECT_EQ(served.response.recent_touchpoints_size(), 2);
  ASSERT_EQ(loader_.calls.size(), 1u);
  EXPECT_EQ(loader_.calls[0].headers, credential_);
  EXPECT_FALSE(loader_.calls[0].with_shares);
}

TEST_F(Customer360ServiceTest, JourneysAreShownAsTheyAreToWhoeverSeesTheCustomer) {
  pv1::EffectiveScope hidden = Rep("u-rep1");
  *hidden.add_field_rules() =
      auth::testing::FieldRuleOf("customer", "contact_persons", pv1::FIELD_ACCESS_HIDDEN);
  *hidden.add_field_rules() = auth::testing::FieldRuleOf(
      "touchpoint", "subject", pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_PARTIAL);
  for (const pv1::EffectiveScope& scope :
       {Rep("u-rep1"), auth::testing::PartnerScope("dealer-1"), hidden}) {
    TL_ASSERT_OK_AND_ASSIGN(auto served, views_.Get(Caller(scope), credential_, Request()));
    ASSERT_EQ(served.response.journeys_size(), 1) << scope.user_id();
    EXPECT_TRUE(MessageDifferencer::Equals(served.response.journeys(0), loader_.entry.journeys(0)))
        << served.response.journeys(0).DebugString();
  }
  // Nobody else sees them: the customer is not found.
  EXPECT_THAT(views_.Get(Caller(Rep("u-rep2")), credential_, Request()).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(Customer360ServiceTest, EveryJourneyWhateverTheTouchpointCount) {
  jv1::CustomerJourney second = loader_.entry.journeys(0);
  second.set_journey_id("4f1c2d3e-0000-4000-8000-00000000a002");
  second.set_journey_display_name("售后旅程");
  *loader_.entry.add_journeys() = second;
  for (int count : {1, kMaxRecentTouchpoints}) {
    TL_ASSERT_OK_AND_ASSIGN(
        auto served, views_.Get(Caller(Rep("u-rep1")), credential_, Request(kCustomerId, count)));
    ASSERT_EQ(served.response.journeys_size(), 2);
    EXPECT_EQ(served.response.journeys(1).journey_display_name(), "售后旅程");
  }
}

TEST_F(Customer360ServiceTest, OpenTasksAreShownAsTheyAreToWhoeverSeesTheCustomer) {
  pv1::EffectiveScope hidden = Rep("u-rep1");
  *hidden.add_field_rules() =
      auth::testing::FieldRuleOf("customer", "contact_persons", pv1::FIELD_ACCESS_HIDDEN);
  for (const pv1::EffectiveScope& scope :
       {Rep("u-rep1"), auth::testing::PartnerScope("dealer-1"), hidden}) {
    for (int count : {1, kMaxRecentTouchpoints}) {
      TL_ASSERT_OK_AND_ASSIGN(auto served,
                              views_.Get(Caller(scope), credential_, Request(kCustomerId, count)));
      ASSERT_EQ(served.response.open_tasks_size(), 2) << scope.user_id();
      for (int i = 0; i < 2; ++i) {
        EXPECT_TRUE(
            MessageDifferencer::Equals(served.response.open_tasks(i), loader_.entry.open_tasks(i)))
            << served.response.open_tasks(i).DebugString();
      }
    }
  }
  EXPECT_THAT(views_.Get(Caller(Rep("u-rep2")), credential_, Request()).status(),
              StatusIs(absl::StatusCode::kNotFound));
  // A view loaded without them (automation down) shows none.
  loader_.entry.clear_open_tasks();
  TL_ASSERT_OK_AND_ASSIGN(auto without, views_.Get(Caller(Rep("u-rep1")), credential_, Request()));
  EXPECT_EQ(without.response.open_tasks_size(), 0);
  EXPECT_EQ(without.response.journeys_size(), 1);
}

TEST_F(Customer360ServiceTest, TenantWithoutServiceKeyGetsTheJourneysReadAsTheCaller) {
  TL_ASSERT_OK_AND_ASSIGN(auto served,
                          views_.Get(Caller(Rep("u-rep2"), "globex"), credential_, Request()));
  ASSERT_EQ(served.response.journeys_size(), 1);
  EXPECT_EQ(served.response.journeys(0).stage_id(), "consideration");
}

// The four services the loader reads, in one in-process server: contacts knows kCustomerId
// only, touchpoints has one touchpoint, permissions no share, and journeys answers what the
// test sets, noting the metadata of each call.
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, grpc::Status status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

class FakeContacts final : public cv1::ContactsService::CallbackService {
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* context,
                                        const cv1::GetCustomerRequest* request,
                                        cv1::GetCustomerResponse* response) override {
    if (request->customer_id() != kCustomerId) {
      return Answer(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "customer not found"));
    }
    response->mutable_customer()->set_customer_id(kCustomerId);
    response->mutable_customer()->set_display_name("北京星河贸易有限公司");
    return Answer(context, grpc::Status::OK);
  }
};

class FakeTouchpoints final : public tv1::TouchpointsService::CallbackService {
  grpc::ServerUnaryReactor* ListTouchpoints(grpc::CallbackServerContext* context,
                                            const tv1::ListTouchpointsRequest* request,
                                            tv1::ListTouchpointsResponse* response) override {
    tv1::Touchpoint* touchpoint = response->add_touchpoints();
    touchpoint->set_touchpoint_id("t0");
    touchpoint->set_customer_id(request->customer_id());
    return Answer(context, grpc::Status::OK);
  }
};

class FakePermissions final : public pv1::PermissionsService::CallbackService {
  grpc::ServerUnaryReactor* ListCustomerShares(grpc::CallbackServerContext* context,
                                               const pv1::ListCustomerSharesRequest*,
                                               pv1::ListCustomerSharesResponse*) override {
    return Answer(context, grpc::Status::OK);
  }
};

// What the fake of a part a view is served without (journeys, open tasks) answers, and who
// asked.
template <typename Item>
class PartAnswers {
 public:
  void Set(grpc::Status status, std::vector<Item> items) {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
    items_ = std::move(items);
  }

  // Notes a call (`what` it asked, the x-api-key of `context`) and answers it: the status set,
  // and when it is OK the items, each added by `add`.
  template <typename Add>
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, std::string what,
                                   Add add) {
    absl::MutexLock lock(&mu_);
    std::string key;
    const auto found = context->client_metadata().find("x-api-key");
    if (found != context->client_metadata().end()) {
      key.assign(found->second.data(), found->second.size());
    }
    calls_.push_back({std::move(what), key});
    if (status_.ok()) {
      for (const Item& item : items_) *add() = item;
    }
    return touchline::gateway::Answer(context, status_);
  }

  // (what was asked, x-api-key) of each call.
  std::vector<std::pair<std::string, std::string>> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::vector<Item> items_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, std::string>> calls_ ABSL_GUARDED_BY(mu_);
};

class FakeJourneys final : public jv1::JourneysService::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetCustomerJourneys(
      grpc::CallbackServerContext* context, const jv1::GetCustomerJourneysRequest* request,
      jv1::GetCustomerJourneysResponse* response) override {
    return answers.Answer(context, request->customer_id(),
                          [response] { return response->add_journeys(); });
  }

  PartAnswers<jv1::CustomerJourney> answers;
};

// ListTasks notes "<customer id> state=<state> page_size=<n>" of each call.
class FakeAutomation final : public av1::AutomationService::CallbackService {
 public:
  grpc::ServerUnaryReactor* ListTasks(grpc::CallbackServerContext* context,
                                      const av1::ListTasksRequest* request,
                                      av1::ListTasksResponse* response) override {
    return answers.Answer(context,
                          request->customer_id() +
                              " state=" + av1::TaskState_Name(request->state()) +
                              " page_size=" + std::to_string(request->page_size()),
                          [response] { return response->add_tasks(); });
  }

  PartAnswers<av1::Task> answers;
};

class ServiceLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&contacts_);
    builder.RegisterService(&touchpoints_);
    builder.RegisterService(&permissions_);
    builder.RegisterService(&journeys_);
    builder.RegisterService(&automation_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
    journeys_.answers.Set(grpc::Status::OK, {Entry().journeys(0)});
    automation_.answers.Set(grpc::Status::OK, OpenTasks());
  }

  static std::vector<av1::Task> OpenTasks() {
    const Customer360Cache::Entry entry = Entry();
    return {entry.open_tasks().begin(), entry.open_tasks().end()};
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // A loader of the fakes; without journeys (automation) when `with_journeys`
  // (`with_automation`) is false. Load needs no authenticator (only HasServiceKey does).
  std::unique_ptr<ServiceLoader> Loader(bool with_journeys, bool with_automation = true) {
    return std::make_unique<ServiceLoader>(
        ServiceLoader::Options{.contacts = channel_,
                               .touchpoints = channel_,
                               .permissions = channel_,
                               .journeys = with_journeys ? channel_ : nullptr,
                               .automation = with_automation ? channel_ : nullptr,
                               .service_keys = {},
                               .timeout = absl::Seconds(5)},
        nullptr);
  }

  const Headers key_ = {{"x-api-key", "tlk_acme_service"}};
  FakeContacts contacts_;
  FakeTouchpoints touchpoints_;
  FakePermissions permissions_;
  FakeJourneys journeys_;
  FakeAutomation automation_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ServiceLoaderTest, ReadsTheJourneysWithTheSameCredentialAndTheEntryIsStorable) {
  TL_ASSERT_OK_AND_ASSIGN(const Customer360Cache::Loaded loaded,
                          Loader(true)->Load(key_, kCustomerId, /*with_shares=*/true));
  EXPECT_TRUE(loaded.storable);
  EXPECT_EQ(loaded.entry.customer().display_name(), "北京星河贸易有限公司");
  ASSERT_EQ(loaded.entry.journeys_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(loaded.entry.journeys(0), Entry().journeys(0)));
  EXPECT_THAT(journeys_.answers.calls(), ElementsAre(Pair(kCustomerId, "tlk_acme_service")));
}

TEST_F(ServiceLoaderTest, JourneysFailingLeavesTheRestOfTheViewButNotStorable) {
  for (const grpc::StatusCode code :
       {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DEADLINE_EXCEEDED,
        grpc::StatusCode::INTERNAL}) {
    journeys_.answers.Set(grpc::Status(code, "journeys down"), {Entry().journeys(0)});
    TL_ASSERT_OK_AND_ASSIGN(const Customer360Cache::Loaded loaded,
                            Loader(true)->Load(key_, kCustomerId, /*with_shares=*/true));
    EXPECT_FALSE(loaded.storable) << code;
    EXPECT_EQ(loaded.entry.customer().customer_id(), kCustomerId);
    EXPECT_EQ(loaded.entry.touchpoints_size(), 1);
    EXPECT_EQ(loaded.entry.journeys_size(), 0);
  }
  // And once journeys answers again, the entries are whole and storable.
  journeys_.answers.Set(grpc::Status::OK, {Entry().journeys(0)});
  TL_ASSERT_OK_AND_ASSIGN(const Customer360Cache::Loaded loaded,
                          Loader(true)->Load(key_, kCustomerId, /*with_shares=*/true));
  EXPECT_TRUE(loaded.storable);
  EXPECT_EQ(loaded.entry.journeys_size(), 1);
}

TEST_F(ServiceLoaderTest, ACustomerJourneysDoesNotKnowHasNoJourneysAndIsStorable) {
  journeys_.answers.Set(grpc::Status(grpc::StatusCode::NOT_FOUND, "customer not found"), {});
  TL_ASSERT_OK_AND_ASSIGN(const Customer360Cache::Loaded loaded,
                          Loader(true)->Load(key_, kCustomerId, /*with_shares=*/false));
  EXPECT_TRUE(loaded.storable);
  EXPECT_EQ(loaded.entry.journeys_size(), 0);
  EXPECT_EQ(loaded.entry.touchpoints_size(), 1);
}

TEST_F(ServiceLoaderTest, WithoutAJourneysServiceTheViewHasNoneAndJourneysIsNotAsked) {
  TL_ASSERT_OK_AND_ASSIGN(const Customer360Cache::Loaded loaded,
                          Loader(false)->Load(key_, kCustomerId, /*with_shares=*/true));
  EXPECT_TRUE(loaded.storable);
  EXPECT_EQ(loaded.entry.journeys_size(), 0);
  EXPECT_EQ(loaded.entry.customer().customer_id(), kCustomerId);
  EXPECT_THAT(journeys_.answers.calls(), ::testing::IsEmpty());
}

TEST_F(ServiceLoaderTest, ReadsTheOpenTasksDueSoonestWithTheSameCredential) {
  TL_ASSERT_OK_AND_ASSIGN(const Customer360Cache::Loaded loaded,
                          Loader(true)->Load(key_, kCustomerId, /*with_shares=*/true));
  EXPECT_TRUE(loaded.storable);
  ASSERT_EQ(loaded.entry.open_tasks_size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(loaded.entry.open_tasks(i), OpenTasks()[i]));
  }
  EXPECT_THAT(automation_.answers.calls(),
              ElementsAre(Pair(std::string(kCustomerId) + " state=TASK_STATE_OPEN page_size=20",
                               "tlk_acme_service")));
}

TEST_F(ServiceLoaderTest, AutomationFailingLeavesTheRestOfTheViewButNotStorable) {
  for (const grpc::StatusCode code :
       {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DEADLINE_EXCEEDED,
        grpc::StatusCode::UNIMPLEMENTED}) {
    automation_.answers.Set(grpc::Status(code, "automation down"), OpenTasks());
    TL_ASSERT_OK_AND_ASSIGN(const Customer360Cache::Loaded loaded,
                            Loader(true)->Load(key_, kCustomerId, /*with_shares=*/true));
    EXPECT_FALSE(loaded.storable) << code;
    EXPECT_EQ(loaded.entry.customer().customer_id(), kCustomerId);
    EXPECT_EQ(loaded.entry.touchpoints_size(), 1);
    EXPECT_EQ(loaded.entry.journeys_size(), 1);
    EXPECT_EQ(loaded.entry.open_tasks_size(), 0);
  }
  // Both failing: neither part, still a view.
  journeys_.answers.Set(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), {});
  TL_ASSERT_OK_AND_ASSIGN(const Customer360Cache::Loaded neither,
                          Loader(true)->Load(key_, kCustomerId, /*with_shares=*/true));
  EXPECT_FALSE(neither.storable);
  EXPECT_EQ(neither.entry.journeys_size(), 0);
  EXPECT_EQ(neither.entry.open_tasks_size(), 0);
  // Once both answer again, the entries are whole and storable.
  journeys_.answers.Set(grpc::Status::OK, {Entry().journeys(0)});
  automation_.answers.Set(grpc::Status::OK, OpenTasks());
  TL_ASSERT_OK_AND_ASSIGN(const Customer360Cache::Loaded loaded,
                          Loader(true)->Load(key_, kCustomerId, /*with_shares=*/true));
  EXPECT_TRUE(loaded.storable);
  EXPECT_EQ(loaded.entry.open_tasks_size(), 2);
}

TEST_F(ServiceLoaderTest, WithoutAnAutomationServiceTheViewHasNoTasksAndAutomationIsNotAsked) {
  TL_ASSERT_OK_AND_ASSIGN(
      const Customer360Cache::Loaded loaded,
      Loader(true, /*with_automation=*/false)->Load(key_, kCustomerId, /*with_shares=*/true));
  EXPECT_TRUE(loaded.storable);
  EXPECT_EQ(loaded.entry.open_tasks_size(), 0);
  EXPECT_EQ(loaded.entry.journeys_size(), 1);
  EXPECT_THAT(automation_.answers.calls(), ::testing::IsEmpty());
}

TEST_F(ServiceLoaderTest, AMissingCustomerIsNotFoundWhateverJourneysSays) {
  EXPECT_THAT(Loader(true)->Load(key_, "4f1c2d3e-0000-4000-8000-00000000ffff", true).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ParseServiceKeysTest, ReadsOneKeyPerTenantAndNamesTheBadLine) {
  TL_ASSERT_OK_AND_ASSIGN(
      auto keys, ParseServiceKeys("# gateway keys\ntlk_acme_AAAA\n\n  tlk_globex-2_BBBB  \n"));
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys.at("acme"), "tlk_acme_AAAA");
  EXPECT_EQ(keys.at("globex-2"), "tlk_globex-2_BBBB");
  EXPECT_THAT(ParseServiceKeys("tlk_acme_A\nnot a key\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "line 2: not an API key (tlk_<tenant>_<secret>)"));
  EXPECT_THAT(ParseServiceKeys("tlk_acme_A\ntlk_acme_B").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "line 2: a second key for tenant acme"));
  EXPECT_THAT(ParseServiceKeys("tlk_BAD_A").status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::gateway
