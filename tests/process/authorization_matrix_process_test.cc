// The authorisation matrix, end to end: the real permissions, contacts, touchpoints and
// gateway binaries, a tenant with seven users in five roles, customers across owners, regions,
// levels and shares, and for every principal every read path (get, batch get, list, search,
// timeline, change feed, and the gateway's 360 view and list over gRPC and HTTP) asserting
// exactly which customers and which field values it sees,
// then the write paths asserting who may change what. Then the token attacks, revocation,
// disabling, login throttling, policy changes reaching running services, the audit chain, and
// tenant isolation under all of it. Needs the PostgreSQL and Redis the test command starts.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/auth/request_context.h"
#include "common/paging/page_token.h"
#include "gtest/gtest.h"
#include "tests/testing/http_client.h"
#include "tests/testing/jwt_forge.h"
#include "tests/testing/suite.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/gateway/v1/gateway_service.grpc.pb.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.grpc.pb.h"
#include "touchline/type/v1/contact_point.pb.h"

namespace touchline {
namespace {

using testing::Eventually;

namespace cv1 = ::touchline::contacts::v1;
namespace gv1 = ::touchline::gateway::v1;
namespace pv1 = ::touchline::permissions::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using testing::Suite;

constexpr char kTenant[] = "acme";
constexpr char kOtherTenant[] = "globex";
constexpr char kPhone[] = "+8613812341234";
constexpr char kMaskedPhone[] = "+86138****1234";
constexpr char kEmail[] = "wang.wei@example.com";
constexpr char kMaskedEmail[] = "w***@example.com";
constexpr char kNote[] = "喜欢喝茶，周三下午方便";
// The other contact points of every customer, and how partners see them (MASK_PATTERN_PARTIAL).
constexpr char kWecomId[] = "wmWangWei01";
constexpr char kMaskedWecomId[] = "w**********";
constexpr char kOfficeLine[] = "科技园路1号";
constexpr char kMaskedOfficeLine[] = "科*****";
constexpr char kHomeCity[] = "北京市";
constexpr char kMaskedHomeCity[] = "北**";

std::string Password(const std::string& username) {
  return username == "admin" ? testing::kAdminPassword : "pw-" + username + "-长密码-0001";
}

// One principal of the matrix: who they are and what they must see and be able to change.
struct Principal {
  std::string username;
  std::string role;
  // Customer labels ("C1".."C7").
  std::set<std::string> visible;
  std::set<std::string> writable;
  // How a contact person's phone and email and note look to them.
  std::string phone;
  std::string email;
  std::string note;
};

// The world every test reads: set up once, through the public RPCs as the administrator.
struct World {
  std::unique_ptr<Suite> suite;
  std::string admin_token;
  std::map<std::string, std::string> user_ids;   // username -> user id
  std::map<std::string, std::string> customers;  // label -> customer id
  std::map<std::string, std::string> labels;     // customer id -> label
  std::map<std::string, std::string> tokens;     // username -> access token
};
World* world = nullptr;

std::unique_ptr<cv1::ContactsService::Stub> Contacts() {
  return cv1::ContactsService::NewStub(
      grpc::CreateChannel(world->suite->contacts_address(), grpc::InsecureChannelCredentials()));
}
std::unique_ptr<tv1::TouchpointsService::Stub> Touchpoints() {
  return tv1::TouchpointsService::NewStub(
      grpc::CreateChannel(world->suite->touchpoints_address(), grpc::InsecureChannelCredentials()));
}
std::unique_ptr<pv1::PermissionsService::Stub> Permissions() { return world->suite->Permissions(); }

// A context carrying `token`.
std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  Suite::Authorize(*context, token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

#define ASSERT_RPC_OK(expr)                                                           \
  do {                                                                                \
    const grpc::Status rpc_status_ = (expr);                                          \
    ASSERT_TRUE(rpc_status_.ok()) << #expr << ": " << rpc_status_.error_code() << " " \
                                  << rpc_status_.error_message();                     \
  } while (false)

std::string CreateUser(const std::string& username, const std::string& role,
                       const std::string& manager = "", const std::string& partner_org = "") {
  pv1::CreateUserRequest request;
  request.mutable_user()->set_username(username);
  request.mutable_user()->set_display_name("用户 " + username);
  request.mutable_user()->set_role_id(role);
  if (!manager.empty()) request.mutable_user()->set_manager_id(world->user_ids.at(manager));
  request.mutable_user()->set_partner_org_id(partner_org);
  request.set_password(Password(username));
  pv1::CreateUserResponse response;
  const grpc::Status status =
      Permissions()->CreateUser(As(world->admin_token).get(), request, &response);
  EXPECT_TRUE(status.ok()) << username << ": " << status.error_message();
  world->user_ids[username] = response.user().user_id();
  return response.user().user_id();
}

std::string Login(const std::string& username) {
  pv1::LoginResponse response;
  const grpc::Status status = world->suite->Login(kTenant, username, Password(username), &response);
  EXPECT_TRUE(status.ok()) << username << ": " << status.error_message();
  return response.access_token();
}

std::string CreateCustomer(const std::string& label, const std::string& owner,
                           const std::string& region, cv1::CustomerLevel level) {
  cv1::CreateCustomerRequest request;
  cv1::Customer* c = request.mutable_customer();
  c->set_kind(cv1::CUSTOMER_KIND_ORGANIZATION);
  c->set_display_name("客户 " + label);
  c->set_industry("制造业");
  c->set_region(region);
  c->set_level(level);
  c->set_owner_id(world->user_ids.at(owner));
  cv1::ContactPerson* person = c->add_contact_persons();
  person->mutable_name()->set_family_name("王");
  person->mutable_name()->set_given_name("伟");
  person->add_phones()->set_number(kPhone);
  person->add_emails()->set_address(kEmail);
  person->set_note(kNote);
  type::v1::MessagingAccount* wecom = person->add_messaging_accounts();
  wecom->set_service(type::v1::MESSAGING_SERVICE_WECOM);
  wecom->set_account_id(kWecomId);
  person->add_addresses()->set_locality(kHomeCity);
  c->add_addresses()->add_address_lines(kOfficeLine);
  request.set_request_id("create-" + label);
  cv1::CreateCustomerResponse response;
  const grpc::Status status =
      Contacts()->CreateCustomer(As(world->admin_token).get(), request, &response);
  EXPECT_TRUE(status.ok()) << label << ": " << status.error_message();
  world->customers[label] = response.customer().customer_id();
  world->labels[response.customer().customer_id()] = label;
  return response.customer().customer_id();
}

void Share(const std::string& label, const std::string& team, const std::string& partner,
           pv1::ShareAccess access) {
  pv1::ShareCustomerRequest request;
  request.mutable_share()->set_customer_id(world->customers.at(label));
  if (!team.empty()) request.mutable_share()->set_team_id(team);
  if (!partner.empty()) request.mutable_share()->set_partner_org_id(partner);
  request.mutable_share()->set_access(access);
  pv1::ShareCustomerResponse response;
  // The share needs the customer in the permissions service's read model: retry until then.
  grpc::Status status;
  Eventually([&] {
    status = Permissions()->ShareCustomer(As(world->admin_token).get(), request, &response);
    return status.error_code() != grpc::StatusCode::NOT_FOUND;
  });
  EXPECT_TRUE(status.ok()) << label << ": " << status.error_message();
}

void SetFieldPolicy(const std::string& role, const std::string& resource, const std::string& path,
                    pv1::FieldAccess access) {
  pv1::SetFieldPolicyRequest request;
  request.mutable_policy()->set_role_id(role);
  request.mutable_policy()->set_resource(resource);
  request.mutable_policy()->set_field_path(path);
  request.mutable_policy()->set_access(access);
  pv1::SetFieldPolicyResponse response;
  const grpc::Status status =
      Permissions()->SetFieldPolicy(As(world->admin_token).get(), request, &response);
  EXPECT_TRUE(status.ok()) << path << ": " << status.error_message();
}

void RecordTouchpoint(const std::string& label) {
  tv1::RecordTouchpointRequest request;
  request.set_request_id("tp-" + label);
  tv1::Touchpoint* t = request.mutable_touchpoint();
  t->set_customer_id(world->customers.at(label));
  t->mutable_occur_time()->set_seconds(std::time(nullptr) - 3600);
  t->set_channel(tv1::CHANNEL_PHONE);
  t->set_category(tv1::CATEGORY_SERVICE);
  t->set_subject("客户投诉：物流延迟 " + label);
  t->set_content("通话记录。内部备注：赔偿方案待定");
  tv1::RecordTouchpointResponse response;
  grpc::Status status;
  // The customer reaches the touchpoints read model through the event stream: retry until then.
  Eventually([&] {
    status = Touchpoints()->RecordTouchpoint(As(world->admin_token).get(), request, &response);
    return status.error_code() != grpc::StatusCode::INVALID_ARGUMENT;
  });
  EXPECT_TRUE(status.ok()) << label << ": " << status.error_message();
}

// The matrix: who sees and may change which customers, and how contact details look to them.
// C1 rep_a 北京 standard; C2 rep_b 上海 key; C3 rep_c 广州, shared READ with team east and
// partner channel-a; C4 rep_c 天津 VIP; C5 rep_a 上海 VIP; C6 admin 北京, shared EDIT with
// channel-a; C7 rep_c 深圳. A VIP customer is seen by its owner's reporting line whatever the
// rank, through territories and shares only from rank 30.
// rm_north (regional manager, territory 北京/天津) manages lead_east, who manages rep_a and
// rep_b; team east = rep_a, rep_b; rep_c has no manager; partner_p is in channel-a.
std::vector<Principal> Matrix() {
  const std::set<std::string> all = {"C1", "C2", "C3", "C4", "C5", "C6", "C7"};
  return {
      {"admin", "admin", all, all, kPhone, kEmail, kNote},
      // Reports at depth 1 and 2 (C1, C2, C5), territory (C4, C6); VIP allowed at rank 30.
      {"rm_north",
       "regional_manager",
       {"C1", "C2", "C4", "C5", "C6"},
       {"C1", "C2", "C4", "C5", "C6"},
       kPhone,
       kEmail,
       kNote},
      // Reports' customers, the VIP C5 included (its owner rep_a reports to them).
      {"lead_east", "team_lead", {"C1", "C2", "C5"}, {"C1", "C2", "C5"}, kPhone, kEmail, kNote},
      // Own (the VIP C5 too) plus the team's READ share: sees C3, may not change it. Note
      // hidden for reps.
      {"rep_a", "rep", {"C1", "C3", "C5"}, {"C1", "C5"}, kPhone, kEmail, ""},
      {"rep_b", "rep", {"C2", "C3"}, {"C2"}, kPhone, kEmail, ""},
      // Owns C3, C4 (VIP) and C7.
      {"rep_c", "rep", {"C3", "C4", "C7"}, {"C3", "C4", "C7"}, kPhone, kEmail, ""},
      // Only what is shared with channel-a, phone and email masked; EDIT share on C6 only.
      {"partner_p", "partner", {"C3", "C6"}, {"C6"}, kMaskedPhone, kMaskedEmail, kNote},
  };
}

class AuthorizationMatrixTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world = new World;
    Suite::Options options;
    options.tenants = {kTenant, kOtherTenant};
    options.gateway = true;
    world->suite = std::make_unique<Suite>(options);
    if (::testing::Test::HasFatalFailure()) return;
    world->admin_token = world->suite->AdminToken(kTenant);
    pv1::GetEffectiveScopeResponse scope;
    ASSERT_RPC_OK(Permissions()->GetEffectiveScope(As(world->admin_token).get(),
                                                   pv1::GetEffectiveScopeRequest(), &scope));
    world->user_ids["admin"] = scope.scope().user_id();

    // Partners may edit what is shared with them for editing.
    pv1::UpdateRoleRequest role;
    role.mutable_role()->set_role_id("partner");
    role.mutable_role()->add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
    role.mutable_role()->add_permissions(pv1::PERMISSION_TOUCHPOINTS_WRITE);
    role.mutable_update_mask()->add_paths("permissions");
    pv1::UpdateRoleResponse updated;
    ASSERT_RPC_OK(Permissions()->UpdateRole(As(world->admin_token).get(), role, &updated));

    pv1::CreatePartnerOrganizationRequest org;
    org.mutable_partner_organization()->set_partner_org_id("channel-a");
    org.mutable_partner_organization()->set_display_name("华东渠道A");
    pv1::CreatePartnerOrganizationResponse org_response;
    ASSERT_RPC_OK(
        Permissions()->CreatePartnerOrganization(As(world->admin_token).get(), org, &org_response));

    CreateUser("rm_north", "regional_manager");
    CreateUser("lead_east", "team_lead", "rm_north");
    CreateUser("rep_a", "rep", "lead_east");
    CreateUser("rep_b", "rep", "lead_east");
    CreateUser("rep_c", "rep");
    CreateUser("partner_p", "partner", "", "channel-a");

    pv1::CreateTerritoryRequest territory;
    territory.mutable_territory()->set_territory_id("north");
    territory.mutable_territory()->set_display_name("华北");
    territory.mutable_territory()->add_regions("北京");
    territory.mutable_territory()->add_regions("天津");
    territory.mutable_territory()->add_member_user_ids(world->user_ids.at("rm_north"));
    pv1::CreateTerritoryResponse territory_response;
    ASSERT_RPC_OK(Permissions()->CreateTerritory(As(world->admin_token).get(), territory,
                                                 &territory_response));

    pv1::CreateTeamRequest team;
    team.mutable_team()->set_team_id("east");
    team.mutable_team()->set_display_name("华东一组");
    team.mutable_team()->add_member_user_ids(world->user_ids.at("rep_a"));
    team.mutable_team()->add_member_user_ids(world->user_ids.at("rep_b"));
    pv1::CreateTeamResponse team_response;
    ASSERT_RPC_OK(Permissions()->CreateTeam(As(world->admin_token).get(), team, &team_response));

    SetFieldPolicy("rep", "customer", "industry", pv1::FIELD_ACCESS_READ_ONLY);
    SetFieldPolicy("rep", "customer", "contact_persons.note", pv1::FIELD_ACCESS_HIDDEN);
    SetFieldPolicy("partner", "touchpoint", "content", pv1::FIELD_ACCESS_HIDDEN);

    CreateCustomer("C1", "rep_a", "北京", cv1::CUSTOMER_LEVEL_STANDARD);
    CreateCustomer("C2", "rep_b", "上海", cv1::CUSTOMER_LEVEL_KEY);
    CreateCustomer("C3", "rep_c", "广州", cv1::CUSTOMER_LEVEL_STANDARD);
    CreateCustomer("C4", "rep_c", "天津", cv1::CUSTOMER_LEVEL_VIP);
    CreateCustomer("C5", "rep_a", "上海", cv1::CUSTOMER_LEVEL_VIP);
    CreateCustomer("C6", "admin", "北京", cv1::CUSTOMER_LEVEL_STANDARD);
    CreateCustomer("C7", "rep_c", "深圳", cv1::CUSTOMER_LEVEL_STANDARD);
    Share("C3", "east", "", pv1::SHARE_ACCESS_READ);
    Share("C3", "", "channel-a", pv1::SHARE_ACCESS_READ);
    Share("C6", "", "channel-a", pv1::SHARE_ACCESS_EDIT);
    for (const auto& [label, id] : world->customers) RecordTouchpoint(label);

    for (const Principal& p : Matrix()) world->tokens[p.username] = Login(p.username);
    // Shares travel to contacts and touchpoints as events: wait until the partner sees both
    // shared customers' timelines, the last thing to arrive.
    ASSERT_TRUE(Eventually([] {
      for (const char* label : {"C3", "C6"}) {
        tv1::ListTouchpointsRequest request;
        request.set_customer_id(world->customers.at(label));
        tv1::ListTouchpointsResponse response;
        if (!Touchpoints()
                 ->ListTouchpoints(As(world->tokens.at("partner_p")).get(), request, &response)
                 .ok() ||
            response.touchpoints_size() != 1) {
          return false;
        }
        cv1::GetCustomerRequest get;
        get.set_customer_id(world->customers.at(label));
        cv1::GetCustomerResponse customer;
        if (!Contacts()
                 ->GetCustomer(As(world->tokens.at("partner_p")).get(), get, &customer)
                 .ok()) {
          return false;
        }
      }
      return true;
    })) << "shares did not reach the services";
  }

  static void TearDownTestSuite() {
    delete world;
    world = nullptr;
  }

  void SetUp() override {
    if (world == nullptr || world->suite == nullptr || world->tokens.size() != Matrix().size()) {
      GTEST_SKIP() << "the suite did not start (see the first failure)";
    }
  }

  static std::set<std::string> Labels(const std::vector<std::string>& ids) {
    std::set<std::string> out;
    for (const std::string& id : ids) {
      auto it = world->labels.find(id);
      out.insert(it == world->labels.end() ? "unknown:" + id : it->second);
    }
    return out;
  }

  // Checks the contact person of `c` the way `p` must see it.
  static void ExpectContactDetails(const Principal& p, const cv1::Customer& c,
                                   const std::string& where) {
    SCOPED_TRACE(where + " as " + p.username + " of " + world->labels[c.customer_id()]);
    ASSERT_EQ(c.contact_persons_size(), 1);
    const cv1::ContactPerson& person = c.contact_persons(0);
    ASSERT_EQ(person.phones_size(), 1);
    EXPECT_EQ(person.phones(0).number(), p.phone);
    ASSERT_EQ(person.emails_size(), 1);
    EXPECT_EQ(person.emails(0).address(), p.email);
    EXPECT_EQ(person.note(), p.note);
    EXPECT_EQ(person.name().family_name(), "王");
    EXPECT_EQ(c.industry(), "制造业");
  }
};

TEST_F(AuthorizationMatrixTest, GetShowsExactlyTheVisibleCustomersWithTheirFieldPolicies) {
  for (const Principal& p : Matrix()) {
    for (const auto& [label, id] : world->customers) {
      cv1::GetCustomerRequest request;
      request.set_customer_id(id);
      cv1::GetCustomerResponse response;
      const grpc::Status status =
          Contacts()->GetCustomer(As(world->tokens.at(p.username)).get(), request, &response);
      if (p.visible.count(label)) {
        ASSERT_TRUE(status.ok()) << p.username << " " << label << ": " << status.error_message();
        ExpectContactDetails(p, response.customer(), "GetCustomer");
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << p.username << " " << label;
      }
    }
  }
}

TEST_F(AuthorizationMatrixTest, InvisibleIsIndistinguishableFromMissing) {
  const std::string missing = "0190a4b2-0000-7000-8000-000000000000";
  for (const Principal& p : Matrix()) {
    for (const auto& [label, id] : world->customers) {
      if (p.visible.count(label)) continue;
      cv1::GetCustomerRequest request;
      request.set_customer_id(id);
      cv1::GetCustomerResponse response;
      const grpc::Status invisible =
          Contacts()->GetCustomer(As(world->tokens.at(p.username)).get(), request, &response);
      request.set_customer_id(missing);
      const grpc::Status absent =
          Contacts()->GetCustomer(As(world->tokens.at(p.username)).get(), request, &response);
      EXPECT_EQ(invisible.error_code(), absent.error_code()) << p.username << " " << label;
      EXPECT_EQ(absl::StrReplaceAll(invisible.error_message(), {{id, "<id>"}}),
                absl::StrReplaceAll(absent.error_message(), {{missing, "<id>"}}))
          << p.username << " " << label;

      tv1::ListTouchpointsRequest timeline;
      timeline.set_customer_id(id);
      tv1::ListTouchpointsResponse touchpoints;
      const grpc::Status hidden_timeline = Touchpoints()->ListTouchpoints(
          As(world->tokens.at(p.username)).get(), timeline, &touchpoints);
      timeline.set_customer_id(missing);
      const grpc::Status missing_timeline = Touchpoints()->ListTouchpoints(
          As(world->tokens.at(p.username)).get(), timeline, &touchpoints);
      EXPECT_EQ(hidden_timeline.error_code(), missing_timeline.error_code())
          << p.username << " " << label;
      EXPECT_EQ(absl::StrReplaceAll(hidden_timeline.error_message(), {{id, "<id>"}}),
                absl::StrReplaceAll(missing_timeline.error_message(), {{missing, "<id>"}}))
          << p.username << " " << label;
    }
  }
}

TEST_F(AuthorizationMatrixTest, BatchGetReturnsVisibleOnesAndRefusesAnyInvisibleOne) {
  for (const Principal& p : Matrix()) {
    cv1::BatchGetCustomersRequest request;
    for (const std::string& label : p.visible) request.add_customer_ids(world->customers.at(label));
    cv1::BatchGetCustomersResponse response;
    ASSERT_RPC_OK(
        Contacts()->BatchGetCustomers(As(world->tokens.at(p.username)).get(), request, &response));
    std::vector<std::string> ids;
    for (const cv1::Customer& c : response.customers()) {
      ids.push_back(c.customer_id());
      ExpectContactDetails(p, c, "BatchGetCustomers");
    }
    EXPECT_EQ(Labels(ids), p.visible) << p.username;

    for (const auto& [label, id] : world->customers) {
      if (p.visible.count(label)) continue;
      cv1::BatchGetCustomersRequest with_invisible = request;
      with_invisible.add_customer_ids(id);
      cv1::BatchGetCustomersResponse refused;
      EXPECT_EQ(
          Contacts()
              ->BatchGetCustomers(As(world->tokens.at(p.username)).get(), with_invisible, &refused)
              .error_code(),
          grpc::StatusCode::NOT_FOUND)
          << p.username << " " << label;
    }
  }
}

TEST_F(AuthorizationMatrixTest, ListPagesThroughExactlyTheVisibleCustomers) {
  for (const Principal& p : Matrix()) {
    std::vector<std::string> ids;
    cv1::ListCustomersRequest request;
    request.set_page_size(2);
    for (int page = 0; page < 10; ++page) {
      cv1::ListCustomersResponse response;
      ASSERT_RPC_OK(
          Contacts()->ListCustomers(As(world->tokens.at(p.username)).get(), request, &response));
      for (const cv1::Customer& c : response.customers()) {
        ids.push_back(c.customer_id());
        ExpectContactDetails(p, c, "ListCustomers");
      }
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    EXPECT_EQ(ids.size(), p.visible.size()) << p.username << ": a customer came twice";
    EXPECT_EQ(Labels(ids), p.visible) << p.username;
  }
}

// The customers of every touchpoint `p` finds for `query`, over all pages.
std::vector<std::string> Search(const Principal& p, const std::string& query,
                                std::vector<tv1::SearchHit>* hits = nullptr) {
  std::vector<std::string> ids;
  tv1::SearchTouchpointsRequest request;
  request.set_query(query);
  request.set_page_size(2);
  for (int page = 0; page < 10; ++page) {
    tv1::SearchTouchpointsResponse response;
    const grpc::Status status = Touchpoints()->SearchTouchpoints(
        As(world->tokens.at(p.username)).get(), request, &response);
    EXPECT_TRUE(status.ok()) << p.username << ": " << status.error_message();
    for (const tv1::SearchHit& hit : response.hits()) {
      ids.push_back(hit.touchpoint().customer_id());
      if (hits != nullptr) hits->push_back(hit);
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  return ids;
}

TEST_F(AuthorizationMatrixTest, SearchFindsOnlyVisibleCustomersTouchpoints) {
  for (const Principal& p : Matrix()) {
    std::vector<tv1::SearchHit> hits;
    const std::vector<std::string> ids = Search(p, "投诉", &hits);
    EXPECT_EQ(ids.size(), p.visible.size()) << p.username;
    EXPECT_EQ(Labels(ids), p.visible) << p.username;
    for (const tv1::SearchHit& hit : hits) {
      // The partner role has content hidden: absent from the touchpoint and from snippets.
      const bool content_hidden = p.role == "partner";
      EXPECT_EQ(hit.touchpoint().content().empty(), content_hidden) << p.username;
      for (const auto& snippet : hit.snippets()) {
        EXPECT_EQ(snippet.text().find("内部备注"), std::string::npos) << p.username;
        if (content_hidden) {
          EXPECT_NE(snippet.field(), "content") << p.username;
        }
      }
    }
  }
}

TEST_F(AuthorizationMatrixTest, AHiddenFieldCannotBeSearched) {
  // "备注" appears only in content, which the partner role cannot see.
  for (const Principal& p : Matrix()) {
    const std::vector<std::string> ids = Search(p, "备注");
    if (p.role == "partner") {
      EXPECT_TRUE(ids.empty()) << p.username << " found " << ids.size();
    } else {
      EXPECT_EQ(Labels(ids), p.visible) << p.username;
    }
  }
}

TEST_F(AuthorizationMatrixTest, TimelineOpensOnlyForVisibleCustomers) {
  for (const Principal& p : Matrix()) {
    for (const auto& [label, id] : world->customers) {
      tv1::ListTouchpointsRequest request;
      request.set_customer_id(id);
      tv1::ListTouchpointsResponse response;
      const grpc::Status status = Touchpoints()->ListTouchpoints(
          As(world->tokens.at(p.username)).get(), request, &response);
      if (p.visible.count(label)) {
        ASSERT_TRUE(status.ok()) << p.username << " " << label << ": " << status.error_message();
        ASSERT_EQ(response.touchpoints_size(), 1) << p.username << " " << label;
        EXPECT_EQ(response.touchpoints(0).content().empty(), p.role == "partner") << p.username;
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << p.username << " " << label;
      }
    }
  }
}

// The feed ends at the oldest transaction still open anywhere in the database (so that no
// change can commit behind a cursor), and other tests' transactions run beside this one: a
// change committed after such a transaction began shows once it ends. So the reader does what
// an offline client does, going on from its last cursor until it has every visible customer's
// touchpoint; a change the feed skipped would never come.
TEST_F(AuthorizationMatrixTest, ChangeFeedCarriesOnlyVisibleCustomersTouchpoints) {
  for (const Principal& p : Matrix()) {
    std::vector<std::string> ids;
    tv1::ListTouchpointChangesRequest request;
    request.set_page_size(2);
    Eventually([&] {
      for (int page = 0; page < 20; ++page) {
        tv1::ListTouchpointChangesResponse response;
        const grpc::Status status = Touchpoints()->ListTouchpointChanges(
            As(world->tokens.at(p.username)).get(), request, &response);
        EXPECT_TRUE(status.ok()) << p.username << ": " << status.error_message();
        if (!status.ok()) return true;
        for (const tv1::Touchpoint& t : response.touchpoints()) {
          ids.push_back(t.customer_id());
          EXPECT_EQ(t.content().empty(), p.role == "partner") << p.username;
        }
        request.set_cursor(response.next_cursor());
        if (response.caught_up()) break;
      }
      return Labels(ids) == p.visible;
    });
    EXPECT_EQ(Labels(ids), p.visible) << p.username;
  }
}

// The change feed's cursor tells a principal nothing of customers it may not see: one
// customer's feed answers a hidden customer exactly as a customer that does not exist, a cursor
// of the whole feed holds no id of a touchpoint it passed over unseen, and an edited or forged
// cursor (one naming a hidden customer's touchpoint, as cursors used to be written) is refused.
TEST_F(AuthorizationMatrixTest, ChangeFeedCursorRevealsNothingOfHiddenCustomers) {
  // Every customer's touchpoint ids, as the administrator reads them.
  std::map<std::string, std::vector<std::string>> touchpoint_ids;  // label -> ids
  for (const auto& [label, id] : world->customers) {
    tv1::ListTouchpointsRequest request;
    request.set_customer_id(id);
    tv1::ListTouchpointsResponse response;
    ASSERT_RPC_OK(
        Touchpoints()->ListTouchpoints(As(world->admin_token).get(), request, &response));
    for (const tv1::Touchpoint& t : response.touchpoints()) {
      touchpoint_ids[label].push_back(t.touchpoint_id());
    }
    ASSERT_FALSE(touchpoint_ids[label].empty()) << label;
  }
  const std::string unknown = "01890000-0000-7000-8000-000000000001";
  for (const Principal& p : Matrix()) {
    SCOPED_TRACE(p.username);
    const std::string& token = world->tokens.at(p.username);
    const auto changes = [&](const tv1::ListTouchpointChangesRequest& request,
                             tv1::ListTouchpointChangesResponse* response) {
      return Touchpoints()->ListTouchpointChanges(As(token).get(), request, response);
    };
    tv1::ListTouchpointChangesRequest request;
    tv1::ListTouchpointChangesResponse response;
    request.set_customer_id(unknown);
    const grpc::Status missing = changes(request, &response);
    EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND) << missing.error_message();
    for (const auto& [label, id] : world->customers) {
      request.set_customer_id(id);
      response.Clear();
      const grpc::Status status = changes(request, &response);
      if (p.visible.count(label)) {
        EXPECT_TRUE(status.ok()) << label << ": " << status.error_message();
        continue;
      }
      EXPECT_EQ(status.error_code(), missing.error_code()) << label;
      EXPECT_EQ(status.error_message(),
                absl::StrReplaceAll(missing.error_message(), {{unknown, id}}))
          << label;
      EXPECT_TRUE(response.next_cursor().empty()) << label;
      // A cursor forged in the old, readable shape to start inside the hidden customer's feed.
      const std::string hash = paging::QueryHash(absl::StrCat("changes\n", id));
      request.set_cursor(absl::WebSafeBase64Escape(
          absl::StrCat(R"({"i":")", touchpoint_ids.at(label).front(), R"(","q":")", hash,
                       R"(","x":0})")));
      const grpc::Status forged = changes(request, &response);
      EXPECT_EQ(forged.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << label << ": " << forged.error_message();
      EXPECT_TRUE(response.touchpoints().empty()) << label;
      request.clear_cursor();
    }

    // The whole feed, a page of one at a time: no cursor holds a hidden touchpoint's id.
    request.clear_customer_id();
    request.set_page_size(1);
    std::string last_cursor;
    for (int page = 0; page < 40; ++page) {
      ASSERT_RPC_OK(changes(request, &response));
      std::string bytes;
      ASSERT_TRUE(absl::WebSafeBase64Unescape(response.next_cursor(), &bytes));
      for (const auto& [label, ids] : touchpoint_ids) {
        if (p.visible.count(label)) continue;
        for (const std::string& id : ids) {
          EXPECT_EQ(bytes.find(id), std::string::npos) << "cursor names " << label << "'s " << id;
        }
      }
      last_cursor = response.next_cursor();
      if (response.caught_up()) break;
      request.set_cursor(last_cursor);
    }
    // An edited cursor is refused, whichever byte was changed.
    std::string bytes;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(last_cursor, &bytes));
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::string edited = bytes;
      edited[i] = static_cast<char>(edited[i] ^ 0x01);
      request.set_cursor(absl::WebSafeBase64Escape(edited));
      const grpc::Status status = changes(request, &response);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << "byte " << i << ": " << status.error_message();
    }
  }
}

// --- The same matrix through the gateway, over gRPC and HTTP/JSON ---------------------------

std::unique_ptr<gv1::GatewayService::Stub> Gateway() {
  return gv1::GatewayService::NewStub(
      grpc::CreateChannel(world->suite->gateway_address(), grpc::InsecureChannelCredentials()));
}
std::unique_ptr<cv1::ContactsService::Stub> ContactsViaGateway() {
  return cv1::ContactsService::NewStub(
      grpc::CreateChannel(world->suite->gateway_address(), grpc::InsecureChannelCredentials()));
}

// The value at `path` of `json`, "" when any step is missing (proto3 JSON leaves out empty
// strings, so a hidden field is absent).
std::string JsonString(const nlohmann::json& json, const std::vector<std::string>& path) {
  const nlohmann::json* at = &json;
  for (const std::string& step : path) {
    if (at->is_array() && !step.empty() && std::isdigit(static_cast<unsigned char>(step[0]))) {
      const size_t index = std::stoul(step);
      if (index >= at->size()) return "";
      at = &(*at)[index];
    } else if (at->is_object() && at->contains(step)) {
      at = &(*at)[step];
    } else {
      return "";
    }
  }
  return at->is_string() ? at->get<std::string>() : "";
}

// The contact person of a customer in HTTP JSON, the way `p` must see it.
void ExpectJsonContactDetails(const Principal& p, const nlohmann::json& customer,
                              const std::string& where) {
  SCOPED_TRACE(where + " as " + p.username + " of " +
               world->labels[JsonString(customer, {"customerId"})]);
  EXPECT_EQ(JsonString(customer, {"contactPersons", "0", "phones", "0", "number"}), p.phone);
  EXPECT_EQ(JsonString(customer, {"contactPersons", "0", "emails", "0", "address"}), p.email);
  EXPECT_EQ(JsonString(customer, {"contactPersons", "0", "note"}), p.note);
  EXPECT_EQ(JsonString(customer, {"contactPersons", "0", "name", "familyName"}), "王");
}

TEST_F(AuthorizationMatrixTest, GatewayServesEachPrincipalThe360ViewsItMaySee) {
  for (const Principal& p : Matrix()) {
    const std::string& token = world->tokens.at(p.username);
    for (const auto& [label, id] : world->customers) {
      SCOPED_TRACE(p.username + " " + label);
      gv1::GetCustomer360Request request;
      request.set_customer_id(id);
      gv1::GetCustomer360Response response;
      const grpc::Status status = Gateway()->GetCustomer360(As(token).get(), request, &response);
      const testing::HttpReply http = testing::HttpCall(world->suite->gateway_http_port(), "GET",
                                                        "/v1/customers/" + id + "/360", token);
      if (p.visible.count(label)) {
        ASSERT_TRUE(status.ok()) << status.error_message();
        ExpectContactDetails(p, response.customer(), "GetCustomer360 over gRPC");
        ASSERT_EQ(response.recent_touchpoints_size(), 1);
        EXPECT_EQ(response.recent_touchpoints(0).content().empty(), p.role == "partner");
        ASSERT_EQ(http.status, 200) << http.body;
        ExpectJsonContactDetails(p, http.json["customer"], "GetCustomer360 over HTTP");
        ASSERT_EQ(http.json["recentTouchpoints"].size(), 1u);
        EXPECT_EQ(http.json["recentTouchpoints"][0].contains("content"), p.role != "partner");
      } else {
        const std::string not_found = "customer " + id + " not found";
        EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
        EXPECT_EQ(status.error_message(), not_found);
        EXPECT_EQ(http.status, 404) << http.body;
        EXPECT_EQ(http.json.value("code", 0), 5);
        EXPECT_EQ(http.json.value("message", ""), not_found);
      }
    }
  }
  // Another tenant's administrator sees none of them, through either front.
  const std::string globex = world->suite->AdminToken(kOtherTenant);
  for (const auto& [label, id] : world->customers) {
    gv1::GetCustomer360Request request;
    request.set_customer_id(id);
    gv1::GetCustomer360Response response;
    EXPECT_EQ(Gateway()->GetCustomer360(As(globex).get(), request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << label;
    EXPECT_EQ(testing::HttpCall(world->suite->gateway_http_port(), "GET",
                                "/v1/customers/" + id + "/360", globex)
                  .status,
              404)
        << label;
  }
}

TEST_F(AuthorizationMatrixTest, GatewayListsExactlyTheVisibleCustomersOverGrpcAndHttp) {
  for (const Principal& p : Matrix()) {
    const std::string& token = world->tokens.at(p.username);
    cv1::ListCustomersRequest request;
    request.set_page_size(100);
    cv1::ListCustomersResponse response;
    ASSERT_RPC_OK(ContactsViaGateway()->ListCustomers(As(token).get(), request, &response));
    std::vector<std::string> ids;
    for (const cv1::Customer& c : response.customers()) {
      ids.push_back(c.customer_id());
      ExpectContactDetails(p, c, "ListCustomers through the gateway");
    }
    EXPECT_EQ(Labels(ids), p.visible) << p.username;

    const testing::HttpReply http = testing::HttpCall(world->suite->gateway_http_port(), "GET",
                                                      "/v1/customers?pageSize=100", token);
    ASSERT_EQ(http.status, 200) << http.body;
    std::vector<std::string> http_ids;
    for (const nlohmann::json& c : http.json["customers"]) {
      http_ids.push_back(JsonString(c, {"customerId"}));
      ExpectJsonContactDetails(p, c, "GET /v1/customers");
    }
    EXPECT_EQ(Labels(http_ids), p.visible) << p.username;
  }
}

TEST_F(AuthorizationMatrixTest, OnlyWritableCustomersCanBeChanged) {
  for (const Principal& p : Matrix()) {
    for (const auto& [label, id] : world->customers) {
      cv1::UpdateCustomerRequest request;
      request.mutable_customer()->set_customer_id(id);
      request.mutable_customer()->set_display_name("客户 " + label);
      request.mutable_update_mask()->add_paths("display_name");
      cv1::UpdateCustomerResponse response;
      const grpc::Status status =
          Contacts()->UpdateCustomer(As(world->tokens.at(p.username)).get(), request, &response);
      if (p.writable.count(label)) {
        EXPECT_TRUE(status.ok()) << p.username << " " << label << ": " << status.error_message();
        if (status.ok()) ExpectContactDetails(p, response.customer(), "UpdateCustomer");
      } else if (p.visible.count(label)) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << p.username << " " << label;
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << p.username << " " << label;
      }
    }
  }
}

TEST_F(AuthorizationMatrixTest, ReadOnlyAndHiddenFieldsCannotBeWritten) {
  const std::string c1 = world->customers.at("C1");
  cv1::UpdateCustomerRequest request;
  request.mutable_customer()->set_customer_id(c1);
  request.mutable_customer()->set_industry("零售");
  request.mutable_update_mask()->add_paths("industry");
  cv1::UpdateCustomerResponse response;
  grpc::Status status =
      Contacts()->UpdateCustomer(As(world->tokens.at("rep_a")).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find("industry"), std::string::npos) << status.error_message();

  // Replacing contact persons would overwrite the note the rep cannot see.
  request.mutable_update_mask()->Clear();
  request.mutable_update_mask()->add_paths("contact_persons");
  status = Contacts()->UpdateCustomer(As(world->tokens.at("rep_a")).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find("contact_persons.note"), std::string::npos)
      << status.error_message();

  // The lead has no such policy: the same industry change goes through, and is undone.
  request.mutable_update_mask()->Clear();
  request.mutable_update_mask()->add_paths("industry");
  ASSERT_RPC_OK(
      Contacts()->UpdateCustomer(As(world->tokens.at("lead_east")).get(), request, &response));
  EXPECT_EQ(response.customer().industry(), "零售");
  request.mutable_customer()->set_industry("制造业");
  ASSERT_RPC_OK(
      Contacts()->UpdateCustomer(As(world->tokens.at("lead_east")).get(), request, &response));
}

TEST_F(AuthorizationMatrixTest, TouchpointsCanBeRecordedOnlyForWritableCustomers) {
  for (const Principal& p : {Matrix()[3], Matrix()[6]}) {  // rep_a, partner_p
    for (const auto& [label, id] : world->customers) {
      tv1::RecordTouchpointRequest request;
      tv1::Touchpoint* t = request.mutable_touchpoint();
      t->set_customer_id(id);
      t->mutable_occur_time()->set_seconds(std::time(nullptr) - 60);
      t->set_channel(tv1::CHANNEL_WECOM);
      t->set_category(tv1::CATEGORY_SALES);
      t->set_subject("跟进");
      tv1::RecordTouchpointResponse response;
      const grpc::Status status = Touchpoints()->RecordTouchpoint(
          As(world->tokens.at(p.username)).get(), request, &response);
      if (p.writable.count(label)) {
        EXPECT_TRUE(status.ok()) << p.username << " " << label << ": " << status.error_message();
        // Leave the world as it was for the other tests.
        tv1::DeleteTouchpointRequest undo;
        undo.set_touchpoint_id(response.touchpoint().touchpoint_id());
        tv1::DeleteTouchpointResponse deleted;
        EXPECT_TRUE(
            Touchpoints()->DeleteTouchpoint(As(world->admin_token).get(), undo, &deleted).ok());
      } else if (p.visible.count(label)) {
        // Seen through a READ share only.
        EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << p.username << " " << label;
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << p.username << " " << label;
      }
    }
  }
}

// --- Writes follow the share's access: READ shows, EDIT changes -----------------------------

std::unique_ptr<tv1::TouchpointsService::Stub> TouchpointsViaGateway() {
  return tv1::TouchpointsService::NewStub(
      grpc::CreateChannel(world->suite->gateway_address(), grpc::InsecureChannelCredentials()));
}

// An etag no customer or touchpoint of the world has: a write that passes the access checks
// then stops at ABORTED and changes nothing.
constexpr char kStaleEtag[] = "999999";

// An answer, as gRPC and as the gateway's HTTP front give it.
struct Outcome {
  grpc::StatusCode code;
  int http;
};
constexpr Outcome kDone{grpc::StatusCode::OK, 200};
constexpr Outcome kRefusedBadArgument{grpc::StatusCode::INVALID_ARGUMENT, 400};
constexpr Outcome kRefusedNotWritable{grpc::StatusCode::PERMISSION_DENIED, 403};
constexpr Outcome kRefusedNotFound{grpc::StatusCode::NOT_FOUND, 404};
constexpr Outcome kRefusedStaleEtag{grpc::StatusCode::ABORTED, 409};

// What a write by `p` to customer `label` must answer: `when_writable` when p may change it,
// PERMISSION_DENIED when p sees it through a READ share only, `when_invisible` otherwise.
Outcome ExpectedWrite(const Principal& p, const std::string& label, Outcome when_writable,
                      Outcome when_invisible) {
  if (p.writable.count(label)) return when_writable;
  if (p.visible.count(label)) return kRefusedNotWritable;
  return when_invisible;
}

// `method` `path` (with `body` unless null) on the gateway's HTTP front as `token` answers
// with `expected`'s HTTP status.
void ExpectHttpAnswer(const std::string& method, const std::string& path, const std::string& token,
                      const nlohmann::json& body, const Outcome& expected) {
  const testing::HttpReply reply = testing::HttpCall(
      world->suite->gateway_http_port(), method, path, token, body.is_null() ? "" : body.dump());
  EXPECT_EQ(reply.status, expected.http) << method << " " << path << ": " << reply.body;
}

// Runs `check` as every principal of the matrix on every customer of the world.
void ForEveryPrincipalAndCustomer(
    const std::function<void(const Principal& p, const std::string& token, const std::string& label,
                             const std::string& id)>& check) {
  for (const Principal& p : Matrix()) {
    for (const auto& [label, id] : world->customers) {
      SCOPED_TRACE(p.username + " " + label);
      check(p, world->tokens.at(p.username), label, id);
    }
  }
}

// The one touchpoint SetUpTestSuite recorded for customer `label`.
std::string WorldTouchpointOf(const std::string& label) {
  tv1::ListTouchpointsRequest request;
  request.set_customer_id(world->customers.at(label));
  tv1::ListTouchpointsResponse response;
  const grpc::Status status =
      Touchpoints()->ListTouchpoints(As(world->admin_token).get(), request, &response);
  EXPECT_TRUE(status.ok()) << label << ": " << status.error_message();
  return response.touchpoints_size() == 1 ? response.touchpoints(0).touchpoint_id() : "";
}

void DeleteAsAdmin(const std::string& touchpoint_id) {
  tv1::DeleteTouchpointRequest request;
  request.set_touchpoint_id(touchpoint_id);
  tv1::DeleteTouchpointResponse response;
  EXPECT_TRUE(
      Touchpoints()->DeleteTouchpoint(As(world->admin_token).get(), request, &response).ok())
      << touchpoint_id;
}

tv1::Touchpoint FollowUp(const std::string& customer_id) {
  tv1::Touchpoint t;
  t.set_customer_id(customer_id);
  t.mutable_occur_time()->set_seconds(std::time(nullptr) - 60);
  t.set_channel(tv1::CHANNEL_WECOM);
  t.set_category(tv1::CATEGORY_SALES);
  t.set_subject("跟进");
  return t;
}

TEST_F(AuthorizationMatrixTest, EveryTouchpointWritePathFollowsTheShareAccess) {
  const int http_port = world->suite->gateway_http_port();
  ForEveryPrincipalAndCustomer([&](const Principal& p, const std::string& token,
                                   const std::string& label, const std::string& id) {
    const Outcome record = ExpectedWrite(p, label, kDone, kRefusedBadArgument);
    // Record and batch record, directly and through the gateway over gRPC.
    for (const bool via_gateway : {false, true}) {
      SCOPED_TRACE(via_gateway ? "gateway gRPC" : "touchpoints service");
      const auto stub = via_gateway ? TouchpointsViaGateway() : Touchpoints();
      tv1::RecordTouchpointRequest one;
      *one.mutable_touchpoint() = FollowUp(id);
      tv1::RecordTouchpointResponse recorded;
      const grpc::Status status = stub->RecordTouchpoint(As(token).get(), one, &recorded);
      EXPECT_EQ(status.error_code(), record.code) << status.error_message();
      if (status.ok()) DeleteAsAdmin(recorded.touchpoint().touchpoint_id());
      tv1::BatchRecordTouchpointsRequest batch;
      *batch.add_requests()->mutable_touchpoint() = FollowUp(id);
      tv1::BatchRecordTouchpointsResponse batched;
      ASSERT_RPC_OK(stub->BatchRecordTouchpoints(As(token).get(), batch, &batched));
      ASSERT_EQ(batched.results_size(), 1);
      EXPECT_EQ(batched.results(0).error().code(), record.code);
      if (batched.results(0).has_touchpoint()) {
        DeleteAsAdmin(batched.results(0).touchpoint().touchpoint_id());
      }
    }
    // The same over HTTP/JSON.
    const nlohmann::json follow_up = {{"customerId", id},
                                      {"occurTime", "2026-12-01T08:30:00Z"},
                                      {"channel", "CHANNEL_WECOM"},
                                      {"category", "CATEGORY_SALES"},
                                      {"subject", "跟进"}};
    const testing::HttpReply recorded =
        testing::HttpCall(http_port, "POST", "/v1/touchpoints", token,
                          nlohmann::json{{"touchpoint", follow_up}}.dump());
    EXPECT_EQ(recorded.status, record.http) << recorded.body;
    if (recorded.status == 200) {
      DeleteAsAdmin(JsonString(recorded.json, {"touchpoint", "touchpointId"}));
    }
    const testing::HttpReply batched =
        testing::HttpCall(http_port, "POST", "/v1/touchpoints:batchRecord", token,
                          nlohmann::json{{"requests", {{{"touchpoint", follow_up}}}}}.dump());
    ASSERT_EQ(batched.status, 200) << batched.body;
    ASSERT_TRUE(batched.json.contains("results") && batched.json["results"].size() == 1)
        << batched.body;
    const nlohmann::json& result = batched.json["results"][0];
    EXPECT_EQ(result.contains("error") ? result["error"].value("code", -1) : 0,
              static_cast<int>(record.code))
        << batched.body;
    if (result.contains("touchpoint")) {
      DeleteAsAdmin(JsonString(result, {"touchpoint", "touchpointId"}));
    }

    // Correcting and deleting the customer's touchpoint with a stale etag: ABORTED once the
    // access checks pass, so nothing changes whoever asks.
    const std::string touchpoint_id = WorldTouchpointOf(label);
    ASSERT_FALSE(touchpoint_id.empty());
    const Outcome change = ExpectedWrite(p, label, kRefusedStaleEtag, kRefusedNotFound);
    for (const bool via_gateway : {false, true}) {
      SCOPED_TRACE(via_gateway ? "gateway gRPC" : "touchpoints service");
      const auto stub = via_gateway ? TouchpointsViaGateway() : Touchpoints();
      tv1::UpdateTouchpointRequest update;
      update.mutable_touchpoint()->set_touchpoint_id(touchpoint_id);
      update.mutable_touchpoint()->set_etag(kStaleEtag);
      update.mutable_touchpoint()->set_subject("改");
      update.mutable_update_mask()->add_paths("subject");
      tv1::UpdateTouchpointResponse updated;
      EXPECT_EQ(stub->UpdateTouchpoint(As(token).get(), update, &updated).error_code(),
                change.code);
      tv1::DeleteTouchpointRequest remove;
      remove.set_touchpoint_id(touchpoint_id);
      remove.set_etag(kStaleEtag);
      tv1::DeleteTouchpointResponse removed;
      EXPECT_EQ(stub->DeleteTouchpoint(As(token).get(), remove, &removed).error_code(),
                change.code);
    }
    ExpectHttpAnswer("PATCH", "/v1/touchpoints/" + touchpoint_id + "?updateMask=subject", token,
                     {{"etag", kStaleEtag}, {"subject", "改"}}, change);
    ExpectHttpAnswer("DELETE", "/v1/touchpoints/" + touchpoint_id + "?etag=" + kStaleEtag, token,
                     nullptr, change);
  });
}

TEST_F(AuthorizationMatrixTest, EveryCustomerWritePathFollowsTheShareAccess) {
  ForEveryPrincipalAndCustomer([&](const Principal& p, const std::string& token,
                                   const std::string& label, const std::string& id) {
    // With a stale etag: ABORTED once the access checks pass, so nothing changes.
    const Outcome change = ExpectedWrite(p, label, kRefusedStaleEtag, kRefusedNotFound);
    for (const bool via_gateway : {false, true}) {
      SCOPED_TRACE(via_gateway ? "gateway gRPC" : "contacts service");
      const auto stub = via_gateway ? ContactsViaGateway() : Contacts();
      cv1::UpdateCustomerRequest update;
      update.mutable_customer()->set_customer_id(id);
      update.mutable_customer()->set_display_name("改名");
      update.mutable_customer()->set_etag(kStaleEtag);
      update.mutable_update_mask()->add_paths("display_name");
      cv1::UpdateCustomerResponse updated;
      EXPECT_EQ(stub->UpdateCustomer(As(token).get(), update, &updated).error_code(), change.code);
      cv1::DeleteCustomerRequest remove;
      remove.set_customer_id(id);
      remove.set_etag(kStaleEtag);
      cv1::DeleteCustomerResponse removed;
      EXPECT_EQ(stub->DeleteCustomer(As(token).get(), remove, &removed).error_code(), change.code);
      cv1::UndeleteCustomerRequest restore;
      restore.set_customer_id(id);
      restore.set_etag(kStaleEtag);
      cv1::UndeleteCustomerResponse restored;
      EXPECT_EQ(stub->UndeleteCustomer(As(token).get(), restore, &restored).error_code(),
                change.code);
    }
    ExpectHttpAnswer("PATCH", "/v1/customers/" + id + "?updateMask=displayName", token,
                     {{"etag", kStaleEtag}, {"displayName", "改名"}}, change);
    ExpectHttpAnswer("DELETE", "/v1/customers/" + id + "?etag=" + kStaleEtag, token, nullptr,
                     change);
    ExpectHttpAnswer("POST", "/v1/customers/" + id + ":undelete", token, {{"etag", kStaleEtag}},
                     change);
  });
}

// --- Partners see every contact point masked ------------------------------------------------

// The messaging account and addresses of customer `c` (proto), the way `p` must see them.
void ExpectOtherContactPoints(const Principal& p, const cv1::Customer& c,
                              const std::string& where) {
  SCOPED_TRACE(where + " as " + p.username + " of " + world->labels[c.customer_id()]);
  const bool masked = p.role == "partner";
  ASSERT_EQ(c.contact_persons_size(), 1);
  const cv1::ContactPerson& person = c.contact_persons(0);
  ASSERT_EQ(person.messaging_accounts_size(), 1);
  EXPECT_EQ(person.messaging_accounts(0).service(), type::v1::MESSAGING_SERVICE_WECOM);
  EXPECT_EQ(person.messaging_accounts(0).account_id(), masked ? kMaskedWecomId : kWecomId);
  ASSERT_EQ(person.addresses_size(), 1);
  EXPECT_EQ(person.addresses(0).locality(), masked ? kMaskedHomeCity : kHomeCity);
  ASSERT_EQ(c.addresses_size(), 1);
  ASSERT_EQ(c.addresses(0).address_lines_size(), 1);
  EXPECT_EQ(c.addresses(0).address_lines(0), masked ? kMaskedOfficeLine : kOfficeLine);
}

// The same in HTTP JSON.
void ExpectJsonOtherContactPoints(const Principal& p, const nlohmann::json& customer,
                                  const std::string& where) {
  SCOPED_TRACE(where + " as " + p.username + " of " +
               world->labels[JsonString(customer, {"customerId"})]);
  const bool masked = p.role == "partner";
  const std::vector<std::string> account = {"contactPersons", "0", "messagingAccounts", "0"};
  std::vector<std::string> path = account;
  path.push_back("service");
  EXPECT_EQ(JsonString(customer, path), "MESSAGING_SERVICE_WECOM");
  path.back() = "accountId";
  EXPECT_EQ(JsonString(customer, path), masked ? kMaskedWecomId : kWecomId);
  EXPECT_EQ(JsonString(customer, {"contactPersons", "0", "addresses", "0", "locality"}),
            masked ? kMaskedHomeCity : kHomeCity);
  EXPECT_EQ(JsonString(customer, {"addresses", "0", "addressLines", "0"}),
            masked ? kMaskedOfficeLine : kOfficeLine);
}

TEST_F(AuthorizationMatrixTest, PartnersSeeMessagingAccountsAndAddressesMasked) {
  for (const Principal& p : Matrix()) {
    const std::string& token = world->tokens.at(p.username);
    for (const std::string& label : p.visible) {
      const std::string& id = world->customers.at(label);
      cv1::GetCustomerRequest get;
      get.set_customer_id(id);
      cv1::GetCustomerResponse got;
      ASSERT_RPC_OK(Contacts()->GetCustomer(As(token).get(), get, &got));
      ExpectOtherContactPoints(p, got.customer(), "GetCustomer");
      gv1::GetCustomer360Request view;
      view.set_customer_id(id);
      gv1::GetCustomer360Response viewed;
      ASSERT_RPC_OK(Gateway()->GetCustomer360(As(token).get(), view, &viewed));
      ExpectOtherContactPoints(p, viewed.customer(), "GetCustomer360 over gRPC");
      const testing::HttpReply http = testing::HttpCall(world->suite->gateway_http_port(), "GET",
                                                        "/v1/customers/" + id + "/360", token);
      ASSERT_EQ(http.status, 200) << http.body;
      ExpectJsonOtherContactPoints(p, http.json["customer"], "GetCustomer360 over HTTP");
    }
  }
}

// --- Tokens -----------------------------------------------------------------------------

std::string Header(const std::string& alg) {
  return absl::StrCat(R"({"alg":")", alg, R"(","typ":"JWT"})");
}

std::string Claims(const std::string& user_id, const std::string& session_id, int64_t exp_offset,
                   const std::string& audience = "touchline", const std::string& tenant = kTenant) {
  const int64_t now = std::time(nullptr);
  return absl::StrCat(R"({"iss":"touchline-permissions","aud":")", audience, R"(","tid":")", tenant,
                      R"(","sub":")", user_id, R"(","sid":")", session_id, R"(","iat":)", now - 10,
                      R"(,"exp":)", now + exp_offset, "}");
}

// Reads C1 with these headers from contacts, and its 360 view through the gateway over gRPC
// and HTTP; the code contacts answered, after checking that the gateway answered alike.
grpc::StatusCode GetC1(const std::string& authorization, const std::string& tenant_header = "") {
  const auto prepare = [&](grpc::ClientContext& context) {
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    if (!tenant_header.empty()) context.AddMetadata(auth::kTenantHeader, tenant_header);
  };
  grpc::ClientContext context;
  prepare(context);
  cv1::GetCustomerRequest request;
  request.set_customer_id(world->customers.at("C1"));
  cv1::GetCustomerResponse response;
  const grpc::StatusCode code = Contacts()->GetCustomer(&context, request, &response).error_code();

  grpc::ClientContext gateway_context;
  prepare(gateway_context);
  gv1::GetCustomer360Request view_request;
  view_request.set_customer_id(world->customers.at("C1"));
  gv1::GetCustomer360Response view;
  EXPECT_EQ(Gateway()->GetCustomer360(&gateway_context, view_request, &view).error_code(), code)
      << "gateway over gRPC";
  std::vector<std::pair<std::string, std::string>> headers;
  if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
  if (!tenant_header.empty()) headers.emplace_back("X-Touchline-Tenant", tenant_header);
  const testing::HttpReply http =
      testing::HttpCall(world->suite->gateway_http_port(), "GET",
                        "/v1/customers/" + world->customers.at("C1") + "/360", "", "", headers);
  EXPECT_EQ(http.status, code == grpc::StatusCode::OK                ? 200
                         : code == grpc::StatusCode::UNAUTHENTICATED ? 401
                                                                     : -1)
      << "gateway over HTTP: " << http.body;
  return code;
}

// Every attack against contacts, the gateway's gRPC front and its HTTP front alike.
TEST_F(AuthorizationMatrixTest, ForgedExpiredAndMalformedTokensAreRefused) {
  pv1::LoginResponse login;
  ASSERT_RPC_OK(world->suite->Login(kTenant, "rep_a", Password("rep_a"), &login));
  const std::string uid = login.user().user_id();
  const std::string sid = login.session_id();
  const std::string key = world->suite->private_key_pem();

  // The forging itself is right: the same claims signed with the real key are accepted.
  EXPECT_EQ(GetC1("Bearer " + testing::ForgeRs256(Header("RS256"), Claims(uid, sid, 300), key)),
            grpc::StatusCode::OK);
  EXPECT_EQ(GetC1("Bearer " + login.access_token()), grpc::StatusCode::OK);

  const std::map<std::string, std::string> attacks = {
      {"expired", testing::ForgeRs256(Header("RS256"), Claims(uid, sid, -120), key)},
      {"bad signature",
       testing::ForgeRs256(Header("RS256"), Claims(uid, sid, 300), testing::NewRsaKeyPem())},
      {"alg none", testing::ForgeUnsigned(Header("none"), Claims(uid, sid, 300))},
      {"HS256 keyed with the public key",
       testing::ForgeHs256(Header("HS256"), Claims(uid, sid, 300), world->suite->public_key_pem())},
      {"wrong audience", testing::ForgeRs256(Header("RS256"), Claims(uid, sid, 300, "crm"), key)},
      {"unknown session",
       testing::ForgeRs256(Header("RS256"),
                           Claims(uid, "0190a4b2-0000-7000-8000-000000000001", 300), key)},
      {"garbage", "not.a.token"},
      {"empty", ""},
  };
  for (const auto& [name, token] : attacks) {
    EXPECT_EQ(GetC1("Bearer " + token), grpc::StatusCode::UNAUTHENTICATED) << name;
  }

  // Tampered claims: the rep's real token with the administrator as subject.
  const std::string& token = login.access_token();
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  const std::string payload = testing::Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const std::string tampered_payload =
      absl::StrReplaceAll(payload, {{uid, world->user_ids.at("admin")}});
  ASSERT_NE(tampered_payload, payload);
  EXPECT_EQ(GetC1("Bearer " + token.substr(0, dot1 + 1) +
                  testing::Base64UrlEncode(tampered_payload) + token.substr(dot2)),
            grpc::StatusCode::UNAUTHENTICATED);

  EXPECT_EQ(GetC1(""), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetC1("Basic YWRtaW46cGFzcw=="), grpc::StatusCode::UNAUTHENTICATED);
  // A token of one tenant presented for another.
  EXPECT_EQ(GetC1("Bearer " + token, kOtherTenant), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetC1("Bearer " + token, kTenant), grpc::StatusCode::OK);
}

// Both services refuse `token` within the wait (they learn of revocations through events).
bool EventuallyRefusedEverywhere(const std::string& token, const std::string& customer_label) {
  return Eventually([&] {
    cv1::GetCustomerRequest get;
    get.set_customer_id(world->customers.at(customer_label));
    cv1::GetCustomerResponse customer;
    tv1::ListTouchpointsRequest list;
    list.set_customer_id(world->customers.at(customer_label));
    tv1::ListTouchpointsResponse touchpoints;
    return Contacts()->GetCustomer(As(token).get(), get, &customer).error_code() ==
               grpc::StatusCode::UNAUTHENTICATED &&
           Touchpoints()->ListTouchpoints(As(token).get(), list, &touchpoints).error_code() ==
               grpc::StatusCode::UNAUTHENTICATED;
  });
}

bool WorksEverywhere(const std::string& token, const std::string& customer_label) {
  cv1::GetCustomerRequest get;
  get.set_customer_id(world->customers.at(customer_label));
  cv1::GetCustomerResponse customer;
  tv1::ListTouchpointsRequest list;
  list.set_customer_id(world->customers.at(customer_label));
  tv1::ListTouchpointsResponse touchpoints;
  return Contacts()->GetCustomer(As(token).get(), get, &customer).ok() &&
         Touchpoints()->ListTouchpoints(As(token).get(), list, &touchpoints).ok();
}

TEST_F(AuthorizationMatrixTest, RevokedSessionStopsWorkingInEveryService) {
  pv1::LoginResponse login;
  ASSERT_RPC_OK(world->suite->Login(kTenant, "rep_b", Password("rep_b"), &login));
  ASSERT_TRUE(WorksEverywhere(login.access_token(), "C2"));

  pv1::RevokeSessionRequest request;
  request.set_session_id(login.session_id());
  pv1::RevokeSessionResponse response;
  ASSERT_RPC_OK(Permissions()->RevokeSession(As(login.access_token()).get(), request, &response));
  EXPECT_TRUE(EventuallyRefusedEverywhere(login.access_token(), "C2"));
  // The refresh token of the session is dead too.
  pv1::RefreshTokenRequest refresh;
  refresh.set_refresh_token(login.refresh_token());
  pv1::RefreshTokenResponse refreshed;
  grpc::ClientContext context;
  context.AddMetadata(auth::kTenantHeader, kTenant);
  EXPECT_EQ(Permissions()->RefreshToken(&context, refresh, &refreshed).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Other sessions of the same user are untouched.
  EXPECT_TRUE(WorksEverywhere(world->tokens.at("rep_b"), "C2"));
}

TEST_F(AuthorizationMatrixTest, DisabledUserIsLockedOutEverywhere) {
  CreateUser("rep_leaving", "rep", "lead_east");
  const std::string token = Login("rep_leaving");
  // Owns nothing, but lead_east's customers are not theirs: C1 stays invisible.
  cv1::GetCustomerRequest get;
  get.set_customer_id(world->customers.at("C1"));
  cv1::GetCustomerResponse customer;
  EXPECT_EQ(Contacts()->GetCustomer(As(token).get(), get, &customer).error_code(),
            grpc::StatusCode::NOT_FOUND);

  pv1::DisableUserRequest request;
  request.set_user_id(world->user_ids.at("rep_leaving"));
  pv1::DisableUserResponse response;
  ASSERT_RPC_OK(Permissions()->DisableUser(As(world->admin_token).get(), request, &response));
  EXPECT_TRUE(Eventually([&] {
    return Contacts()->GetCustomer(As(token).get(), get, &customer).error_code() ==
           grpc::StatusCode::UNAUTHENTICATED;
  }));
  pv1::LoginResponse login;
  EXPECT_EQ(
      world->suite->Login(kTenant, "rep_leaving", Password("rep_leaving"), &login).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthorizationMatrixTest, RepeatedWrongPasswordsSlowTheirAddressNotTheUser) {
  CreateUser("rep_forgetful", "rep");
  const auto http_login = [&](const std::string& password, const std::string& from) {
    return testing::RawHttpCall(
        world->suite->gateway_http_port(), "POST", "/v1/sessions:login",
        {{"X-Touchline-Tenant", kTenant}, {"Content-Type", "application/json"}},
        nlohmann::json{{"username", "rep_forgetful"}, {"password", password}}.dump(), from);
  };
  // An attacker at 127.0.0.2 guesses through the gateway, which tells permissions the address.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(http_login("wrong password 12345", "127.0.0.2").status, 401);
  }
  const testing::HttpReply throttled = http_login(Password("rep_forgetful"), "127.0.0.2");
  EXPECT_EQ(throttled.status, 429) << throttled.body;
  EXPECT_EQ(throttled.json.value("code", 0), 8) << throttled.body;
  EXPECT_EQ(throttled.header("retry-after"), "1");
  // The user, at another address, still gets in: the account is not locked.
  const testing::HttpReply user = http_login(Password("rep_forgetful"), "127.0.0.3");
  EXPECT_EQ(user.status, 200) << user.body;

  // A direct caller cannot claim an address: an unsigned one is ignored, and the failures
  // count against the caller's own (127.0.0.1).
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext context;
    context.AddMetadata("x-touchline-tenant", kTenant);
    context.AddMetadata("x-touchline-client-address", "127.0.0.4");
    context.AddMetadata("x-touchline-client-address-signature", "1700000000.00");
    pv1::LoginRequest request;
    request.set_username("rep_forgetful");
    request.set_password("wrong password 12345");
    pv1::LoginResponse response;
    EXPECT_EQ(world->suite->Permissions()->Login(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  pv1::LoginResponse login;
  EXPECT_EQ(
      world->suite->Login(kTenant, "rep_forgetful", Password("rep_forgetful"), &login).error_code(),
      grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(http_login(Password("rep_forgetful"), "127.0.0.4").status, 200);
}

TEST_F(AuthorizationMatrixTest, PolicyChangesReachRunningServices) {
  auto email_seen = [&](const std::string& want) {
    return Eventually([&] {
      cv1::GetCustomerRequest request;
      request.set_customer_id(world->customers.at("C3"));
      cv1::GetCustomerResponse response;
      return Contacts()
                 ->GetCustomer(As(world->tokens.at("partner_p")).get(), request, &response)
                 .ok() &&
             response.customer().contact_persons(0).emails(0).address() == want;
    });
  };
  ASSERT_TRUE(email_seen(kMaskedEmail));
  SetFieldPolicy("partner", "customer", "contact_persons.emails", pv1::FIELD_ACCESS_READ_ONLY);
  EXPECT_TRUE(email_seen(kEmail)) << "the policy change did not reach contacts";

  pv1::DeleteFieldPolicyRequest request;
  request.set_role_id("partner");
  request.set_resource("customer");
  request.set_field_path("contact_persons.emails");
  pv1::DeleteFieldPolicyResponse response;
  ASSERT_RPC_OK(Permissions()->DeleteFieldPolicy(As(world->admin_token).get(), request, &response));
  EXPECT_TRUE(email_seen(kMaskedEmail)) << "deleting the policy did not restore the mask";

  // A policy naming no field is refused and changes nothing.
  pv1::SetFieldPolicyRequest bad;
  bad.mutable_policy()->set_role_id("partner");
  bad.mutable_policy()->set_resource("customer");
  bad.mutable_policy()->set_field_path("contact_persons.fax");
  bad.mutable_policy()->set_access(pv1::FIELD_ACCESS_HIDDEN);
  pv1::SetFieldPolicyResponse bad_response;
  EXPECT_EQ(
      Permissions()->SetFieldPolicy(As(world->admin_token).get(), bad, &bad_response).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AuthorizationMatrixTest, OtherTenantsSeeNothing) {
  const std::string globex = world->suite->AdminToken(kOtherTenant);
  ASSERT_FALSE(globex.empty());
  for (const auto& [label, id] : world->customers) {
    cv1::GetCustomerRequest request;
    request.set_customer_id(id);
    cv1::GetCustomerResponse response;
    EXPECT_EQ(Contacts()->GetCustomer(As(globex).get(), request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << label;
    tv1::ListTouchpointsRequest timeline;
    timeline.set_customer_id(id);
    tv1::ListTouchpointsResponse touchpoints;
    EXPECT_EQ(Touchpoints()->ListTouchpoints(As(globex).get(), timeline, &touchpoints).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << label;
  }
  cv1::ListCustomersRequest list;
  cv1::ListCustomersResponse customers;
  ASSERT_RPC_OK(Contacts()->ListCustomers(As(globex).get(), list, &customers));
  EXPECT_EQ(customers.customers_size(), 0);
  tv1::SearchTouchpointsRequest search;
  search.set_query("投诉");
  tv1::SearchTouchpointsResponse hits;
  ASSERT_RPC_OK(Touchpoints()->SearchTouchpoints(As(globex).get(), search, &hits));
  EXPECT_EQ(hits.hits_size(), 0);
  // Their administrator cannot administer acme's users either.
  pv1::GetUserRequest user;
  user.set_user_id(world->user_ids.at("rep_a"));
  pv1::GetUserResponse found;
  EXPECT_EQ(Permissions()->GetUser(As(globex).get(), user, &found).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(AuthorizationMatrixTest, AuditLogRecordsLoginsReadsAndChangesInAnIntactChain) {
  // rep_a reads C1's phone in clear: a sensitive read, reported asynchronously.
  cv1::GetCustomerRequest get;
  get.set_customer_id(world->customers.at("C1"));
  cv1::GetCustomerResponse customer;
  ASSERT_RPC_OK(Contacts()->GetCustomer(As(world->tokens.at("rep_a")).get(), get, &customer));

  auto has = [&](const std::string& action_prefix, const std::string& actor) {
    return Eventually([&] {
      pv1::ListAuditEventsRequest request;
      request.set_action_prefix(action_prefix);
      request.set_actor_id(world->user_ids.at(actor));
      request.set_page_size(1000);
      pv1::ListAuditEventsResponse response;
      return Permissions()
                 ->ListAuditEvents(As(world->admin_token).get(), request, &response)
                 .ok() &&
             response.events_size() > 0;
    });
  };
  EXPECT_TRUE(has("login.succeeded", "rep_a"));
  EXPECT_TRUE(has("customer.read_sensitive", "rep_a"));
  EXPECT_TRUE(has("customer.created", "admin"));
  EXPECT_TRUE(has("touchpoint.recorded", "admin"));
  EXPECT_TRUE(has("field_policy.set", "admin"));

  // Reps may not read the audit log.
  pv1::ListAuditEventsRequest request;
  pv1::ListAuditEventsResponse response;
  EXPECT_EQ(Permissions()
                ->ListAuditEvents(As(world->tokens.at("rep_a")).get(), request, &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  pv1::VerifyAuditChainResponse verified;
  ASSERT_RPC_OK(Permissions()->VerifyAuditChain(As(world->admin_token).get(),
                                                pv1::VerifyAuditChainRequest(), &verified));
  EXPECT_TRUE(verified.intact()) << verified.detail();
  EXPECT_GT(verified.entries_checked(), 20);
}

}  // namespace
}  // namespace touchline
