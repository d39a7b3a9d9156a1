#include "common/auth/testing/trusted_authenticator.h"

#include <memory>
#include <string>

#include "common/auth/scope.h"
#include "common/auth/testing/test_metadata.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::auth::testing {
namespace {

namespace pv1 = ::touchline::permissions::v1;
using ::touchline::testing::StatusIs;

TEST(TrustedAuthenticatorTest, AttachesAnAdminScopeByDefault) {
  TrustedAuthenticator authenticator;
  TestMetadata metadata({{"x-touchline-tenant", "acme"}, {"x-touchline-caller", "u-1"}});
  TL_ASSERT_OK_AND_ASSIGN(RequestContext context, authenticator.Authenticate(metadata.map()));
  EXPECT_EQ(context.tenant_id, "acme");
  EXPECT_EQ(context.caller_id, "u-1");
  ASSERT_NE(context.scope, nullptr);
  EXPECT_EQ(context.scope->tenant_id(), "acme");
  EXPECT_EQ(context.scope->user_id(), "u-1");
  EXPECT_EQ(context.scope->proto().session_id(), kTestSessionId);
  EXPECT_EQ(context.scope->proto().rank(), 40);
  for (pv1::Permission permission :
       {pv1::PERMISSION_CUSTOMERS_WRITE, pv1::PERMISSION_CUSTOMERS_MERGE,
        pv1::PERMISSION_TOUCHPOINTS_WRITE, pv1::PERMISSION_ADMINISTER,
        pv1::PERMISSION_AUDIT_READ}) {
    EXPECT_TRUE(context.scope->Has(permission)) << permission;
  }
  EXPECT_TRUE(context.scope->Allows(Access::kWrite, CustomerAttributes{.customer_id = "c",
                                                                       .owner_id = "someone",
                                                                       .region = "",
                                                                       .level = kVipLevel,
                                                                       .shares = {}}));
  EXPECT_FALSE(context.scope->HasFieldRules(kCustomerResource));
}

TEST(TrustedAuthenticatorTest, UsesTheScopeSetForTheCaller) {
  TrustedAuthenticator authenticator;
  pv1::EffectiveScope rep;
  rep.set_tenant_id("ignored");
  rep.set_role_id("rep");
  rep.add_owner_ids("u-rep");
  pv1::FieldRule* rule = rep.add_field_rules();
  rule->set_resource(kCustomerResource);
  rule->set_field_path("contact_persons.phones");
  rule->set_access(pv1::FIELD_ACCESS_MASKED);
  authenticator.SetScope("u-rep", rep);
  TestMetadata metadata({{"x-touchline-tenant", "acme"}, {"x-touchline-caller", "u-rep"}});
  TL_ASSERT_OK_AND_ASSIGN(RequestContext context, authenticator.Authenticate(metadata.map()));
  ASSERT_NE(context.scope, nullptr);
  EXPECT_EQ(context.scope->tenant_id(), "acme");
  EXPECT_EQ(context.scope->user_id(), "u-rep");
  EXPECT_FALSE(context.scope->Has(pv1::PERMISSION_CUSTOMERS_WRITE));
  EXPECT_TRUE(context.scope->HasFieldRules(kCustomerResource));
  EXPECT_EQ(context.scope->proto().field_rules(0).mask(), pv1::MASK_PATTERN_PHONE);

  // Other callers stay administrators.
  TestMetadata other({{"x-touchline-tenant", "acme"}, {"x-touchline-caller", "u-2"}});
  TL_ASSERT_OK_AND_ASSIGN(RequestContext admin, authenticator.Authenticate(other.map()));
  EXPECT_TRUE(admin.scope->Has(pv1::PERMISSION_ADMINISTER));
}

TEST(TrustedAuthenticatorTest, RefusesWhatMetadataAuthenticatorRefuses) {
  TrustedAuthenticator authenticator;
  TestMetadata metadata({{"x-touchline-caller", "u-1"}});
  EXPECT_THAT(authenticator.Authenticate(metadata.map()),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(TrustedAuthenticatorTest, AScopeThatDoesNotCompileIsInvalidArgument) {
  TrustedAuthenticator authenticator;
  pv1::EffectiveScope bad;
  pv1::FieldRule* rule = bad.add_field_rules();
  rule->set_resource(kCustomerResource);
  rule->set_field_path("etag");
  rule->set_access(pv1::FIELD_ACCESS_HIDDEN);
  authenticator.SetScope("u-1", bad);
  TestMetadata metadata({{"x-touchline-tenant", "acme"}, {"x-touchline-caller", "u-1"}});
  EXPECT_THAT(authenticator.Authenticate(metadata.map()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::auth::testing
