// Scope compilation on real PostgreSQL (a fresh schema per test): the five conventional roles,
// reporting lines at depth 3, territories, teams, partners and their default masks, API keys.
#include <google/protobuf/util/time_util.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/ids/ids.h"
#include "common/pg/pool.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/permissions/bootstrap.h"
#include "services/permissions/org/org_manager.h"
#include "services/permissions/org/pg_org_store.h"
#include "services/permissions/scope_compiler.h"
#include "services/permissions/testing/permissions_db.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/type/v1/contact_point.pb.h"

namespace touchline::permissions {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::google::protobuf::util::TimeUtil;

constexpr char kTenant[] = "acme";
const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

v1::EffectiveScope Parse(const std::string& text) {
  v1::EffectiveScope scope;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &scope)) << text;
  return scope;
}

// The partner's scope without its field rules, in text format.
constexpr char kPartnerScopeText[] = R"pb(
  role_id: "partner"
  rank: 5
  permissions: PERMISSION_TOUCHPOINTS_WRITE
  grantees: "partner:dealer-1"
)pb";

// A MASKED customer rule in text format; `mask` is the MaskPattern name without its prefix.
std::string MaskedRule(const std::string& path, const std::string& mask) {
  return absl::StrCat(R"pb(field_rules { resource: "customer" field_path: ")pb", path,
                      R"pb(" access: FIELD_ACCESS_MASKED mask: MASK_PATTERN_)pb", mask, " }\n");
}

// The org chart of the tests:
//   admin
//   manager (regional_manager, territory north: 北京 天津)
//     lead (team_lead, team east)
//       rep1 (rep, team east)
//         rep3 (rep, disabled)
//       rep2 (rep)
//   partner (partner, dealer-1)
class ScopeCompilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = testing::MigratedPool(schema_);
    ASSERT_NE(pool_, nullptr);
    org_store_ = std::make_unique<PgOrgStore>(pool_.get());
    org_ = std::make_unique<OrgManager>(org_store_.get());
    compiler_ = std::make_unique<ScopeCompiler>(
        pool_.get(),
        ScopeCompilerOptions{.max_scope_age = absl::Minutes(5), .clock = [] { return kNow; }});

    for (const char* tenant : {kTenant, "other"}) {
      for (v1::Role& role : ConventionalRoles()) {
        v1::CreateRoleRequest request;
        *request.mutable_role() = std::move(role);
        ASSERT_TRUE(org_->CreateRole(Admin(tenant), request).ok());
      }
    }
    v1::CreatePartnerOrganizationRequest dealer;
    dealer.mutable_partner_organization()->set_partner_org_id("dealer-1");
    dealer.mutable_partner_organization()->set_display_name("上海经销商");
    ASSERT_TRUE(org_->CreatePartnerOrganization(Admin(), dealer).ok());

    admin_ = AddUser("admin", "");
    manager_ = AddUser("regional_manager", "");
    lead_ = AddUser("team_lead", manager_);
    rep1_ = AddUser("rep", lead_);
    rep2_ = AddUser("rep", lead_);
    rep3_ = AddUser("rep", rep1_, "", v1::USER_STATE_DISABLED);
    partner_ = AddUser("partner", "", "dealer-1");

    v1::CreateTerritoryRequest north;
    north.mutable_territory()->set_territory_id("north");
    north.mutable_territory()->set_display_name("华北");
    north.mutable_territory()->add_regions("北京");
    north.mutable_territory()->add_regions("天津");
    north.mutable_territory()->add_member_user_ids(manager_);
    ASSERT_TRUE(org_->CreateTerritory(Admin(), north).ok());
    v1::CreateTeamRequest east;
    east.mutable_team()->set_team_id("east");
    east.mutable_team()->set_display_name("华东");
    east.mutable_team()->add_member_user_ids(lead_);
    east.mutable_team()->add_member_user_ids(rep1_);
    ASSERT_TRUE(org_->CreateTeam(Admin(), east).ok());
  }

  static auth::RequestContext Admin(const std::string& tenant = kTenant) {
    auto scope = auth::Scope::Compile(auth::testing::AdminScope(tenant, "setup"));
    EXPECT_TRUE(scope.ok()) << scope.status();
    return auth::RequestContext{.tenant_id = tenant,
                                .caller_id = "setup",
                                .request_id = ids::NewUuid(),
                                .scope = *scope,
                                .client = "test"};
  }

  std::string AddUser(const std::string& role, const std::string& manager,
                      const std::string& partner = "", v1::UserState state = v1::USER_STATE_ACTIVE,
                      const std::string& tenant = kTenant) {
    const std::string id = ids::NewUuid();
    const absl::Status inserted = pool_->Transact([&](pqxx::work& txn) {
      txn.exec_params(
          "INSERT INTO users (tenant_id, user_id, username, display_name, role_id, manager_id, "
          "partner_org_id, state, password_hash, create_time, update_time, version) "
          "VALUES ($1, $2::uuid, $3, $3, $4, nullif($5, '')::uuid, nullif($6, ''), $7, 'x', "
          "now(), now(), 1)",
          tenant, id, absl::StrCat(role, "-", id), role, manager, partner, static_cast<int>(state));
      return absl::OkStatus();
    });
    EXPECT_TRUE(inserted.ok()) << inserted;
    return id;
  }

  static Principal Session(const std::string& user, const std::string& role,
                           const std::string& partner = "", const std::string& tenant = kTenant) {
    return Principal{
        .tenant_id = tenant,
        .user_id = user,
        .session_id = "s-" + user,
        .kind = partner.empty() ? v1::PRINCIPAL_KIND_USER : v1::PRINCIPAL_KIND_PARTNER_USER,
        .role_id = role,
        .partner_org_id = partner,
        .key_permissions = {},
        .is_api_key = false,
        .expire_time = kNow + absl::Hours(12)};
  }

  v1::EffectiveScope Compile(const Principal& principal) {
    absl::StatusOr<std::shared_ptr<const auth::Scope>> scope = compiler_->Compile(principal);
    EXPECT_TRUE(scope.ok()) << scope.status();
    if (!scope.ok()) return {};
    return (*scope)->proto();
  }

  void ExpectScope(const Principal& principal, const std::string& expected_text) {
    v1::EffectiveScope expected = Parse(expected_text);
    expected.set_tenant_id(principal.tenant_id);
    expected.set_user_id(principal.user_id);
    expected.set_session_id(principal.session_id);
    expected.set_principal_kind(principal.kind);
    *expected.mutable_expire_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kNow + absl::Minutes(5)));
    const v1::EffectiveScope actual = Compile(principal);
    EXPECT_TRUE(MessageDifferencer::Equals(actual, expected))
        << "actual:\n"
        << actual.DebugString() << "expected:\n"
        << expected.DebugString();
  }

  void SetPolicy(const std::string& role, const std::string& resource, const std::string& path,
                 v1::FieldAccess access, v1::MaskPattern mask = v1::MASK_PATTERN_UNSPECIFIED) {
    v1::SetFieldPolicyRequest request;
    request.mutable_policy()->set_role_id(role);
    request.mutable_policy()->set_resource(resource);
    request.mutable_policy()->set_field_path(path);
    request.mutable_policy()->set_access(access);
    request.mutable_policy()->set_mask(mask);
    const absl::StatusOr<v1::FieldPolicy> set = org_->SetFieldPolicy(Admin(), request);
    ASSERT_TRUE(set.ok()) << set.status();
  }

  touchline::testing::ScopedSchema schema_{"permissions"};
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgOrgStore> org_store_;
  std::unique_ptr<OrgManager> org_;
  std::unique_ptr<ScopeCompiler> compiler_;
  std::string admin_, manager_, lead_, rep1_, rep2_, rep3_, partner_;
};

TEST_F(ScopeCompilerTest, AdminSeesTheWholeTenant) {
  ExpectScope(Session(admin_, "admin"), R"pb(
    role_id: "admin"
    rank: 40
    permissions: [
      PERMISSION_CUSTOMERS_WRITE,
      PERMISSION_CUSTOMERS_MERGE,
      PERMISSION_TOUCHPOINTS_WRITE,
      PERMISSION_ADMINISTER,
      PERMISSION_AUDIT_READ
    ]
    all_customers: true
    vip_visible: true
  )pb");
}

TEST_F(ScopeCompilerTest, RegionalManagerOwnsEveryReportAtAnyDepthAndTheTerritory) {
  const Principal principal = Session(manager_, "regional_manager");
  const v1::EffectiveScope scope = Compile(principal);
  // Depth 0, 1, 2 and 3; the disabled rep3 still owns its customers.
  std::vector<std::string> by_depth = {manager_, lead_};
  std::vector<std::string> depth2 = {rep1_, rep2_};
  std::sort(depth2.begin(), depth2.end());
  by_depth.insert(by_depth.end(), depth2.begin(), depth2.end());
  by_depth.push_back(rep3_);
  EXPECT_THAT(scope.owner_ids(), ::testing::ElementsAreArray(by_depth));
  v1::EffectiveScope expected = Parse(R"pb(
    role_id: "regional_manager"
    rank: 30
    permissions: [
      PERMISSION_CUSTOMERS_WRITE,
      PERMISSION_TOUCHPOINTS_WRITE,
      PERMISSION_CUSTOMERS_MERGE
    ]
    regions: [ "北京", "天津" ]
    vip_visible: true
  )pb");
  for (const std::string& owner : by_depth) expected.add_owner_ids(owner);
  expected.set_tenant_id(kTenant);
  expected.set_user_id(manager_);
  expected.set_session_id(principal.session_id);
  expected.set_principal_kind(v1::PRINCIPAL_KIND_USER);
  *expected.mutable_expire_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kNow + absl::Minutes(5)));
  EXPECT_TRUE(MessageDifferencer::Equals(scope, expected)) << scope.DebugString();
}

TEST_F(ScopeCompilerTest, TeamLeadOwnsTheTeamBelowAndSeesTeamShares) {
  const v1::EffectiveScope scope = Compile(Session(lead_, "team_lead"));
  std::vector<std::string> expected = {lead_};
  std::vector<std::string> depth1 = {rep1_, rep2_};
  std::sort(depth1.begin(), depth1.end());
  expected.insert(expected.end(), depth1.begin(), depth1.end());
  expected.push_back(rep3_);
  EXPECT_THAT(scope.owner_ids(), ::testing::ElementsAreArray(expected));
  EXPECT_THAT(scope.grantees(), ::testing::ElementsAre("team:east"));
  EXPECT_THAT(scope.regions(), ::testing::IsEmpty());
  EXPECT_FALSE(scope.vip_visible());
  EXPECT_FALSE(scope.all_customers());
  EXPECT_EQ(scope.rank(), 20);
}

TEST_F(ScopeCompilerTest, RepOwnsOwnAndReportsAndTheTeamShares) {
  ExpectScope(
      Session(rep1_, "rep"),
      absl::StrCat(R"pb(
                     role_id: "rep"
                     rank: 10
                     permissions: [ PERMISSION_CUSTOMERS_WRITE, PERMISSION_TOUCHPOINTS_WRITE ]
                     grantees: "team:east"
                     owner_ids: ")pb",
                   rep1_, R"pb(" owner_ids: ")pb", rep3_, R"pb(")pb"));
  ExpectScope(
      Session(rep2_, "rep"),
      absl::StrCat(R"pb(
                     role_id: "rep"
                     rank: 10
                     permissions: [ PERMISSION_CUSTOMERS_WRITE, PERMISSION_TOUCHPOINTS_WRITE ]
                     owner_ids: ")pb",
                   rep2_, R"pb(")pb"));
}

TEST_F(ScopeCompilerTest, PartnerSeesOnlySharesWithEveryContactPointMasked) {
  ExpectScope(Session(partner_, "partner", "dealer-1"),
              absl::StrCat(kPartnerScopeText, MaskedRule("addresses", "PARTIAL"),
                           MaskedRule("contact_persons.addresses", "PARTIAL"),
                           MaskedRule("contact_persons.emails", "EMAIL"),
                           MaskedRule("contact_persons.messaging_accounts", "PARTIAL"),
                           MaskedRule("contact_persons.phones", "PHONE")));
}

TEST_F(ScopeCompilerTest, PartnerDefaultsMaskMessagingAccountsAndAddressesInTheCustomer) {
  absl::StatusOr<std::shared_ptr<const auth::Scope>> scope =
      compiler_->Compile(Session(partner_, "partner", "dealer-1"));
  ASSERT_TRUE(scope.ok()) << scope.status();
  contacts::v1::Customer customer;
  type::v1::PostalAddress* office = customer.add_addresses();
  office->set_locality("深圳市");
  office->add_address_lines("科技园路1号");
  contacts::v1::ContactPerson* person = customer.add_contact_persons();
  person->mutable_name()->set_formatted_name("王伟");
  type::v1::MessagingAccount* wecom = person->add_messaging_accounts();
  wecom->set_service(type::v1::MESSAGING_SERVICE_WECOM);
  wecom->set_account_id("wmABCDEF");
  person->add_addresses()->set_locality("北京市");
  (*scope)->Redact(auth::kCustomerResource, customer);
  EXPECT_EQ(customer.addresses(0).locality(), "深**");
  EXPECT_EQ(customer.addresses(0).address_lines(0), "科*****");
  EXPECT_EQ(customer.contact_persons(0).messaging_accounts(0).service(),
            type::v1::MESSAGING_SERVICE_WECOM);
  EXPECT_EQ(customer.contact_persons(0).messaging_accounts(0).account_id(), "w*******");
  EXPECT_EQ(customer.contact_persons(0).addresses(0).locality(), "北**");
  // Names are not contact points.
  EXPECT_EQ(customer.contact_persons(0).name().formatted_name(), "王伟");
}

TEST_F(ScopeCompilerTest, APolicyForTheExactPathOverridesThePartnerMask) {
  // Editable phones: no rule at all; a FULL mask on emails replaces the default EMAIL one.
  SetPolicy("partner", "customer", "contact_persons.phones", v1::FIELD_ACCESS_EDITABLE);
  SetPolicy("partner", "customer", "contact_persons.emails", v1::FIELD_ACCESS_MASKED,
            v1::MASK_PATTERN_FULL);
  // A MASKED policy without a pattern gets the field's default (PARTIAL for plain text).
  SetPolicy("partner", "customer", "contact_persons.note", v1::FIELD_ACCESS_MASKED);
  SetPolicy("partner", "touchpoint", "content", v1::FIELD_ACCESS_HIDDEN);
  ExpectScope(Session(partner_, "partner", "dealer-1"),
              absl::StrCat(kPartnerScopeText, MaskedRule("addresses", "PARTIAL"),
                           MaskedRule("contact_persons.addresses", "PARTIAL"),
                           MaskedRule("contact_persons.emails", "FULL"),
                           MaskedRule("contact_persons.messaging_accounts", "PARTIAL"),
                           MaskedRule("contact_persons.note", "PARTIAL"),
                           "field_rules { resource: \"touchpoint\" field_path: \"content\" "
                           "access: FIELD_ACCESS_HIDDEN }"));
}

TEST_F(ScopeCompilerTest, PolicyOnAParentPathKeepsThePartnerDefaultsOfTheChildren) {
  SetPolicy("partner", "customer", "contact_persons", v1::FIELD_ACCESS_READ_ONLY);
  const v1::EffectiveScope scope = Compile(Session(partner_, "partner", "dealer-1"));
  ASSERT_EQ(scope.field_rules_size(), 6);
  EXPECT_EQ(scope.field_rules(0).field_path(), "addresses");
  EXPECT_EQ(scope.field_rules(1).field_path(), "contact_persons");
  EXPECT_EQ(scope.field_rules(1).access(), v1::FIELD_ACCESS_READ_ONLY);
  EXPECT_EQ(scope.field_rules(2).field_path(), "contact_persons.addresses");
  EXPECT_EQ(scope.field_rules(3).field_path(), "contact_persons.emails");
  EXPECT_EQ(scope.field_rules(4).field_path(), "contact_persons.messaging_accounts");
  EXPECT_EQ(scope.field_rules(5).field_path(), "contact_persons.phones");
  EXPECT_EQ(scope.field_rules(5).mask(), v1::MASK_PATTERN_PHONE);
}

TEST_F(ScopeCompilerTest, EmployeesGetTheirRolesRulesOnlyAndNoPartnerMasks) {
  SetPolicy("rep", "customer", "contact_persons.emails", v1::FIELD_ACCESS_READ_ONLY);
  SetPolicy("rep", "customer", "display_name", v1::FIELD_ACCESS_EDITABLE);
  const v1::EffectiveScope scope = Compile(Session(rep2_, "rep"));
  ASSERT_EQ(scope.field_rules_size(), 1);
  EXPECT_EQ(scope.field_rules(0).field_path(), "contact_persons.emails");
  EXPECT_EQ(scope.field_rules(0).access(), v1::FIELD_ACCESS_READ_ONLY);
  EXPECT_THAT(Compile(Session(manager_, "regional_manager")).field_rules(), ::testing::IsEmpty());
}

TEST_F(ScopeCompilerTest, ATenantWideRoleBelowVipRankKeepsItsReportingLineForVipCustomers) {
  const absl::Status widened = pool_->Transact([&](pqxx::work& txn) {
    txn.exec_params(
        "UPDATE roles SET data_scope = $2 WHERE tenant_id = $1 AND role_id = 'team_lead'", kTenant,
        static_cast<int>(v1::DATA_SCOPE_TENANT));
    return absl::OkStatus();
  });
  ASSERT_TRUE(widened.ok()) << widened;
  const v1::EffectiveScope scope = Compile(Session(lead_, "team_lead"));
  EXPECT_TRUE(scope.all_customers());
  EXPECT_FALSE(scope.vip_visible());
  EXPECT_THAT(scope.owner_ids(), ::testing::UnorderedElementsAre(lead_, rep1_, rep2_, rep3_));
  // At the VIP rank the whole tenant is visible anyway: no owners to carry.
  EXPECT_THAT(Compile(Session(admin_, "admin")).owner_ids(), ::testing::IsEmpty());
}

TEST_F(ScopeCompilerTest, ApiKeyGetsTheIntersectionOfKeyAndRolePermissions) {
  Principal key = Session(rep2_, "rep");
  key.kind = v1::PRINCIPAL_KIND_API_KEY;
  key.is_api_key = true;
  key.session_id = "key-1";
  key.key_permissions = {v1::PERMISSION_ADMINISTER, v1::PERMISSION_TOUCHPOINTS_WRITE};
  key.expire_time = absl::InfiniteFuture();
  const v1::EffectiveScope scope = Compile(key);
  EXPECT_THAT(scope.permissions(), ::testing::ElementsAre(v1::PERMISSION_TOUCHPOINTS_WRITE));
  EXPECT_EQ(scope.principal_kind(), v1::PRINCIPAL_KIND_API_KEY);
  EXPECT_EQ(scope.session_id(), "key-1");
  EXPECT_THAT(scope.owner_ids(), ::testing::ElementsAre(rep2_));
  key.key_permissions.clear();
  EXPECT_THAT(Compile(key).permissions(), ::testing::IsEmpty());
}

TEST_F(ScopeCompilerTest, ExpiresWithTheSessionWhenSooner) {
  Principal principal = Session(rep2_, "rep");
  principal.expire_time = kNow + absl::Seconds(90);
  EXPECT_EQ(Compile(principal).expire_time().seconds(), absl::ToUnixSeconds(kNow) + 90);
  principal.expire_time = absl::InfiniteFuture();
  EXPECT_EQ(Compile(principal).expire_time().seconds(), absl::ToUnixSeconds(kNow) + 300);
}

TEST_F(ScopeCompilerTest, UnknownRoleIsAFailedPrecondition) {
  const absl::StatusOr<std::shared_ptr<const auth::Scope>> scope =
      compiler_->Compile(Session(rep2_, "intern"));
  EXPECT_EQ(scope.status().code(), absl::StatusCode::kFailedPrecondition) << scope.status();
}

TEST_F(ScopeCompilerTest, AStoredReportingCycleStillCompiles) {
  // Identity refuses cycles; were one stored anyway, the walk must end.
  const absl::Status cycled = pool_->Transact([&](pqxx::work& txn) {
    txn.exec_params(
        "UPDATE users SET manager_id = $2::uuid WHERE tenant_id = $1 AND "
        "user_id = $3::uuid",
        kTenant, rep1_, manager_);
    return absl::OkStatus();
  });
  ASSERT_TRUE(cycled.ok()) << cycled;
  const v1::EffectiveScope scope = Compile(Session(manager_, "regional_manager"));
  EXPECT_THAT(scope.owner_ids(),
              ::testing::UnorderedElementsAre(manager_, lead_, rep1_, rep2_, rep3_));
}

TEST_F(ScopeCompilerTest, OtherTenantsOrganisationDoesNotLeakIn) {
  // Same user id in a territory and team of another tenant, and a TENANT-wide role there.
  const absl::Status other = pool_->Transact([&](pqxx::work& txn) {
    txn.exec_params(
        "UPDATE roles SET data_scope = 3 WHERE tenant_id = 'other' AND "
        "role_id = 'rep'");
    txn.exec_params("INSERT INTO teams VALUES ('other', 'west', 'x', now(), now())");
    txn.exec_params("INSERT INTO team_members VALUES ('other', 'west', $1::uuid)", rep2_);
    for (const auto& [user, manager] :
         {std::pair{rep2_, std::string()}, std::pair{ids::NewUuid(), rep2_}}) {
      txn.exec_params(
          "INSERT INTO users (tenant_id, user_id, username, display_name, role_id, "
          "manager_id, state, password_hash, create_time, update_time, version) "
          "VALUES ('other', $1::uuid, $1, 'x', 'rep', nullif($2, '')::uuid, 1, 'x', "
          "now(), now(), 1)",
          user, manager);
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(other.ok()) << other;
  ExpectScope(
      Session(rep2_, "rep"),
      absl::StrCat(R"pb(
                     role_id: "rep"
                     rank: 10
                     permissions: [ PERMISSION_CUSTOMERS_WRITE, PERMISSION_TOUCHPOINTS_WRITE ]
                     owner_ids: ")pb",
                   rep2_, R"pb(")pb"));
}

}  // namespace
}  // namespace touchline::permissions
