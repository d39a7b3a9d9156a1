#include "common/auth/edge_address.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/auth/testing/test_metadata.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"

namespace touchline::auth {
namespace {

using ::testing::Optional;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

using Pairs = std::vector<std::pair<std::string, std::string>>;

EdgeAddressSigner Signer(std::string_view secret = kSecret) {
  absl::StatusOr<EdgeAddressSigner> signer = EdgeAddressSigner::Create(secret);
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

TEST(EdgeAddressSignerTest, VerifiesWhatItSigned) {
  const EdgeAddressSigner signer = Signer();
  const Pairs signed_v4 = signer.Sign("203.0.113.7", kNow);
  ASSERT_EQ(signed_v4.size(), 2u);
  EXPECT_EQ(signed_v4[0],
            (std::pair<std::string, std::string>(kClientAddressHeader, "203.0.113.7")));
  EXPECT_THAT(signer.Verify(testing::TestMetadata(signed_v4).map(), kNow),
              Optional(std::string("203.0.113.7")));
  EXPECT_THAT(signer.Verify(testing::TestMetadata(signer.Sign("2001:db8::1", kNow)).map(), kNow),
              Optional(std::string("2001:db8::1")));
}

// The signature a gateway of any version makes, computed here without the signer: an
// HMAC-SHA256 of "touchline-client-address.v1\n<seconds>\n<address>" in lower-case hex.
TEST(EdgeAddressSignerTest, TheSignatureFormatIsStable) {
  const std::string message = "touchline-client-address.v1\n1700000000\n203.0.113.7";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), kSecret, sizeof(kSecret) - 1,
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_size);
  const std::string expected = absl::StrCat(
      "1700000000.",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), mac_size)));
  const Pairs pairs = Signer().Sign("203.0.113.7", kNow);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[1],
            (std::pair<std::string, std::string>(kClientAddressSignatureHeader, expected)));
}

TEST(EdgeAddressSignerTest, SurroundingWhitespaceOfTheSecretIsIgnored) {
  const Pairs pairs = Signer(std::string(kSecret) + "\n").Sign("10.0.0.1", kNow);
  EXPECT_THAT(Signer().Verify(testing::TestMetadata(pairs).map(), kNow),
              Optional(std::string("10.0.0.1")));
}

TEST(EdgeAddressSignerTest, ShortSecretsAreRefused) {
  EXPECT_EQ(EdgeAddressSigner::Create(std::string(31, 'k') + "\n").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EdgeAddressSignerTest, AnotherSecretsSignatureIsRefused) {
  const Pairs forged = Signer("another secret of thirty-two bytes!").Sign("10.0.0.1", kNow);
  EXPECT_EQ(Signer().Verify(testing::TestMetadata(forged).map(), kNow), std::nullopt);
}

TEST(EdgeAddressSignerTest, AChangedAddressOrTimestampIsRefused) {
  const EdgeAddressSigner signer = Signer();
  Pairs pairs = signer.Sign("10.0.0.1", kNow);
  Pairs other_address = pairs;
  other_address[0].second = "10.0.0.2";
  EXPECT_EQ(signer.Verify(testing::TestMetadata(other_address).map(), kNow), std::nullopt);
  Pairs other_time = pairs;
  other_time[1].second.replace(0, 10, std::to_string(absl::ToUnixSeconds(kNow) + 1));
  EXPECT_EQ(signer.Verify(testing::TestMetadata(other_time).map(), kNow), std::nullopt);
  Pairs truncated = pairs;
  truncated[1].second.pop_back();
  EXPECT_EQ(signer.Verify(testing::TestMetadata(truncated).map(), kNow), std::nullopt);
}

TEST(EdgeAddressSignerTest, StaleAndFutureSignaturesAreRefused) {
  const EdgeAddressSigner signer = Signer();
  const Pairs pairs = signer.Sign("10.0.0.1", kNow);
  const absl::Duration tolerance = EdgeAddressSigner::kDefaultTolerance;
  EXPECT_TRUE(signer.Verify(testing::TestMetadata(pairs).map(), kNow + tolerance).has_value());
  EXPECT_TRUE(signer.Verify(testing::TestMetadata(pairs).map(), kNow - tolerance).has_value());
  EXPECT_EQ(signer.Verify(testing::TestMetadata(pairs).map(), kNow + tolerance + absl::Seconds(1)),
            std::nullopt);
  EXPECT_EQ(signer.Verify(testing::TestMetadata(pairs).map(), kNow - tolerance - absl::Seconds(1)),
            std::nullopt);
}

TEST(EdgeAddressSignerTest, MissingOrRepeatedHeadersAreRefused) {
  const EdgeAddressSigner signer = Signer();
  const Pairs pairs = signer.Sign("10.0.0.1", kNow);
  EXPECT_EQ(signer.Verify(testing::TestMetadata(Pairs{pairs[0]}).map(), kNow), std::nullopt);
  EXPECT_EQ(signer.Verify(testing::TestMetadata(Pairs{pairs[1]}).map(), kNow), std::nullopt);
  Pairs twice = pairs;
  twice.push_back(pairs[0]);
  EXPECT_EQ(signer.Verify(testing::TestMetadata(twice).map(), kNow), std::nullopt);
}

TEST(EdgeAddressSignerTest, AddressesGrpcCannotCarryAreNotSigned) {
  const EdgeAddressSigner signer = Signer();
  EXPECT_TRUE(signer.Sign("", kNow).empty());
  EXPECT_TRUE(signer.Sign("10.0.0.1\n", kNow).empty());
  EXPECT_TRUE(signer.Sign("\xe5\xbc\xa0", kNow).empty());
  EXPECT_TRUE(signer.Sign(std::string(129, '1'), kNow).empty());
}

TEST(PeerAddressTest, TakesTheIpOutOfAGrpcPeer) {
  EXPECT_EQ(PeerAddress("ipv4:10.0.0.7:5123"), "10.0.0.7");
  EXPECT_EQ(PeerAddress("ipv6:[::1]:5123"), "::1");
  EXPECT_EQ(PeerAddress("ipv6:[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(PeerAddress("unix:/tmp/socket"), "unix:/tmp/socket");
}

}  // namespace
}  // namespace touchline::auth
