#include "services/permissions/org/org_validation.h"

#include <string>
#include <utility>
#include <vector>

#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::permissions {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

using Violations = std::vector<std::pair<std::string, std::string>>;

Violations Of(const absl::Status& status) {
  if (status.ok()) return {};
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return status::FieldViolationsOf(status);
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

v1::Role ValidRole() {
  v1::Role role;
  role.set_role_id("regional_manager");
  role.set_display_name(" 大区经理\u3000");
  role.set_rank(30);
  role.set_data_scope(v1::DATA_SCOPE_TERRITORY);
  role.add_permissions(v1::PERMISSION_CUSTOMERS_WRITE);
  role.add_permissions(v1::PERMISSION_CUSTOMERS_MERGE);
  return role;
}

TEST(OrgIdTest, FollowsTheSyntax) {
  EXPECT_TRUE(IsValidOrgId("a"));
  EXPECT_TRUE(IsValidOrgId("north-china_2"));
  EXPECT_TRUE(IsValidOrgId(Repeat("a", 63)));
  EXPECT_FALSE(IsValidOrgId(""));
  EXPECT_FALSE(IsValidOrgId(Repeat("a", 64)));
  EXPECT_FALSE(IsValidOrgId("2north"));
  EXPECT_FALSE(IsValidOrgId("North"));
  EXPECT_FALSE(IsValidOrgId("north china"));
  EXPECT_FALSE(IsValidOrgId("华北"));
}

TEST(CheckRoleTest, AcceptsAndTrimsAValidRole) {
  v1::Role role = ValidRole();
  EXPECT_THAT(Of(CheckRole(role, {})), IsEmpty());
  EXPECT_EQ(role.display_name(), "大区经理");
}

TEST(CheckRoleTest, NamesEveryBadField) {
  v1::Role role;
  role.set_role_id("Rep");
  role.set_display_name(Repeat("经", 101));
  role.set_rank(101);
  role.add_permissions(v1::PERMISSION_CUSTOMERS_WRITE);
  role.add_permissions(static_cast<v1::Permission>(9));
  role.add_permissions(v1::PERMISSION_CUSTOMERS_WRITE);
  role.add_permissions(v1::PERMISSION_UNSPECIFIED);
  EXPECT_THAT(
      Of(CheckRole(role, {})),
      ElementsAre(Pair("role.role_id", "must match [a-z][a-z0-9_-]{0,62}"),
                  Pair("role.display_name", "must be at most 100 characters"),
                  Pair("role.rank", "must be between 0 and 100"),
                  Pair("role.data_scope", "is required"),
                  Pair("role.permissions[1]", "unknown permission 9"),
                  Pair("role.permissions[2]", "duplicate permission PERMISSION_CUSTOMERS_WRITE"),
                  Pair("role.permissions[3]", "unknown permission 0")));
}

TEST(CheckRoleTest, NulInTheDisplayNameIsRefused) {
  v1::Role role = ValidRole();
  role.set_display_name(std::string("大区\0经理", 13));
  EXPECT_THAT(Of(CheckRole(role, {})),
              ElementsAre(Pair("role.display_name", "must not contain NUL characters")));
}

TEST(CheckRoleTest, RankBoundsAndUnknownScope) {
  v1::Role role = ValidRole();
  role.set_rank(0);
  EXPECT_THAT(Of(CheckRole(role, {})), IsEmpty());
  role.set_rank(100);
  EXPECT_THAT(Of(CheckRole(role, {})), IsEmpty());
  role.set_rank(-1);
  role.set_data_scope(static_cast<v1::DataScope>(7));
  EXPECT_THAT(Of(CheckRole(role, {})),
              ElementsAre(Pair("role.rank", "must be between 0 and 100"),
                          Pair("role.data_scope", "unknown data scope 7")));
}

TEST(CheckRoleTest, AnUpdateChecksOnlyItsFieldsAndTheId) {
  v1::Role role;
  role.set_role_id("rep");
  role.set_rank(55);
  EXPECT_THAT(Of(CheckRole(role, {"rank"})), IsEmpty());
  role.set_role_id("");
  EXPECT_THAT(
      Of(CheckRole(role, {"display_name"})),
      ElementsAre(Pair("role.role_id", "is required"), Pair("role.display_name", "is required")));
}

TEST(UpdatedFieldsTest, RequiresAMaskOfUpdatableFields) {
  google::protobuf::FieldMask mask;
  EXPECT_THAT(Of(UpdatedFields(mask, {"display_name", "rank"}).status()),
              ElementsAre(Pair("update_mask", "is required")));
  mask.add_paths("rank");
  mask.add_paths("role_id");
  EXPECT_THAT(Of(UpdatedFields(mask, {"display_name", "rank"}).status()),
              ElementsAre(Pair("update_mask.paths[1]",
                               "cannot update 'role_id'; updatable: display_name, rank")));
  mask.mutable_paths()->RemoveLast();
  mask.add_paths("display_name");
  const absl::StatusOr<std::set<std::string>> fields =
      UpdatedFields(mask, {"display_name", "rank"});
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_THAT(*fields, ElementsAre("display_name", "rank"));
}

TEST(CheckTerritoryTest, RegionsAndMembers) {
  v1::Territory territory;
  territory.set_territory_id("north");
  territory.set_display_name("华北");
  EXPECT_THAT(Of(CheckTerritory(territory, {})),
              ElementsAre(Pair("territory.regions", "must have at least one region")));
  territory.add_regions(" 北京 ");
  territory.add_regions("天津");
  territory.add_regions("北京");
  territory.add_regions("");
  territory.add_member_user_ids("0190A3B4-0000-7000-8000-000000000001");
  territory.add_member_user_ids("0190a3b4-0000-7000-8000-000000000001");
  territory.add_member_user_ids("u-17");
  EXPECT_THAT(Of(CheckTerritory(territory, {})),
              ElementsAre(Pair("territory.regions[2]", "duplicate region '北京'"),
                          Pair("territory.regions[3]", "is required"),
                          Pair("territory.member_user_ids[1]",
                               "duplicate user '0190a3b4-0000-7000-8000-000000000001'"),
                          Pair("territory.member_user_ids[2]", "no user 'u-17'")));
  EXPECT_EQ(territory.regions(0), "北京");
  EXPECT_EQ(territory.member_user_ids(0), "0190a3b4-0000-7000-8000-000000000001");
}

TEST(CheckTeamTest, IdNameAndMembers) {
  v1::Team team;
  team.set_team_id("east_sales");
  team.set_display_name("华东销售");
  EXPECT_THAT(Of(CheckTeam(team, {})), IsEmpty());
  team.set_team_id("east sales");
  team.set_display_name("\u3000");
  EXPECT_THAT(Of(CheckTeam(team, {})),
              ElementsAre(Pair("team.team_id", "must match [a-z][a-z0-9_-]{0,62}"),
                          Pair("team.display_name", "is required")));
}

TEST(CheckPartnerOrganizationTest, IdAndName) {
  v1::PartnerOrganization partner;
  partner.set_partner_org_id("dealer-1");
  partner.set_display_name("上海经销商");
  EXPECT_THAT(Of(CheckPartnerOrganization(partner)), IsEmpty());
  partner.clear_partner_org_id();
  EXPECT_THAT(Of(CheckPartnerOrganization(partner)),
              ElementsAre(Pair("partner_organization.partner_org_id", "is required")));
}

TEST(CheckFieldPolicyTest, ResourcePathAccessAndMask) {
  v1::FieldPolicy policy;
  policy.set_role_id("partner");
  policy.set_resource("customer");
  policy.set_field_path("contact_persons.phones");
  policy.set_access(v1::FIELD_ACCESS_MASKED);
  policy.set_mask(v1::MASK_PATTERN_FULL);
  EXPECT_THAT(Of(CheckFieldPolicy(policy)), IsEmpty());

  policy.set_access(v1::FIELD_ACCESS_HIDDEN);
  EXPECT_THAT(
      Of(CheckFieldPolicy(policy)),
      ElementsAre(Pair("policy.mask", "must be unset unless access is FIELD_ACCESS_MASKED")));

  policy.clear_mask();
  policy.set_field_path("contact_persons.fax");
  EXPECT_THAT(Of(CheckFieldPolicy(policy)),
              ElementsAre(Pair("policy.field_path",
                               "field path \"contact_persons.fax\": no field \"fax\" in "
                               "touchline.contacts.v1.ContactPerson")));

  policy.set_field_path("customer_id");
  EXPECT_THAT(Of(CheckFieldPolicy(policy)),
              ElementsAre(Pair("policy.field_path",
                               "field \"customer_id\" identifies the customer or tracks its "
                               "state and cannot be restricted")));

  policy.set_resource("order");
  policy.clear_access();
  EXPECT_THAT(Of(CheckFieldPolicy(policy)),
              ElementsAre(Pair("policy.resource", "must be customer or touchpoint"),
                          Pair("policy.access", "is required")));
}

TEST(CheckShareTest, CustomerGranteeAndAccess) {
  v1::CustomerShare share;
  share.set_customer_id("0190A3B4-0000-7000-8000-00000000000A");
  share.set_partner_org_id("dealer-1");
  share.set_access(v1::SHARE_ACCESS_READ);
  EXPECT_THAT(Of(CheckShare(share, true)), IsEmpty());
  EXPECT_EQ(share.customer_id(), "0190a3b4-0000-7000-8000-00000000000a");

  v1::CustomerShare bad;
  bad.set_customer_id("c-1");
  EXPECT_THAT(Of(CheckShare(bad, true)),
              ElementsAre(Pair("share.customer_id", "must be a UUID"),
                          Pair("share.grantee", "a team_id or a partner_org_id is required"),
                          Pair("share.access", "is required")));
  bad.set_team_id("East");
  EXPECT_THAT(Of(CheckShare(bad, false)),
              ElementsAre(Pair("share.customer_id", "must be a UUID"),
                          Pair("share.team_id", "must match [a-z][a-z0-9_-]{0,62}")));
}

TEST(CheckAccessRequestTest, NamesFieldsUnderThePath) {
  v1::CheckAccessRequest request;
  request.set_field_path("contact_persons.phones.number");
  EXPECT_THAT(
      Of(CheckAccessRequest(request, "check")),
      ElementsAre(Pair("check.user_id", "is required"), Pair("check.customer_id", "is required"),
                  Pair("check.action", "is required")));
  request.set_user_id("0190a3b4-0000-7000-8000-000000000001");
  request.set_customer_id("0190a3b4-0000-7000-8000-00000000000a");
  request.set_action(v1::ACCESS_ACTION_WRITE);
  EXPECT_THAT(Of(CheckAccessRequest(request)), IsEmpty());
  request.set_field_path("etag");
  EXPECT_THAT(Of(CheckAccessRequest(request)),
              ElementsAre(Pair("field_path",
                               "field \"etag\" identifies the customer or tracks its state and "
                               "cannot be restricted")));
}

}  // namespace
}  // namespace touchline::permissions
