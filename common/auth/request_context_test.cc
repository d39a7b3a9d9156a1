#include "common/auth/request_context.h"

#include <string>
#include <utility>
#include <vector>

#include "common/auth/testing/test_metadata.h"
#include "common/ids/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::auth {
namespace {

using ::touchline::testing::StatusIs;

using Metadata = ::touchline::auth::testing::TestMetadata;

absl::StatusOr<RequestContext> Authenticate(const Metadata& metadata) {
  return MetadataAuthenticator().Authenticate(metadata.map());
}

TEST(MetadataAuthenticatorTest, TakesTenantCallerAndRequestId) {
  TL_ASSERT_OK_AND_ASSIGN(RequestContext context,
                          Authenticate({{"x-touchline-tenant", "acme-cn_01"},
                                        {"x-touchline-caller", "user:42"},
                                        {"x-request-id", "req-abc"}}));
  EXPECT_EQ(context.tenant_id, "acme-cn_01");
  EXPECT_EQ(context.caller_id, "user:42");
  EXPECT_EQ(context.request_id, "req-abc");
}

TEST(MetadataAuthenticatorTest, CallerIsOptionalAndRequestIdIsGenerated) {
  TL_ASSERT_OK_AND_ASSIGN(RequestContext context, Authenticate({{"x-touchline-tenant", "acme"}}));
  EXPECT_EQ(context.caller_id, "");
  EXPECT_TRUE(ids::IsUuid(context.request_id)) << context.request_id;
}

TEST(MetadataAuthenticatorTest, MissingTenantIsUnauthenticated) {
  EXPECT_THAT(Authenticate({{"x-touchline-caller", "user:42"}}),
              StatusIs(absl::StatusCode::kUnauthenticated, "missing x-touchline-tenant metadata"));
}

TEST(MetadataAuthenticatorTest, EmptyTenantIsUnauthenticated) {
  EXPECT_THAT(Authenticate({{"x-touchline-tenant", ""}}),
              StatusIs(absl::StatusCode::kUnauthenticated, "missing x-touchline-tenant metadata"));
}

TEST(MetadataAuthenticatorTest, MalformedTenantIsUnauthenticated) {
  for (const char* tenant : {"Acme", "-acme", "_acme", "acme corp", "acme/1", "租户",
                             "a123456789012345678901234567890123456789012345678901234567890123"}) {
    EXPECT_THAT(Authenticate({{"x-touchline-tenant", tenant}}),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << tenant;
  }
}

TEST(MetadataAuthenticatorTest, RepeatedTenantIsUnauthenticated) {
  EXPECT_THAT(Authenticate({{"x-touchline-tenant", "acme"}, {"x-touchline-tenant", "globex"}}),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(MetadataAuthenticatorTest, BadCallerIsUnauthenticated) {
  EXPECT_THAT(Authenticate({{"x-touchline-tenant", "acme"}, {"x-touchline-caller", "a\tb"}}),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(
      Authenticate({{"x-touchline-tenant", "acme"}, {"x-touchline-caller", std::string(129, 'c')}}),
      StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(
      Authenticate({{"x-touchline-tenant", "acme"}, {"x-touchline-caller", std::string(128, 'c')}}),
      ::touchline::testing::IsOk());
}

TEST(RequestIdOfTest, ReplacesInsaneRequestIds) {
  for (const std::string& bad : {std::string(""), std::string(129, 'r'), std::string("a\nb")}) {
    Metadata metadata({{"x-request-id", bad}});
    EXPECT_TRUE(ids::IsUuid(RequestIdOf(metadata.map()))) << bad;
  }
  Metadata metadata({{"x-request-id", std::string(128, 'r')}});
  EXPECT_EQ(RequestIdOf(metadata.map()), std::string(128, 'r'));
}

TEST(IsValidTenantIdTest, AcceptsBoundaryLengths) {
  EXPECT_TRUE(IsValidTenantId("a"));
  EXPECT_TRUE(IsValidTenantId("0"));
  EXPECT_TRUE(IsValidTenantId(std::string(63, 'a')));
  EXPECT_FALSE(IsValidTenantId(std::string(64, 'a')));
  EXPECT_FALSE(IsValidTenantId(""));
}

TEST(IsValidMetadataValueTest, AcceptsExactlyPrintableAscii) {
  EXPECT_TRUE(IsValidMetadataValue(""));
  EXPECT_TRUE(IsValidMetadataValue(" Bearer a.b-c_d~!\"#~"));
  for (int byte = 0; byte < 256; ++byte) {
    EXPECT_EQ(IsValidMetadataValue(std::string(1, static_cast<char>(byte))),
              byte >= 0x20 && byte <= 0x7e)
        << byte;
  }
  EXPECT_FALSE(IsValidMetadataValue("\xe5\xbc\xa0"));
}

}  // namespace
}  // namespace touchline::auth
