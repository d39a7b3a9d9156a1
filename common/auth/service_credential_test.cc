#include "common/auth/service_credential.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/auth/edge_address.h"
#include "common/auth/testing/test_metadata.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

using Pairs = std::vector<std::pair<std::string, std::string>>;

ServiceSigner Signer(std::string_view secret = kSecret) {
  absl::StatusOr<ServiceSigner> signer = ServiceSigner::Create(secret);
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

TEST(ServiceSignerTest, VerifiesWhatItSigned) {
  const ServiceSigner signer = Signer();
  const Pairs pairs = signer.Sign("touchpoints", kNow);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>(kServiceHeader, "touchpoints")));
  EXPECT_EQ(pairs[1].first, kServiceSignatureHeader);
  EXPECT_THAT(signer.Verify(testing::TestMetadata(pairs).map(), kNow),
              Optional(std::string("touchpoints")));
  EXPECT_THAT(signer.Verify(testing::TestMetadata(signer.Sign("read_model-2", kNow)).map(), kNow),
              Optional(std::string("read_model-2")));
}

TEST(ServiceSignerTest, ShortSecretsAreRefused) {
  EXPECT_EQ(ServiceSigner::Create(std::string(31, 'k') + "\n").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ServiceSignerTest, AnotherSecretsSignatureIsRefused) {
  const Pairs forged = Signer("another secret of thirty-two bytes!").Sign("permissions", kNow);
  ASSERT_EQ(forged.size(), 2u);
  EXPECT_EQ(Signer().Verify(testing::TestMetadata(forged).map(), kNow), std::nullopt);
}

TEST(ServiceSignerTest, AChangedNameOrTimestampIsRefused) {
  const ServiceSigner signer = Signer();
  const Pairs pairs = signer.Sign("touchpoints", kNow);
  Pairs other_name = pairs;
  other_name[0].second = "permissions";
  EXPECT_EQ(signer.Verify(testing::TestMetadata(other_name).map(), kNow), std::nullopt);
  Pairs other_time = pairs;
  other_time[1].second.replace(0, 10, std::to_string(absl::ToUnixSeconds(kNow) + 1));
  EXPECT_EQ(signer.Verify(testing::TestMetadata(other_time).map(), kNow), std::nullopt);
  Pairs flipped = pairs;
  flipped[1].second.back() = flipped[1].second.back() == '0' ? '1' : '0';
  EXPECT_EQ(signer.Verify(testing::TestMetadata(flipped).map(), kNow), std::nullopt);
  Pairs truncated = pairs;
  truncated[1].second.pop_back();
  EXPECT_EQ(signer.Verify(testing::TestMetadata(truncated).map(), kNow), std::nullopt);
}

TEST(ServiceSignerTest, StaleAndFutureSignaturesAreRefused) {
  const ServiceSigner signer = Signer();
  const Pairs pairs = signer.Sign("touchpoints", kNow);
  const absl::Duration tolerance = ServiceSigner::kDefaultTolerance;
  EXPECT_TRUE(signer.Verify(testing::TestMetadata(pairs).map(), kNow + tolerance).has_value());
  EXPECT_TRUE(signer.Verify(testing::TestMetadata(pairs).map(), kNow - tolerance).has_value());
  EXPECT_EQ(signer.Verify(testing::TestMetadata(pairs).map(), kNow + tolerance + absl::Seconds(1)),
            std::nullopt);
  EXPECT_EQ(signer.Verify(testing::TestMetadata(pairs).map(), kNow - tolerance - absl::Seconds(1)),
            std::nullopt);
}

TEST(ServiceSignerTest, MissingOrRepeatedHeadersAreRefused) {
  const ServiceSigner signer = Signer();
  const Pairs pairs = signer.Sign("touchpoints", kNow);
  EXPECT_EQ(signer.Verify(testing::TestMetadata(Pairs{pairs[0]}).map(), kNow), std::nullopt);
  EXPECT_EQ(signer.Verify(testing::TestMetadata(Pairs{pairs[1]}).map(), kNow), std::nullopt);
  Pairs name_twice = pairs;
  name_twice.push_back(pairs[0]);
  EXPECT_EQ(signer.Verify(testing::TestMetadata(name_twice).map(), kNow), std::nullopt);
  Pairs signature_twice = pairs;
  signature_twice.push_back(pairs[1]);
  EXPECT_EQ(signer.Verify(testing::TestMetadata(signature_twice).map(), kNow), std::nullopt);
}

TEST(ServiceSignerTest, ASignedClientAddressDoesNotNameAService) {
  absl::StatusOr<EdgeAddressSigner> edge = EdgeAddressSigner::Create(kSecret);
  ASSERT_TRUE(edge.ok()) << edge.status();
  // The same secret, a value that is a valid service name, moved to the service headers:
  // only the context of the MAC tells the two uses apart.
  const Pairs address = edge->Sign("touchpoints", kNow);
  ASSERT_EQ(address.size(), 2u);
  const Pairs relabelled = {{kServiceHeader, address[0].second},
                            {kServiceSignatureHeader, address[1].second}};
  EXPECT_EQ(Signer().Verify(testing::TestMetadata(relabelled).map(), kNow), std::nullopt);
  // And the other way round.
  const Pairs service = Signer().Sign("touchpoints", kNow);
  const Pairs as_address = {{kClientAddressHeader, service[0].second},
                            {kClientAddressSignatureHeader, service[1].second}};
  EXPECT_EQ(edge->Verify(testing::TestMetadata(as_address).map(), kNow), std::nullopt);
}

TEST(ServiceSignerTest, NamesWithOtherCharactersAreNotSigned) {
  const ServiceSigner signer = Signer();
  EXPECT_TRUE(signer.Sign("", kNow).empty());
  EXPECT_TRUE(signer.Sign("Touchpoints", kNow).empty());
  EXPECT_TRUE(signer.Sign("touch points", kNow).empty());
  EXPECT_TRUE(signer.Sign("touchpoints\n", kNow).empty());
  EXPECT_TRUE(signer.Sign("service:touchpoints", kNow).empty());
  EXPECT_TRUE(signer.Sign("\xe8\xa7\xa6\xe7\x82\xb9", kNow).empty());  // 触点
  EXPECT_TRUE(signer.Sign(std::string(65, 'a'), kNow).empty());
  EXPECT_EQ(signer.Sign(std::string(64, 'a'), kNow).size(), 2u);
}

TEST(ServiceAuthenticatorTest, WithoutASignerEveryCallIsUnauthenticated) {
  const ServiceAuthenticator authenticator(std::nullopt, [] { return kNow; });
  const Pairs pairs = Signer().Sign("touchpoints", kNow);
  const absl::StatusOr<RequestContext> context =
      authenticator.Authenticate(testing::TestMetadata(pairs).map());
  EXPECT_EQ(context.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(context.status().message(), HasSubstr("--edge_secret_file"));
}

TEST(ServiceAuthenticatorTest, ASignedServiceIsTheCaller) {
  const ServiceAuthenticator authenticator(Signer(), [] { return kNow; });
  Pairs pairs = Signer().Sign("touchpoints", kNow);
  pairs.emplace_back(kRequestIdHeader, "bootstrap-1");
  const absl::StatusOr<RequestContext> context =
      authenticator.Authenticate(testing::TestMetadata(pairs).map());
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_EQ(context->caller_id, "service:touchpoints");
  EXPECT_EQ(context->tenant_id, "");
  EXPECT_EQ(context->scope, nullptr);
  EXPECT_EQ(context->request_id, "bootstrap-1");
}

TEST(ServiceAuthenticatorTest, UnsignedOrStaleCallsAreUnauthenticated) {
  const ServiceAuthenticator authenticator(Signer(), [] { return kNow + absl::Minutes(6); });
  EXPECT_EQ(
      authenticator
          .Authenticate(
              testing::TestMetadata(Pairs{{kTenantHeader, "acme"}, {kCallerHeader, "u1"}}).map())
          .status()
          .code(),
      absl::StatusCode::kUnauthenticated);
  const absl::StatusOr<RequestContext> stale =
      authenticator.Authenticate(testing::TestMetadata(Signer().Sign("touchpoints", kNow)).map());
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(stale.status().message(), HasSubstr("service credential"));
}

}  // namespace
}  // namespace touchline::auth
