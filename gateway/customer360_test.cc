// The 360 view's own rules over a fake loader: input checks, the row decision and field
// policies applied after the cache (the same engine as the services), the number of
// touchpoints, and reading as the caller when the tenant has no service key.
#include "gateway/customer360.h"

#include <memory>
#include <string>
#include <vector>

#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::gateway {
namespace {

namespace pv1 = ::touchline::permissions::v1;
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
  return entry;
}

class FakeLoader : public Customer360Loader {
 public:
  bool HasServiceKey(const std::string& tenant) override { return tenant == kTenant; }
  absl::StatusOr<Customer360Cache::Entry> Load(const Headers& headers,
                                               const std::string& customer_id,
                                               bool with_shares) override {
    calls.push_back({headers, customer_id, with_shares});
    if (customer_id != kCustomerId) {
      return absl::NotFoundError("customer " + customer_id + " not found");
    }
    return entry;
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
