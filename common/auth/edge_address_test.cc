#include "common/auth/edge_address.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::auth {
namespace {

using ::testing::Optional;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Metadata as a server sees it, viewing `pairs` (which must outlive it).
std::multimap<grpc::string_ref, grpc::string_ref> View(const Pairs& pairs) {
  std::multimap<grpc::string_ref, grpc::string_ref> metadata;
  for (const auto& [name, value] : pairs) metadata.emplace(name, value);
  return metadata;
}

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
  EXPECT_THAT(signer.Verify(View(signed_v4), kNow), Optional(std::string("203.0.113.7")));
  EXPECT_THAT(signer.Verify(View(signer.Sign("2001:db8::1", kNow)), kNow),
              Optional(std::string("2001:db8::1")));
}

TEST(EdgeAddressSignerTest, SurroundingWhitespaceOfTheSecretIsIgnored) {
  const Pairs pairs = Signer(std::string(kSecret) + "\n").Sign("10.0.0.1", kNow);
  EXPECT_THAT(Signer().Verify(View(pairs), kNow), Optional(std::string("10.0.0.1")));
}

TEST(EdgeAddressSignerTest, ShortSecretsAreRefused) {
  EXPECT_EQ(EdgeAddressSigner::Create(std::string(31, 'k') + "\n").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EdgeAddressSignerTest, AnotherSecretsSignatureIsRefused) {
  const Pairs forged = Signer("another secret of thirty-two bytes!").Sign("10.0.0.1", kNow);
  EXPECT_EQ(Signer().Verify(View(forged), kNow), std::nullopt);
}

TEST(EdgeAddressSignerTest, AChangedAddressOrTimestampIsRefused) {
  const EdgeAddressSigner signer = Signer();
  Pairs pairs = signer.Sign("10.0.0.1", kNow);
  Pairs other_address = pairs;
  other_address[0].second = "10.0.0.2";
  EXPECT_EQ(signer.Verify(View(other_address), kNow), std::nullopt);
  Pairs other_time = pairs;
  other_time[1].second.replace(0, 10, std::to_string(absl::ToUnixSeconds(kNow) + 1));
  EXPECT_EQ(signer.Verify(View(other_time), kNow), std::nullopt);
  Pairs truncated = pairs;
  truncated[1].second.pop_back();
  EXPECT_EQ(signer.Verify(View(truncated), kNow), std::nullopt);
}

TEST(EdgeAddressSignerTest, StaleAndFutureSignaturesAreRefused) {
  const EdgeAddressSigner signer = Signer();
  const Pairs pairs = signer.Sign("10.0.0.1", kNow);
  const absl::Duration tolerance = EdgeAddressSigner::kDefaultTolerance;
  EXPECT_TRUE(signer.Verify(View(pairs), kNow + tolerance).has_value());
  EXPECT_TRUE(signer.Verify(View(pairs), kNow - tolerance).has_value());
  EXPECT_EQ(signer.Verify(View(pairs), kNow + tolerance + absl::Seconds(1)), std::nullopt);
  EXPECT_EQ(signer.Verify(View(pairs), kNow - tolerance - absl::Seconds(1)), std::nullopt);
}

TEST(EdgeAddressSignerTest, MissingOrRepeatedHeadersAreRefused) {
  const EdgeAddressSigner signer = Signer();
  const Pairs pairs = signer.Sign("10.0.0.1", kNow);
  EXPECT_EQ(signer.Verify(View({pairs[0]}), kNow), std::nullopt);
  EXPECT_EQ(signer.Verify(View({pairs[1]}), kNow), std::nullopt);
  Pairs twice = pairs;
  twice.push_back(pairs[0]);
  EXPECT_EQ(signer.Verify(View(twice), kNow), std::nullopt);
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
