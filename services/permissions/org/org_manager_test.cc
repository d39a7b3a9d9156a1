// OrgManager on the in-memory store (hermetic): who may change and read the organisation,
// all-or-nothing changes with their audit entries and events, the data checks made inside a
// change (role holders, members, share targets), and the versioned share events.
#include "services/permissions/org/org_manager.h"

#include <memory>
#include <string>
#include <vector>

#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/events/topics.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/permissions/identity/testing/callers.h"
#include "services/permissions/org/testing/in_memory_org_store.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::permissions {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
constexpr char kAdminId[] = "00000000-0000-7000-8000-000000000001";
constexpr char kRepId[] = "00000000-0000-7000-8000-000000000002";
constexpr char kPartnerUserId[] = "00000000-0000-7000-8000-000000000003";
constexpr char kCustomerId[] = "00000000-0000-7000-8000-0000000000c1";

class OrgManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.AddUser(kTenant, kRepId, {.role_id = "rep", .partner_org_id = ""});
    store_.AddUser(kTenant, kPartnerUserId, {.role_id = "partner", .partner_org_id = "channel"});
    OrgOptions options;
    options.clock = [] { return absl::FromUnixSeconds(1'800'000'000); };
    options.invalidate_scopes = [this](const std::string& tenant,
                                       const std::vector<std::string>& sessions) {
      invalidated_.push_back(tenant);
      EXPECT_THAT(sessions, IsEmpty());
    };
    manager_ = std::make_unique<OrgManager>(&store_, std::move(options));
  }

  static auth::RequestContext Admin() { return testing::AdminCaller(kTenant, kAdminId); }
  static auth::RequestContext Rep() { return testing::UserCaller(kTenant, kRepId); }
  static auth::RequestContext PartnerUser() {
    auth::RequestContext caller = Rep();
    v1::EffectiveScope proto = auth::testing::PartnerScope("channel");
    proto.set_tenant_id(kTenant);
    proto.set_user_id(kPartnerUserId);
    absl::StatusOr<std::shared_ptr<const auth::Scope>> scope = auth::Scope::Compile(proto);
    EXPECT_TRUE(scope.ok()) << scope.status();
    caller.scope = scope.value_or(nullptr);
    return caller;
  }

  absl::StatusOr<v1::Role> CreateRole(const std::string& id, v1::DataScope data_scope) {
    v1::CreateRoleRequest request;
    request.mutable_role()->set_role_id(id);
    request.mutable_role()->set_display_name(id);
    request.mutable_role()->set_rank(10);
    request.mutable_role()->set_data_scope(data_scope);
    request.mutable_role()->add_permissions(v1::PERMISSION_CUSTOMERS_WRITE);
    return manager_->CreateRole(Admin(), request);
  }
  absl::StatusOr<v1::CustomerShare> Share(const std::string& team_id,
                                          const std::string& partner_org_id) {
    v1::ShareCustomerRequest request;
    request.mutable_share()->set_customer_id(kCustomerId);
    if (!team_id.empty()) request.mutable_share()->set_team_id(team_id);
    if (!partner_org_id.empty()) request.mutable_share()->set_partner_org_id(partner_org_id);
    request.mutable_share()->set_access(v1::SHARE_ACCESS_READ);
    return manager_->ShareCustomer(Admin(), request);
  }
  std::vector<std::string> AuditActions() const {
    std::vector<std::string> actions;
    for (const auto& entry : store_.Snapshot().audit) actions.push_back(entry.event.action());
    return actions;
  }

  testing::InMemoryOrgStore store_;
  std::vector<std::string> invalidated_;
  std::unique_ptr<OrgManager> manager_;
};

TEST_F(OrgManagerTest, ChangesNeedAdministerAndReadsAnEmployee) {
  v1::CreateRoleRequest request;
  request.mutable_role()->set_role_id("manager");
  request.mutable_role()->set_display_name("manager");
  request.mutable_role()->set_data_scope(v1::DATA_SCOPE_OWNED);
  EXPECT_THAT(manager_->CreateRole(Rep(), request), StatusIs(absl::StatusCode::kPermissionDenied));
  TL_EXPECT_OK(manager_->ListRoles(Rep()));
  EXPECT_THAT(manager_->ListRoles(PartnerUser()), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(store_.Snapshot().roles, IsEmpty());
}

TEST_F(OrgManagerTest, ARoleCommitsWithItsAuditEntryAndEventOrNotAtAll) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::Role created, CreateRole("rep", v1::DATA_SCOPE_OWNED));
  EXPECT_EQ(created.create_time().seconds(), 1'800'000'000);
  EXPECT_THAT(CreateRole("rep", v1::DATA_SCOPE_TENANT), StatusIs(absl::StatusCode::kAlreadyExists));
  const testing::InMemoryOrgStore::Data data = store_.Snapshot();
  EXPECT_EQ(data.roles.at({kTenant, "rep"}).data_scope(), v1::DATA_SCOPE_OWNED);
  EXPECT_THAT(AuditActions(), ElementsAre("role.created"));
  ASSERT_THAT(data.published, SizeIs(1));
  EXPECT_EQ(data.published[0].topic, events::kPermissionsTopic);
  EXPECT_THAT(invalidated_, ElementsAre(kTenant));
}

TEST_F(OrgManagerTest, ARoleHeldByEmployeesDoesNotBecomeAPartnerRole) {
  TL_ASSERT_OK(CreateRole("rep", v1::DATA_SCOPE_OWNED));
  v1::UpdateRoleRequest request;
  request.mutable_role()->set_role_id("rep");
  request.mutable_role()->set_data_scope(v1::DATA_SCOPE_SHARED);
  request.mutable_update_mask()->add_paths("data_scope");
  EXPECT_THAT(manager_->UpdateRole(Admin(), request),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::HasSubstr("1 employee")));
  EXPECT_EQ(store_.Snapshot().roles.at({kTenant, "rep"}).data_scope(), v1::DATA_SCOPE_OWNED);
  EXPECT_THAT(AuditActions(), ElementsAre("role.created"));
}

TEST_F(OrgManagerTest, TerritoryMembersAreEmployeesOfTheTenant) {
  v1::CreateTerritoryRequest request;
  request.mutable_territory()->set_territory_id("east");
  request.mutable_territory()->set_display_name("East");
  request.mutable_territory()->add_regions("shanghai");
  request.mutable_territory()->add_member_user_ids(kPartnerUserId);
  request.mutable_territory()->add_member_user_ids("00000000-0000-7000-8000-0000000000ff");
  const absl::Status refused = manager_->CreateTerritory(Admin(), request).status();
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status::FieldViolationsOf(refused),
              ElementsAre(::testing::Pair("territory.member_user_ids[0]", ::testing::_),
                          ::testing::Pair("territory.member_user_ids[1]", ::testing::_)));
  EXPECT_THAT(store_.Snapshot().territories, IsEmpty());

  request.mutable_territory()->clear_member_user_ids();
  request.mutable_territory()->add_member_user_ids(kRepId);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Territory created, manager_->CreateTerritory(Admin(), request));
  EXPECT_THAT(created.member_user_ids(), ElementsAre(kRepId));
}

TEST_F(OrgManagerTest, EveryShareChangePublishesTheCustomersSharesWithAHigherVersion) {
  KnownCustomer customer;
  customer.attributes.customer_id = kCustomerId;
  customer.attributes.owner_id = kRepId;
  customer.state = contacts::v1::CUSTOMER_STATE_ACTIVE;
  store_.AddCustomer(kTenant, customer);
  v1::CreateTeamRequest team;
  team.mutable_team()->set_team_id("key-accounts");
  team.mutable_team()->set_display_name("Key accounts");
  TL_ASSERT_OK(manager_->CreateTeam(Admin(), team));
  v1::CreatePartnerOrganizationRequest partner;
  partner.mutable_partner_organization()->set_partner_org_id("channel");
  partner.mutable_partner_organization()->set_display_name("Channel");
  TL_ASSERT_OK(manager_->CreatePartnerOrganization(Admin(), partner));
  const size_t before = store_.Snapshot().published.size();

  TL_ASSERT_OK(Share("key-accounts", ""));
  TL_ASSERT_OK_AND_ASSIGN(const v1::CustomerShare shared, Share("", "channel"));
  EXPECT_EQ(shared.granted_by(), kAdminId);
  EXPECT_THAT(Share("no-such-team", ""), StatusIs(absl::StatusCode::kInvalidArgument));
  // A partner user sees only the shares granted to their own organisation.
  v1::ListCustomerSharesRequest list;
  list.set_customer_id(kCustomerId);
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListCustomerSharesResponse seen,
                          manager_->ListCustomerShares(PartnerUser(), list));
  ASSERT_THAT(seen.shares(), SizeIs(1));
  EXPECT_EQ(seen.shares(0).partner_org_id(), "channel");
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListCustomerSharesResponse all,
                          manager_->ListCustomerShares(Admin(), list));
  EXPECT_THAT(all.shares(), SizeIs(2));
  v1::UnshareCustomerRequest unshare;
  unshare.mutable_share()->set_customer_id(kCustomerId);
  unshare.mutable_share()->set_team_id("key-accounts");
  TL_ASSERT_OK(manager_->UnshareCustomer(Admin(), unshare));
  EXPECT_THAT(manager_->UnshareCustomer(Admin(), unshare), StatusIs(absl::StatusCode::kNotFound));

  const testing::InMemoryOrgStore::Data data = store_.Snapshot();
  std::vector<std::pair<int64_t, int>> versions;  // (version, shares)
  for (size_t i = before; i < data.published.size(); ++i) {
    events::v1::CustomerSharesChanged changed;
    ASSERT_TRUE(data.published[i].envelope.payload().UnpackTo(&changed));
    versions.emplace_back(changed.version(), changed.shares_size());
  }
  EXPECT_THAT(versions,
              ElementsAre(::testing::Pair(1, 1), ::testing::Pair(2, 2), ::testing::Pair(3, 1)));
}

}  // namespace
}  // namespace touchline::permissions
