#include "common/auth/scope.h"

#include <google/protobuf/util/message_differencer.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

namespace touchline::auth {
namespace {

namespace pv1 = ::touchline::permissions::v1;
namespace cv1 = ::touchline::contacts::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::touchline::testing::StatusIs;

pv1::FieldRule Rule(std::string resource, std::string path, pv1::FieldAccess access,
                    pv1::MaskPattern mask = pv1::MASK_PATTERN_UNSPECIFIED) {
  pv1::FieldRule rule;
  rule.set_resource(std::move(resource));
  rule.set_field_path(std::move(path));
  rule.set_access(access);
  rule.set_mask(mask);
  return rule;
}

pv1::EffectiveScope BaseScope() {
  pv1::EffectiveScope scope;
  scope.set_tenant_id("acme");
  scope.set_user_id("u-rep");
  scope.set_session_id("s-1");
  scope.set_role_id("rep");
  scope.set_rank(10);
  scope.set_principal_kind(pv1::PRINCIPAL_KIND_USER);
  return scope;
}

std::shared_ptr<const Scope> MustCompile(pv1::EffectiveScope proto) {
  absl::StatusOr<std::shared_ptr<const Scope>> scope = Scope::Compile(std::move(proto));
  EXPECT_TRUE(scope.ok()) << scope.status();
  return scope.ok() ? *scope : nullptr;
}

std::shared_ptr<const Scope> WithRules(std::vector<pv1::FieldRule> rules) {
  pv1::EffectiveScope proto = BaseScope();
  for (pv1::FieldRule& rule : rules) *proto.add_field_rules() = std::move(rule);
  return MustCompile(std::move(proto));
}

// ---- MaskValue ----

struct MaskCase {
  const char* value;
  pv1::MaskPattern pattern;
  const char* masked;
};

TEST(MaskValueTest, MasksByPatternInCodePoints) {
  const MaskCase kCases[] = {
      // PHONE: the four digits before the last four; non-digits kept.
      {"13812341234", pv1::MASK_PATTERN_PHONE, "138****1234"},
      {"+8613812341234", pv1::MASK_PATTERN_PHONE, "+86138****1234"},
      {"+86 138-1234-5678", pv1::MASK_PATTERN_PHONE, "+86 138-****-5678"},
      {"123456789", pv1::MASK_PATTERN_PHONE, "1****6789"},
      // Short numbers keep the last four digits, or two when they have four or fewer.
      {"12345678", pv1::MASK_PATTERN_PHONE, "****5678"},
      {"12345", pv1::MASK_PATTERN_PHONE, "*2345"},
      {"1234", pv1::MASK_PATTERN_PHONE, "**34"},
      {"分机 12", pv1::MASK_PATTERN_PHONE, "分机 12"},
      {"", pv1::MASK_PATTERN_PHONE, ""},
      // EMAIL: the first character of the local part and the domain; PARTIAL without '@'.
      {"wang.wei@example.com", pv1::MASK_PATTERN_EMAIL, "w***@example.com"},
      {"王伟@例子.中国", pv1::MASK_PATTERN_EMAIL, "王***@例子.中国"},
      {"@example.com", pv1::MASK_PATTERN_EMAIL, "***@example.com"},
      {"no-address", pv1::MASK_PATTERN_EMAIL, "n*********"},
      // PARTIAL and FULL count characters, not bytes.
      {"王小明", pv1::MASK_PATTERN_PARTIAL, "王**"},
      {"Acme", pv1::MASK_PATTERN_PARTIAL, "A***"},
      {"😀ab", pv1::MASK_PATTERN_PARTIAL, "😀**"},
      {"", pv1::MASK_PATTERN_PARTIAL, ""},
      {"北京市朝阳区", pv1::MASK_PATTERN_FULL, "******"},
      {"", pv1::MASK_PATTERN_FULL, ""},
      // Malformed UTF-8 is masked byte by byte rather than shown.
      {"\xff\xfe\xe5", pv1::MASK_PATTERN_PARTIAL, "\xff**"},
  };
  for (const MaskCase& test : kCases) {
    EXPECT_EQ(MaskValue(test.value, test.pattern), test.masked)
        << test.value << " " << pv1::MaskPattern_Name(test.pattern);
  }
}

// ---- ValidateFieldPath ----

TEST(ValidateFieldPathTest, AcceptsFieldsThroughNestedAndRepeatedMessages) {
  for (const char* path : {"display_name", "contact_persons", "contact_persons.phones",
                           "contact_persons.phones.number", "contact_persons.name.given_name",
                           "addresses.address_lines", "custom_fields", "tags"}) {
    TL_EXPECT_OK(ValidateFieldPath(kCustomerResource, path)) << path;
  }
  for (const char* path : {"content", "summary", "participants.user_id", "next_action.due_time",
                           "custom_attributes", "needs"}) {
    TL_EXPECT_OK(ValidateFieldPath(kTouchpointResource, path)) << path;
  }
}

TEST(ValidateFieldPathTest, RefusesUnknownResourcesAndFields) {
  EXPECT_THAT(ValidateFieldPath("order", "display_name"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown resource")));
  EXPECT_THAT(ValidateFieldPath(kCustomerResource, "contact_persons.fax"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no field \"fax\" in touchline.contacts.v1.ContactPerson")));
  EXPECT_THAT(ValidateFieldPath(kCustomerResource, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(ValidateFieldPath(kCustomerResource, "contact_persons..phones"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty segment")));
  EXPECT_THAT(ValidateFieldPath(kCustomerResource, "contact_persons."),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty segment")));
}

TEST(ValidateFieldPathTest, RefusesPathsThroughMapsAndScalars) {
  EXPECT_THAT(ValidateFieldPath(kCustomerResource, "custom_fields.string_value"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("goes through map field \"custom_fields\"")));
  EXPECT_THAT(ValidateFieldPath(kCustomerResource, "display_name.first"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("goes through scalar field \"display_name\"")));
}

TEST(ValidateFieldPathTest, RefusesIdentityAndStateFields) {
  for (const char* path : {"customer_id", "owner_id", "merged_into_customer_id", "state", "etag",
                           "create_time", "update_time", "delete_time"}) {
    EXPECT_THAT(ValidateFieldPath(kCustomerResource, path),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot be restricted")))
        << path;
  }
  for (const char* path : {"touchpoint_id", "customer_id", "occur_time", "etag", "state"}) {
    EXPECT_THAT(ValidateFieldPath(kTouchpointResource, path),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot be restricted")))
        << path;
  }
}

TEST(ResourceDescriptorTest, NamesTheMessageOfEachResource) {
  EXPECT_EQ(ResourceDescriptor(kCustomerResource), cv1::Customer::descriptor());
  EXPECT_EQ(ResourceDescriptor(kTouchpointResource), tv1::Touchpoint::descriptor());
  EXPECT_EQ(ResourceDescriptor("contact"), nullptr);
}

// ---- Compile ----

TEST(ScopeCompileTest, RequiresTenantAndUser) {
  pv1::EffectiveScope no_tenant = BaseScope();
  no_tenant.clear_tenant_id();
  EXPECT_THAT(Scope::Compile(no_tenant),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tenant_id")));
  pv1::EffectiveScope no_user = BaseScope();
  no_user.clear_user_id();
  EXPECT_THAT(Scope::Compile(no_user),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("user_id")));
}

TEST(ScopeCompileTest, RefusesBadRulesNamingTheRule) {
  auto compile = [](pv1::FieldRule rule) {
    pv1::EffectiveScope proto = BaseScope();
    *proto.add_field_rules() = Rule(kCustomerResource, "industry", pv1::FIELD_ACCESS_HIDDEN);
    *proto.add_field_rules() = std::move(rule);
    return Scope::Compile(std::move(proto)).status();
  };
  absl::Status status = compile(Rule("order", "industry", pv1::FIELD_ACCESS_HIDDEN));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(status::FieldViolationsOf(status).at(0).first, "field_rules[1].resource");
  status = compile(Rule(kCustomerResource, "contact_persons.fax", pv1::FIELD_ACCESS_HIDDEN));
  EXPECT_EQ(status::FieldViolationsOf(status).at(0).first, "field_rules[1].field_path");
  status = compile(Rule(kCustomerResource, "etag", pv1::FIELD_ACCESS_HIDDEN));
  EXPECT_EQ(status::FieldViolationsOf(status).at(0).first, "field_rules[1].field_path");
  status = compile(Rule(kCustomerResource, "region", pv1::FIELD_ACCESS_UNSPECIFIED));
  EXPECT_EQ(status::FieldViolationsOf(status).at(0).first, "field_rules[1].access");
  status = compile(Rule(kCustomerResource, "industry", pv1::FIELD_ACCESS_MASKED));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than one")));
}

TEST(ScopeCompileTest, ResolvesTheDefaultMaskOfEachField) {
  std::shared_ptr<const Scope> scope = WithRules({
      Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_MASKED),
      Rule(kCustomerResource, "contact_persons.phones.number", pv1::FIELD_ACCESS_MASKED),
      Rule(kCustomerResource, "contact_persons.emails", pv1::FIELD_ACCESS_MASKED),
      Rule(kCustomerResource, "display_name", pv1::FIELD_ACCESS_MASKED),
      Rule(kCustomerResource, "contact_persons", pv1::FIELD_ACCESS_MASKED),
      Rule(kCustomerResource, "industry", pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_FULL),
      Rule(kCustomerResource, "region", pv1::FIELD_ACCESS_READ_ONLY),
  });
  ASSERT_NE(scope, nullptr);
  std::vector<pv1::MaskPattern> masks;
  for (const pv1::FieldRule& rule : scope->proto().field_rules()) masks.push_back(rule.mask());
  // A contact person holds names besides phones: PHONE would show them, so PARTIAL.
  EXPECT_THAT(masks,
              ElementsAre(pv1::MASK_PATTERN_PHONE, pv1::MASK_PATTERN_PHONE, pv1::MASK_PATTERN_EMAIL,
                          pv1::MASK_PATTERN_PARTIAL, pv1::MASK_PATTERN_PARTIAL,
                          pv1::MASK_PATTERN_FULL, pv1::MASK_PATTERN_UNSPECIFIED));
}

TEST(ScopeCompileTest, IndexesPermissions) {
  pv1::EffectiveScope proto = BaseScope();
  proto.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
  std::shared_ptr<const Scope> scope = MustCompile(proto);
  EXPECT_TRUE(scope->Has(pv1::PERMISSION_CUSTOMERS_WRITE));
  EXPECT_FALSE(scope->Has(pv1::PERMISSION_CUSTOMERS_MERGE));
  EXPECT_EQ(scope->tenant_id(), "acme");
  EXPECT_EQ(scope->user_id(), "u-rep");
}

// ---- Rows ----

CustomerAttributes Customer(std::string owner, std::string region, int level,
                            std::vector<CustomerAttributes::Share> shares = {}) {
  return CustomerAttributes{.customer_id = "c-1",
                            .owner_id = std::move(owner),
                            .region = std::move(region),
                            .level = level,
                            .shares = std::move(shares)};
}

std::shared_ptr<const Scope> RepScope() {
  pv1::EffectiveScope proto = BaseScope();
  proto.add_owner_ids("u-rep");
  proto.add_owner_ids("u-17");
  proto.add_regions("北京");
  proto.add_grantees("team:east");
  proto.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
  return MustCompile(proto);
}

TEST(ScopeRowsTest, RepSeesOwnedTerritoryAndSharedCustomers) {
  std::shared_ptr<const Scope> rep = RepScope();
  EXPECT_TRUE(rep->Allows(Access::kRead, Customer("u-17", "上海", 1)));
  EXPECT_TRUE(rep->Allows(Access::kWrite, Customer("u-17", "上海", 1)));
  EXPECT_TRUE(rep->Allows(Access::kRead, Customer("u-99", "北京", 2)));
  EXPECT_FALSE(rep->Allows(Access::kRead, Customer("u-99", "上海", 1)));
  EXPECT_FALSE(rep->Allows(Access::kRead, Customer("", "", 0)));
  const CustomerAttributes read_shared = Customer("u-99", "上海", 1, {{"team:east", false}});
  EXPECT_TRUE(rep->Allows(Access::kRead, read_shared));
  EXPECT_FALSE(rep->Allows(Access::kWrite, read_shared));
  const CustomerAttributes edit_shared = Customer("u-99", "上海", 1, {{"team:east", true}});
  EXPECT_TRUE(rep->Allows(Access::kWrite, edit_shared));
  EXPECT_FALSE(rep->Allows(Access::kRead, Customer("u-99", "上海", 1, {{"team:west", true}})));
}

TEST(ScopeRowsTest, VipCustomersNeedVipVisibility) {
  std::shared_ptr<const Scope> rep = RepScope();
  EXPECT_FALSE(rep->Allows(Access::kRead, Customer("u-99", "北京", kVipLevel)));
  EXPECT_FALSE(
      rep->Allows(Access::kRead, Customer("u-99", "上海", kVipLevel, {{"team:east", true}})));
  pv1::EffectiveScope manager = rep->proto();
  manager.set_vip_visible(true);
  manager.set_rank(30);
  EXPECT_TRUE(MustCompile(manager)->Allows(Access::kRead, Customer("u-99", "北京", kVipLevel)));
}

TEST(ScopeRowsTest, TheOwnersLineSeesItsVipCustomersWhateverTheRank) {
  std::shared_ptr<const Scope> rep = RepScope();
  // Owned by the user, and by someone who reports to them.
  for (const char* owner : {"u-rep", "u-17"}) {
    const CustomerAttributes vip = Customer(owner, "上海", kVipLevel);
    EXPECT_TRUE(rep->Allows(Access::kRead, vip)) << owner;
    EXPECT_TRUE(rep->Allows(Access::kWrite, vip)) << owner;
  }
  // A tenant-wide role below rank 30 sees every customer but the VIP ones it does not own.
  pv1::EffectiveScope tenant = BaseScope();
  tenant.set_all_customers(true);
  tenant.add_owner_ids("u-rep");
  std::shared_ptr<const Scope> wide = MustCompile(tenant);
  EXPECT_TRUE(wide->Allows(Access::kRead, Customer("u-99", "", 1)));
  EXPECT_FALSE(wide->Allows(Access::kRead, Customer("u-99", "", kVipLevel)));
  EXPECT_TRUE(wide->Allows(Access::kRead, Customer("u-rep", "", kVipLevel)));
}

TEST(ScopeRowsTest, TouchpointWritesNeedAnEditShareAndTheirOwnPermission) {
  pv1::EffectiveScope proto = BaseScope();
  proto.set_role_id("partner");
  proto.add_grantees("partner:p");
  proto.add_permissions(pv1::PERMISSION_TOUCHPOINTS_WRITE);
  std::shared_ptr<const Scope> partner = MustCompile(proto);
  const CustomerAttributes read_shared = Customer("u-99", "上海", 1, {{"partner:p", false}});
  const CustomerAttributes edit_shared = Customer("u-99", "上海", 1, {{"partner:p", true}});
  EXPECT_TRUE(partner->Allows(Access::kRead, read_shared));
  EXPECT_FALSE(partner->Allows(Access::kWriteTouchpoints, read_shared));
  EXPECT_TRUE(partner->Allows(Access::kWriteTouchpoints, edit_shared));
  // Touchpoints are not the customer: PERMISSION_CUSTOMERS_WRITE is neither needed nor given.
  EXPECT_FALSE(partner->Allows(Access::kWrite, edit_shared));
  proto.clear_permissions();
  EXPECT_FALSE(MustCompile(proto)->Allows(Access::kWriteTouchpoints, edit_shared));
  EXPECT_THAT(partner->Explain(Access::kWriteTouchpoints, read_shared),
              ElementsAre("shared with partner:p (read), which does not allow changes",
                          "no rule grants access", "touchpoint write denied"));
}

TEST(ScopeRowsTest, CheckRowSaysNotFoundOrPermissionDenied) {
  std::shared_ptr<const Scope> rep = RepScope();
  const absl::Status missing = absl::NotFoundError("customer c-1 not found");
  EXPECT_THAT(rep->CheckRow(Access::kWrite, Customer("u-99", "上海", 1), missing),
              StatusIs(absl::StatusCode::kNotFound, "customer c-1 not found"));
  const CustomerAttributes read_shared = Customer("u-99", "上海", 1, {{"team:east", false}});
  EXPECT_THAT(rep->CheckRow(Access::kRead, read_shared, missing), touchline::testing::IsOk());
  const absl::Status denied = rep->CheckRow(Access::kWrite, read_shared, missing);
  EXPECT_THAT(denied, StatusIs(absl::StatusCode::kPermissionDenied,
                               "you may see customer c-1 but not change it"));
  EXPECT_EQ(status::ErrorReasonOf(denied), "CUSTOMER_NOT_WRITABLE");
  EXPECT_THAT(rep->CheckRow(Access::kWriteTouchpoints, read_shared, missing),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "you may see customer c-1 but not record or change its touchpoints"));
  EXPECT_THAT(rep->CheckRow(Access::kWrite, Customer("u-rep", "", 1), missing),
              touchline::testing::IsOk());
}

TEST(ScopeRowsTest, WriteNeedsThePermission) {
  pv1::EffectiveScope proto = RepScope()->proto();
  proto.clear_permissions();
  std::shared_ptr<const Scope> scope = MustCompile(proto);
  EXPECT_TRUE(scope->Allows(Access::kRead, Customer("u-rep", "", 1)));
  EXPECT_FALSE(scope->Allows(Access::kWrite, Customer("u-rep", "", 1)));
}

TEST(ScopeRowsTest, ExplainSaysWhyInPlainWords) {
  std::shared_ptr<const Scope> rep = RepScope();
  EXPECT_THAT(rep->Explain(Access::kRead, Customer("u-17", "北京", kVipLevel)),
              ElementsAre("customer is VIP and role rep has rank 10 < 30: only its owner and "
                          "those the owner reports to see it",
                          "owner u-17 is the user or reports to them",
                          "region 北京 is in the user's territories", "read allowed"));
  EXPECT_THAT(rep->Explain(Access::kRead, Customer("u-99", "北京", kVipLevel)),
              ElementsAre("customer is VIP and role rep has rank 10 < 30: only its owner and "
                          "those the owner reports to see it",
                          "owner u-99 is neither the user nor reports to them",
                          "region 北京 is in the user's territories", "read denied"));
  EXPECT_THAT(rep->Explain(Access::kWrite,
                           Customer("u-99", "上海", 1, {{"team:east", false}, {"team:x", true}})),
              ElementsAre("owner u-99 is neither the user nor reports to them",
                          "region 上海 is not in the user's territories",
                          "shared with team:east (read), which does not allow changes",
                          "no rule grants access", "write denied"));
  EXPECT_THAT(rep->Explain(Access::kRead, Customer("u-99", "上海", 1, {{"team:east", false}})),
              ElementsAre("owner u-99 is neither the user nor reports to them",
                          "region 上海 is not in the user's territories",
                          "shared with team:east (read)", "read allowed"));
  pv1::EffectiveScope admin = BaseScope();
  admin.set_role_id("admin");
  admin.set_rank(40);
  admin.set_all_customers(true);
  admin.set_vip_visible(true);
  EXPECT_THAT(MustCompile(admin)->Explain(Access::kWrite, Customer("u-1", "", kVipLevel)),
              ElementsAre("role admin does not have PERMISSION_CUSTOMERS_WRITE",
                          "customer is VIP and role admin has rank 40, which may see VIP customers",
                          "role has data scope TENANT", "write denied"));
}

// Every combination of scope and customer attributes: Explain's decision is Allows'.
TEST(ScopeRowsTest, ExplainDecidesAsAllowsOnAGrid) {
  int allowed = 0;
  int denied = 0;
  for (int mask = 0; mask < 128; ++mask) {
    pv1::EffectiveScope proto = BaseScope();
    proto.set_all_customers(mask & 1);
    if (mask & 2) proto.add_owner_ids("u-1");
    if (mask & 4) proto.add_regions("华北");
    if (mask & 8) proto.add_grantees("team:a");
    proto.set_vip_visible(mask & 16);
    if (mask & 32) proto.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
    if (mask & 64) proto.add_permissions(pv1::PERMISSION_TOUCHPOINTS_WRITE);
    std::shared_ptr<const Scope> scope = MustCompile(proto);
    ASSERT_NE(scope, nullptr);
    for (const char* owner : {"u-1", "u-2", ""}) {
      for (const char* region : {"华北", "华南", ""}) {
        for (int level : {0, 1, kVipLevel}) {
          for (int share = 0; share < 4; ++share) {
            std::vector<CustomerAttributes::Share> shares;
            if (share == 1) shares.push_back({"team:a", false});
            if (share == 2) shares.push_back({"team:a", true});
            if (share == 3) shares.push_back({"partner:b", true});
            const CustomerAttributes customer = Customer(owner, region, level, shares);
            for (Access access : {Access::kRead, Access::kWrite, Access::kWriteTouchpoints}) {
              const bool allows = scope->Allows(access, customer);
              const std::string verb = access == Access::kRead    ? "read"
                                       : access == Access::kWrite ? "write"
                                                                  : "touchpoint write";
              EXPECT_EQ(scope->Explain(access, customer).back(),
                        verb + (allows ? " allowed" : " denied"))
                  << "scope " << mask << " owner " << owner << " region " << region << " level "
                  << level << " share " << share;
              (allows ? allowed : denied) += 1;
            }
          }
        }
      }
    }
  }
  // The grid exercises both answers plenty.
  EXPECT_GT(allowed, 1000);
  EXPECT_GT(denied, 1000);
}

TEST(ScopeSqlTest, AllCustomersIsTrueWithoutParams) {
  pv1::EffectiveScope proto = BaseScope();
  proto.set_all_customers(true);
  proto.set_vip_visible(true);
  proto.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
  SqlCondition condition = MustCompile(proto)->SqlVisibility(Access::kWrite, "c", "shares", 3);
  EXPECT_EQ(condition.sql, "TRUE");
  EXPECT_THAT(condition.params, IsEmpty());
}

TEST(ScopeSqlTest, BindsBranchesFromFirstParam) {
  SqlCondition condition =
      RepScope()->SqlVisibility(Access::kWrite, "c", "perm.customer_shares", 4);
  // The owner's line whatever the level; territories and shares only below VIP.
  EXPECT_EQ(condition.sql,
            "(c.owner_id = ANY($4::text[]) OR (c.level IS DISTINCT FROM 3 AND "
            "(c.region = ANY($5::text[]) OR EXISTS (SELECT 1 FROM perm.customer_shares "
            "scope_share WHERE scope_share.tenant_id = c.tenant_id AND scope_share.customer_id = "
            "c.customer_id AND scope_share.grantee = ANY($6::text[]) AND scope_share.edit))))");
  EXPECT_THAT(condition.params,
              ElementsAre(R"({"u-rep","u-17"})", R"({"北京"})", R"({"team:east"})"));
}

TEST(ScopeSqlTest, NothingGrantedIsFalse) {
  SqlCondition condition = MustCompile(BaseScope())->SqlVisibility(Access::kRead, "c", "s", 1);
  EXPECT_EQ(condition.sql, "FALSE");
  EXPECT_THAT(condition.params, IsEmpty());
  pv1::EffectiveScope read_only = RepScope()->proto();
  read_only.clear_permissions();
  condition = MustCompile(read_only)->SqlVisibility(Access::kWrite, "c", "s", 1);
  EXPECT_EQ(condition.sql, "FALSE");
}

TEST(ScopeSqlTest, AttributeVisibilityLeavesOutShares) {
  const Scope::AttributeVisibility rep = RepScope()->SqlAttributeVisibility(Access::kRead, "a", 2);
  EXPECT_EQ(rep.territory.sql, "(a.level IS DISTINCT FROM 3 AND (a.region = ANY($2::text[])))");
  EXPECT_THAT(rep.territory.params, ElementsAre(R"({"北京"})"));
  // Numbered after the territory's.
  EXPECT_EQ(rep.owners.sql, "a.owner_id = ANY($3::text[])");
  EXPECT_THAT(rep.owners.params, ElementsAre(R"({"u-rep","u-17"})"));
  EXPECT_TRUE(rep.through_shares);
  // SqlVisibility itself still has the share branch.
  EXPECT_THAT(RepScope()->SqlVisibility(Access::kRead, "a", "s", 2).sql,
              ::testing::HasSubstr("scope_share.grantee"));
}

TEST(ScopeSqlTest, AttributeVisibilityOfAPartnerIsFalseWithShares) {
  pv1::EffectiveScope proto = BaseScope();
  proto.add_grantees("partner:p-1");
  const Scope::AttributeVisibility partner =
      MustCompile(proto)->SqlAttributeVisibility(Access::kRead, "a", 1);
  EXPECT_EQ(partner.territory.sql, "FALSE");
  EXPECT_THAT(partner.territory.params, IsEmpty());
  EXPECT_EQ(partner.owners.sql, "FALSE");
  EXPECT_TRUE(partner.through_shares);
  // A write through shares needs the write's permission.
  EXPECT_FALSE(MustCompile(proto)->SqlAttributeVisibility(Access::kWrite, "a", 1).through_shares);
}

TEST(ScopeSqlTest, AttributeVisibilityOfTenantScopes) {
  pv1::EffectiveScope proto = BaseScope();
  proto.set_all_customers(true);
  proto.add_grantees("team:east");  // adds nothing to a tenant scope
  proto.set_vip_visible(true);
  Scope::AttributeVisibility all =
      MustCompile(proto)->SqlAttributeVisibility(Access::kRead, "a", 1);
  EXPECT_EQ(all.territory.sql, "TRUE");
  EXPECT_EQ(all.owners.sql, "FALSE");  // nothing to add to everyone
  EXPECT_FALSE(all.through_shares);
  proto.set_vip_visible(false);
  proto.add_owner_ids("u-rep");
  Scope::AttributeVisibility vip_blind =
      MustCompile(proto)->SqlAttributeVisibility(Access::kRead, "a", 1);
  EXPECT_EQ(vip_blind.territory.sql, "a.level IS DISTINCT FROM 3");
  EXPECT_THAT(vip_blind.territory.params, IsEmpty());
  EXPECT_EQ(vip_blind.owners.sql, "a.owner_id = ANY($1::text[])");
  EXPECT_FALSE(vip_blind.through_shares);
}

// Over every combination of grants: the territory never reads the owner and the owners never
// the region or level, neither looks at shares, the owner branch is there exactly when owners
// are granted (and not everyone), and through_shares is set exactly when some customer is
// visible through a share and not through its attributes.
TEST(ScopeSqlTest, AttributeVisibilityCoversWhatSharesDoNot) {
  for (int mask = 0; mask < 32; ++mask) {
    pv1::EffectiveScope proto = BaseScope();
    if (mask & 1) proto.add_owner_ids("u-1");
    if (mask & 2) proto.add_regions("华北");
    if (mask & 4) proto.add_grantees("team:a");
    if (mask & 8) proto.set_all_customers(true);
    if (mask & 16) proto.set_vip_visible(true);
    const std::shared_ptr<const Scope> scope = MustCompile(proto);
    const Scope::AttributeVisibility visibility =
        scope->SqlAttributeVisibility(Access::kRead, "a", 1);
    const std::string& territory = visibility.territory.sql;
    const std::string& owners = visibility.owners.sql;
    for (const std::string& sql : {territory, owners}) {
      EXPECT_THAT(sql, ::testing::Not(::testing::HasSubstr("share"))) << mask;
    }
    EXPECT_THAT(territory, ::testing::Not(::testing::HasSubstr("owner_id"))) << mask;
    EXPECT_THAT(owners, ::testing::Not(::testing::HasSubstr("region"))) << mask;
    EXPECT_THAT(owners, ::testing::Not(::testing::HasSubstr("level"))) << mask;
    EXPECT_EQ(owners != "FALSE", (mask & 1) != 0 && (mask & 24) != 24) << mask;
    bool only_shared = false;
    for (const char* owner : {"u-1", "u-2"}) {
      for (const char* region : {"华北", "华南"}) {
        for (int level : {1, kVipLevel}) {
          only_shared |=
              scope->Allows(Access::kRead, Customer(owner, region, level, {{"team:a", false}})) &&
              !scope->Allows(Access::kRead, Customer(owner, region, level));
        }
      }
    }
    EXPECT_EQ(visibility.through_shares, only_shared) << mask;
  }
}

// ---- Fields ----

cv1::Customer SampleCustomer() {
  cv1::Customer customer;
  customer.set_customer_id("c-1");
  customer.set_display_name("深圳市腾飞科技有限公司");
  customer.set_industry("制造业");
  customer.set_region("华南");
  customer.set_level(cv1::CUSTOMER_LEVEL_KEY);
  customer.set_owner_id("u-rep");
  customer.add_tags("展会线索");
  (*customer.mutable_custom_fields())["budget_note"].set_string_value("年预算约50万");
  (*customer.mutable_custom_fields())["seats"].set_int_value(120);
  cv1::ContactPerson* person = customer.add_contact_persons();
  person->set_person_id("p-1");
  person->mutable_name()->set_family_name("王");
  person->mutable_name()->set_given_name("小明");
  person->mutable_name()->set_formatted_name("王小明");
  person->add_titles("采购经理");
  person->set_department("采购部");
  type::v1::PhoneNumber* phone = person->add_phones();
  phone->set_number("+8613812341234");
  phone->set_kind(type::v1::CONTACT_POINT_KIND_MOBILE);
  phone->set_primary(true);
  person->add_phones()->set_number("+861012345678");
  type::v1::EmailAddress* email = person->add_emails();
  email->set_address("wang.xm@example.com");
  email->set_kind(type::v1::CONTACT_POINT_KIND_WORK);
  person->add_messaging_accounts()->set_account_id("wm-abc");
  person->mutable_messaging_accounts(0)->set_service(type::v1::MESSAGING_SERVICE_WECOM);
  person->set_note("喜欢周五下午拜访");
  cv1::ContactPerson* second = customer.add_contact_persons();
  second->set_person_id("p-2");
  second->mutable_name()->set_formatted_name("Li Lei");
  second->add_phones()->set_number("+8613900001111");
  type::v1::PostalAddress* address = customer.add_addresses();
  address->set_locality("深圳市");
  address->add_address_lines("南山区科技园1号");
  address->set_kind(type::v1::CONTACT_POINT_KIND_WORK);
  customer.set_etag("7");
  return customer;
}

TEST(ScopeRedactTest, WithoutRulesChangesNothingAndReportsSensitiveFieldsWithValues) {
  std::shared_ptr<const Scope> scope = WithRules({});
  cv1::Customer customer = SampleCustomer();
  EXPECT_THAT(scope->Redact(kCustomerResource, customer),
              ElementsAre("addresses", "contact_persons.emails",
                          "contact_persons.messaging_accounts", "contact_persons.phones"));
  EXPECT_TRUE(MessageDifferencer::Equals(customer, SampleCustomer()));
  EXPECT_FALSE(scope->HasFieldRules(kCustomerResource));
}

TEST(ScopeRedactTest, MasksPhonesAndEmailsKeepingKindsAndFlags) {
  std::shared_ptr<const Scope> scope = WithRules({
      Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_MASKED),
      Rule(kCustomerResource, "contact_persons.emails", pv1::FIELD_ACCESS_MASKED),
  });
  cv1::Customer customer = SampleCustomer();
  EXPECT_THAT(scope->Redact(kCustomerResource, customer),
              ElementsAre("addresses", "contact_persons.messaging_accounts"));
  cv1::Customer expected = SampleCustomer();
  expected.mutable_contact_persons(0)->mutable_phones(0)->set_number("+86138****1234");
  expected.mutable_contact_persons(0)->mutable_phones(1)->set_number("+8610****5678");
  expected.mutable_contact_persons(0)->mutable_emails(0)->set_address("w***@example.com");
  expected.mutable_contact_persons(1)->mutable_phones(0)->set_number("+86139****1111");
  EXPECT_TRUE(MessageDifferencer::Equals(customer, expected)) << customer.DebugString();
  EXPECT_TRUE(scope->HasFieldRules(kCustomerResource));
  EXPECT_FALSE(scope->HasFieldRules(kTouchpointResource));
}

TEST(ScopeRedactTest, HiddenFieldsAreClearedEverywhere) {
  std::shared_ptr<const Scope> scope = WithRules({
      Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_HIDDEN),
      Rule(kCustomerResource, "industry", pv1::FIELD_ACCESS_HIDDEN),
      Rule(kCustomerResource, "addresses", pv1::FIELD_ACCESS_HIDDEN),
  });
  cv1::Customer customer = SampleCustomer();
  EXPECT_THAT(scope->Redact(kCustomerResource, customer),
              ElementsAre("contact_persons.emails", "contact_persons.messaging_accounts"));
  cv1::Customer expected = SampleCustomer();
  expected.mutable_contact_persons(0)->clear_phones();
  expected.mutable_contact_persons(1)->clear_phones();
  expected.clear_industry();
  expected.clear_addresses();
  EXPECT_TRUE(MessageDifferencer::Equals(customer, expected)) << customer.DebugString();
}

TEST(ScopeRedactTest, AMaskedMessageMasksEveryStringInsideButRulesBelowIt) {
  std::shared_ptr<const Scope> scope = WithRules({
      Rule(kCustomerResource, "contact_persons", pv1::FIELD_ACCESS_MASKED),
      Rule(kCustomerResource, "contact_persons.department", pv1::FIELD_ACCESS_READ_ONLY),
      Rule(kCustomerResource, "contact_persons.note", pv1::FIELD_ACCESS_HIDDEN),
      Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_MASKED,
           pv1::MASK_PATTERN_PHONE),
  });
  cv1::Customer customer = SampleCustomer();
  EXPECT_THAT(scope->Redact(kCustomerResource, customer),
              ElementsAre("addresses", "contact_persons.department"));
  const cv1::ContactPerson& person = customer.contact_persons(0);
  EXPECT_EQ(person.person_id(), "p**");
  EXPECT_EQ(person.name().family_name(), "王");
  EXPECT_EQ(person.name().given_name(), "小*");
  EXPECT_EQ(person.name().formatted_name(), "王**");
  EXPECT_EQ(person.titles(0), "采***");
  EXPECT_EQ(person.department(), "采购部");
  EXPECT_EQ(person.note(), "");
  EXPECT_EQ(person.phones(0).number(), "+86138****1234");
  EXPECT_EQ(person.phones(0).kind(), type::v1::CONTACT_POINT_KIND_MOBILE);
  EXPECT_TRUE(person.phones(0).primary());
  EXPECT_EQ(person.emails(0).address(), "w******************");
  EXPECT_EQ(person.emails(0).kind(), type::v1::CONTACT_POINT_KIND_WORK);
  EXPECT_EQ(person.messaging_accounts(0).account_id(), "w*****");
  EXPECT_EQ(person.messaging_accounts(0).service(), type::v1::MESSAGING_SERVICE_WECOM);
  EXPECT_EQ(customer.contact_persons(1).name().formatted_name(), "L*****");
  EXPECT_EQ(customer.display_name(), "深圳市腾飞科技有限公司");
}

TEST(ScopeRedactTest, AMaskedMapMasksValuesAndKeepsKeys) {
  std::shared_ptr<const Scope> scope = WithRules({
      Rule(kCustomerResource, "custom_fields", pv1::FIELD_ACCESS_MASKED),
      Rule(kCustomerResource, "tags", pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_FULL),
  });
  cv1::Customer customer = SampleCustomer();
  scope->Redact(kCustomerResource, customer);
  ASSERT_EQ(customer.custom_fields().size(), 2u);
  EXPECT_EQ(customer.custom_fields().at("budget_note").string_value(), "年******");
  EXPECT_EQ(customer.custom_fields().at("seats").int_value(), 120);
  EXPECT_EQ(customer.custom_fields().at("seats").kind_case(), type::v1::CustomValue::kIntValue);
  EXPECT_THAT(customer.tags(), ElementsAre("****"));
}

TEST(ScopeRedactTest, ReadOnlyRulesAreSensitiveAndEmptyFieldsAreNotReported) {
  std::shared_ptr<const Scope> scope = WithRules({
      Rule(kCustomerResource, "industry", pv1::FIELD_ACCESS_READ_ONLY),
      Rule(kCustomerResource, "lifecycle_status", pv1::FIELD_ACCESS_READ_ONLY),
  });
  cv1::Customer customer = SampleCustomer();
  customer.clear_addresses();
  customer.mutable_contact_persons(0)->clear_messaging_accounts();
  EXPECT_THAT(scope->Redact(kCustomerResource, customer),
              ElementsAre("contact_persons.emails", "contact_persons.phones", "industry"));
  EXPECT_EQ(customer.industry(), "制造业");
}

TEST(ScopeRedactTest, TouchpointFields) {
  std::shared_ptr<const Scope> scope = WithRules({
      Rule(kTouchpointResource, "content", pv1::FIELD_ACCESS_HIDDEN),
      Rule(kTouchpointResource, "needs", pv1::FIELD_ACCESS_MASKED),
      Rule(kTouchpointResource, "participants", pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_FULL),
  });
  tv1::Touchpoint touchpoint;
  touchpoint.set_touchpoint_id("t-1");
  touchpoint.set_content("客户说预算不够");
  touchpoint.set_summary("电话回访");
  touchpoint.add_needs("降价");
  touchpoint.add_needs("快速交付");
  touchpoint.add_participants()->set_user_id("u-1");
  touchpoint.mutable_participants(0)->set_role("主讲");
  touchpoint.mutable_participants(0)->set_kind(tv1::PARTICIPANT_KIND_EMPLOYEE);
  EXPECT_THAT(scope->Redact(kTouchpointResource, touchpoint), IsEmpty());
  EXPECT_EQ(touchpoint.content(), "");
  EXPECT_EQ(touchpoint.summary(), "电话回访");
  EXPECT_THAT(touchpoint.needs(), ElementsAre("降*", "快***"));
  EXPECT_EQ(touchpoint.participants(0).user_id(), "***");
  EXPECT_EQ(touchpoint.participants(0).role(), "**");
  EXPECT_EQ(touchpoint.participants(0).kind(), tv1::PARTICIPANT_KIND_EMPLOYEE);
  EXPECT_EQ(touchpoint.touchpoint_id(), "t-1");
}

TEST(ScopeRedactTest, AMessageOfAnotherTypeIsClearedRatherThanShown) {
  std::shared_ptr<const Scope> scope = WithRules({});
  cv1::Customer customer = SampleCustomer();
  EXPECT_THAT(scope->Redact(kTouchpointResource, customer), IsEmpty());
  EXPECT_EQ(customer.ByteSizeLong(), 0u);
  customer = SampleCustomer();
  EXPECT_THAT(scope->Redact("order", customer), IsEmpty());
  EXPECT_EQ(customer.ByteSizeLong(), 0u);
}

TEST(ScopeFieldsTest, FieldAccessIsTheNearestRule) {
  std::shared_ptr<const Scope> scope = WithRules({
      Rule(kCustomerResource, "contact_persons", pv1::FIELD_ACCESS_READ_ONLY),
      Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_MASKED),
      Rule(kTouchpointResource, "content", pv1::FIELD_ACCESS_HIDDEN),
  });
  EXPECT_EQ(scope->FieldAccessOf(kCustomerResource, "contact_persons.phones.number"),
            pv1::FIELD_ACCESS_MASKED);
  EXPECT_EQ(scope->FieldAccessOf(kCustomerResource, "contact_persons.phones"),
            pv1::FIELD_ACCESS_MASKED);
  EXPECT_EQ(scope->FieldAccessOf(kCustomerResource, "contact_persons.emails"),
            pv1::FIELD_ACCESS_READ_ONLY);
  EXPECT_EQ(scope->FieldAccessOf(kCustomerResource, "contact_persons"),
            pv1::FIELD_ACCESS_READ_ONLY);
  EXPECT_EQ(scope->FieldAccessOf(kCustomerResource, "display_name"), pv1::FIELD_ACCESS_EDITABLE);
  EXPECT_EQ(scope->FieldAccessOf(kCustomerResource, "content"), pv1::FIELD_ACCESS_EDITABLE);
  EXPECT_EQ(scope->FieldAccessOf(kTouchpointResource, "content"), pv1::FIELD_ACCESS_HIDDEN);
}

TEST(ScopeFieldsTest, CheckWritableNamesTheRestrictedField) {
  std::shared_ptr<const Scope> scope = WithRules({
      Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_READ_ONLY),
      Rule(kCustomerResource, "industry", pv1::FIELD_ACCESS_HIDDEN),
      Rule(kCustomerResource, "region", pv1::FIELD_ACCESS_EDITABLE),
  });
  TL_EXPECT_OK(scope->CheckWritable(kCustomerResource, {"display_name", "region", "tags"}));
  TL_EXPECT_OK(scope->CheckWritable(kCustomerResource, {"contact_persons.emails"}));
  TL_EXPECT_OK(scope->CheckWritable(kTouchpointResource, {"industry"}));
  absl::Status status = scope->CheckWritable(kCustomerResource, {"tags", "contact_persons"});
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied,
                               "field contact_persons.phones is read-only for role rep"));
  EXPECT_EQ(status::ErrorReasonOf(status), "FIELD_NOT_WRITABLE");
  EXPECT_THAT(scope->CheckWritable(kCustomerResource, {"contact_persons.phones.number"}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "field contact_persons.phones is read-only for role rep"));
  EXPECT_THAT(scope->CheckWritable(kCustomerResource, {"contact_persons.phones"}),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(
      scope->CheckWritable(kCustomerResource, {"industry"}),
      StatusIs(absl::StatusCode::kPermissionDenied, "field industry is hidden for role rep"));
  // A path that merely shares a prefix is another field.
  TL_EXPECT_OK(scope->CheckWritable(kCustomerResource, {"industry_code", "contact_persons.ph"}));
}

TEST(ScopeFieldProfileTest, EqualFieldRulesGiveEqualProfilesWhateverElseDiffers) {
  std::shared_ptr<const Scope> none = WithRules({});
  EXPECT_THAT(none->FieldProfile(), ::testing::MatchesRegex("[0-9a-f]{32}"));
  // Rows, role, rank and permissions are not part of it; neither is the order of the rules.
  pv1::EffectiveScope other = BaseScope();
  other.set_user_id("u-manager");
  other.set_role_id("manager");
  other.set_rank(40);
  other.set_all_customers(true);
  other.set_vip_visible(true);
  other.add_regions("北京");
  other.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
  *other.add_field_rules() = Rule(kTouchpointResource, "content", pv1::FIELD_ACCESS_HIDDEN);
  *other.add_field_rules() = Rule(kCustomerResource, "contact_persons.phones",
                                  pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_PHONE);
  std::shared_ptr<const Scope> rules =
      WithRules({Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_MASKED,
                      pv1::MASK_PATTERN_PHONE),
                 Rule(kTouchpointResource, "content", pv1::FIELD_ACCESS_HIDDEN)});
  EXPECT_EQ(MustCompile(other)->FieldProfile(), rules->FieldProfile());
  EXPECT_EQ(WithRules({})->FieldProfile(), none->FieldProfile());
  // The mask a MASKED rule leaves unspecified is resolved first: PHONE for phones.
  EXPECT_EQ(WithRules({Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_MASKED),
                       Rule(kTouchpointResource, "content", pv1::FIELD_ACCESS_HIDDEN)})
                ->FieldProfile(),
            rules->FieldProfile());
}

TEST(ScopeFieldProfileTest, AnyDifferenceInTheFieldRulesGivesAnotherProfile) {
  const std::vector<std::vector<pv1::FieldRule>> variants = {
      {},
      {Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_MASKED,
            pv1::MASK_PATTERN_PHONE)},
      // The same path with another mask, another access, on the other resource.
      {Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_MASKED,
            pv1::MASK_PATTERN_PARTIAL)},
      {Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_HIDDEN)},
      {Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_READ_ONLY)},
      // An EDITABLE rule changes no value but makes the field audited.
      {Rule(kCustomerResource, "display_name", pv1::FIELD_ACCESS_EDITABLE)},
      {Rule(kCustomerResource, "industry", pv1::FIELD_ACCESS_HIDDEN)},
      {Rule(kTouchpointResource, "subject", pv1::FIELD_ACCESS_HIDDEN)},
      {Rule(kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_MASKED,
            pv1::MASK_PATTERN_PHONE),
       Rule(kCustomerResource, "contact_persons.emails", pv1::FIELD_ACCESS_MASKED,
            pv1::MASK_PATTERN_EMAIL)},
  };
  std::set<std::string> profiles;
  for (const std::vector<pv1::FieldRule>& rules : variants) {
    profiles.insert(WithRules(rules)->FieldProfile());
  }
  EXPECT_EQ(profiles.size(), variants.size());
}

}  // namespace
}  // namespace touchline::auth
