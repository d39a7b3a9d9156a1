#include "gateway/edge.h"

#include <map>
#include <string>
#include <utility>

#include "common/auth/scope_authenticator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::touchline::testing::StatusIs;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";

// Client metadata viewing `headers`, which must outlive it.
EdgeGuard::Metadata View(const Headers& headers) {
  EdgeGuard::Metadata metadata;
  for (const auto& [name, value] : headers) metadata.emplace(name, value);
  return metadata;
}

auth::RequestContext Caller() {
  return auth::RequestContext{.tenant_id = "acme",
                              .caller_id = "u-1",
                              .request_id = "req-1",
                              .scope = nullptr,
                              .client = ""};
}

class EdgeGuardForwardingTest : public ::testing::Test {
 protected:
  const auth::MetadataAuthenticator authenticator_;
  const EdgeGuard edge_{&authenticator_, nullptr, {}};
};

TEST_F(EdgeGuardForwardingTest, OnlyTheAllowListGoesOn) {
  const Headers received = {{"x-api-key", "tlk_acme_secret"},
                            {"x-touchline-tenant", "acme"},
                            {"x-request-id", "from-the-client"},
                            {"x-touchline-caller", "someone-else"},
                            {"x-touchline-client-address", "10.9.9.9"},
                            {"x-note", "\xe5\xbc\xa0"},
                            {"x-bad!", "v"},
                            {"user-agent", "curl/8"},
                            {"cookie", "a=b"},
                            {"grpc-timeout", "1S"}};
  const absl::StatusOr<Headers> forwarded =
      edge_.ForwardedMetadata(View(received), Caller(), /*credential_free=*/false, "10.0.0.7");
  ASSERT_TRUE(forwarded.ok()) << forwarded.status();
  // The request id is the caller's (RequestIdOf's choice), the tenant the admitted one.
  EXPECT_THAT(*forwarded,
              ElementsAre(Pair("x-touchline-tenant", "acme"), Pair("x-request-id", "req-1"),
                          Pair("x-api-key", "tlk_acme_secret")));
}

TEST_F(EdgeGuardForwardingTest, CredentialFreeCallsCarryNoCredential) {
  const Headers received = {{"authorization", "Bearer \xe9"}, {"x-touchline-tenant", "acme"}};
  const absl::StatusOr<Headers> forwarded =
      edge_.ForwardedMetadata(View(received), Caller(), /*credential_free=*/true, "10.0.0.7");
  ASSERT_TRUE(forwarded.ok()) << forwarded.status();
  EXPECT_THAT(*forwarded,
              ElementsAre(Pair("x-touchline-tenant", "acme"), Pair("x-request-id", "req-1")));
}

TEST_F(EdgeGuardForwardingTest, ACredentialGrpcCannotCarryIsUnauthenticated) {
  for (const std::string& bad : {std::string("Bearer \xe5\xbc\xa0"), std::string("Bearer \x01"),
                                 std::string("Bearer a\x7f")}) {
    const Headers received = {{"authorization", bad}};
    EXPECT_THAT(edge_.ForwardedMetadata(View(received), Caller(), false, "10.0.0.7"),
                StatusIs(absl::StatusCode::kUnauthenticated,
                         "malformed credential: must be printable ASCII"));
  }
}

TEST(EdgeGuardAddressTest, TheClientAddressGoesOnSignedWithASigner) {
  const absl::StatusOr<auth::EdgeAddressSigner> signer = auth::EdgeAddressSigner::Create(kSecret);
  ASSERT_TRUE(signer.ok()) << signer.status();
  const auth::MetadataAuthenticator authenticator;
  const EdgeGuard edge(&authenticator, nullptr, {}, &*signer);
  const absl::StatusOr<Headers> forwarded =
      edge.ForwardedMetadata({}, Caller(), /*credential_free=*/true, "10.0.0.7");
  ASSERT_TRUE(forwarded.ok()) << forwarded.status();
  EXPECT_THAT(signer->Verify(View(*forwarded), absl::Now()),
              ::testing::Optional(std::string("10.0.0.7")));
}

}  // namespace
}  // namespace touchline::gateway
