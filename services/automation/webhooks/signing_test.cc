#include "services/automation/webhooks/signing.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::automation {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::touchline::testing::StatusIs;

// The example of the Standard Webhooks reference libraries' tests.
constexpr char kSpecSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kSpecId[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kSpecTimestamp = 1614265330;
constexpr char kSpecBody[] = R"({"test": 2432232314})";
constexpr char kSpecSignature[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

// The signature computed by OpenSSL and Abseil's base64, independently of libsodium.
std::string OpenSslSignature(const std::string& secret, const std::string& id, int64_t timestamp,
                             const std::string& body) {
  std::string key;
  EXPECT_TRUE(absl::Base64Unescape(secret.substr(6), &key));
  const std::string content = absl::StrCat(id, ".", timestamp, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &size);
  return absl::StrCat("v1,",
                      absl::Base64Escape(std::string(reinterpret_cast<const char*>(mac), size)));
}

absl::Time At(int64_t unix_seconds) { return absl::FromUnixSeconds(unix_seconds); }

TEST(SignTest, MatchesTheSpecExample) {
  EXPECT_EQ(OpenSslSignature(kSpecSecret, kSpecId, kSpecTimestamp, kSpecBody), kSpecSignature);
  TL_ASSERT_OK_AND_ASSIGN(const std::string signature,
                          Sign(kSpecSecret, kSpecId, kSpecTimestamp, kSpecBody));
  EXPECT_EQ(signature, kSpecSignature);
}

TEST(SignTest, MatchesOpenSslForNewSecrets) {
  for (int i = 0; i < 20; ++i) {
    const std::string secret = NewSecret();
    const std::string body = absl::StrCat(R"({"n":)", i, R"(,"text":"é ✓"})");
    TL_ASSERT_OK_AND_ASSIGN(const std::string signature,
                            Sign(secret, "msg_1", 1700000000 + i, body));
    EXPECT_EQ(signature, OpenSslSignature(secret, "msg_1", 1700000000 + i, body)) << secret;
  }
}

TEST(NewSecretTest, IsWhsecAndThePaddedBase64Of32RandomBytes) {
  const std::string a = NewSecret();
  const std::string b = NewSecret();
  EXPECT_NE(a, b);
  ASSERT_THAT(a, StartsWith("whsec_"));
  std::string key;
  ASSERT_TRUE(absl::Base64Unescape(a.substr(6), &key));
  EXPECT_THAT(key, SizeIs(32));
  EXPECT_EQ(absl::StrCat("whsec_", absl::Base64Escape(key)), a);  // Standard alphabet, padded.
}

TEST(SignTest, RejectsMalformedSecrets) {
  const std::string key24 = absl::Base64Escape(std::string(24, 'k'));
  for (const std::string& secret :
       {std::string(""), std::string("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::string("whsec_"),
        std::string("whsec_not base64!"), std::string("whsk_") + key24,
        // Unpadded, URL-safe, and keys too short or too long.
        "whsec_" + absl::WebSafeBase64Escape(std::string(32, '\xfb')),
        "whsec_" + absl::Base64Escape(std::string(23, 'k')),
        "whsec_" + absl::Base64Escape(std::string(65, 'k'))}) {
    EXPECT_THAT(Sign(secret, "msg_1", 1, "{}"), StatusIs(absl::StatusCode::kInvalidArgument))
        << secret;
  }
  TL_EXPECT_OK(Sign("whsec_" + key24, "msg_1", 1, "{}"));
  TL_EXPECT_OK(Sign("whsec_" + absl::Base64Escape(std::string(64, 'k')), "msg_1", 1, "{}"));
}

TEST(SignatureHeaderTest, RotationSignsWithBothSecretsAndEitherVerifies) {
  const std::string new_secret = NewSecret();
  const std::string old_secret = NewSecret();
  TL_ASSERT_OK_AND_ASSIGN(const std::string header,
                          SignatureHeader({new_secret, old_secret}, "msg_2", 1700000000, "{}"));
  const std::vector<std::string> entries = absl::StrSplit(header, ' ');
  ASSERT_THAT(entries, SizeIs(2));
  EXPECT_EQ(entries[0], *Sign(new_secret, "msg_2", 1700000000, "{}"));
  EXPECT_EQ(entries[1], *Sign(old_secret, "msg_2", 1700000000, "{}"));

  const WebhookHeaders headers{"msg_2", "1700000000", header};
  TL_EXPECT_OK(Verify(headers, "{}", {new_secret}, At(1700000000)));
  TL_EXPECT_OK(Verify(headers, "{}", {old_secret}, At(1700000000)));
  EXPECT_THAT(Verify(headers, "{}", {NewSecret()}, At(1700000000)),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // A receiver holding only the old secret still verifies once the new one alone signs.
  TL_ASSERT_OK_AND_ASSIGN(const std::string only_new,
                          SignatureHeader({new_secret}, "msg_2", 1700000000, "{}"));
  EXPECT_THAT(Verify({"msg_2", "1700000000", only_new}, "{}", {old_secret}, At(1700000000)),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(SignatureHeaderTest, NeedsASecretAndWellFormedOnes) {
  EXPECT_THAT(SignatureHeader({}, "msg_1", 1, "{}"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SignatureHeader({NewSecret(), "whsec_x"}, "msg_1", 1, "{}"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

class VerifyTest : public ::testing::Test {
 protected:
  const std::string secret_ = NewSecret();
  const std::string body_ = R"({"event":"customer.updated"})";
  const std::string signature_ = *SignatureHeader({secret_}, "msg_3", 1700000000, body_);
  const WebhookHeaders headers_{"msg_3", "1700000000", signature_};
};

TEST_F(VerifyTest, AcceptsTheSignedRequest) {
  TL_EXPECT_OK(Verify(headers_, body_, {secret_}, At(1700000000)));
  TL_EXPECT_OK(Verify(headers_, body_, {NewSecret(), secret_}, At(1700000000)));
}

TEST_F(VerifyTest, RejectsATamperedBodyIdOrTimestamp) {
  EXPECT_THAT(Verify(headers_, R"({"event":"customer.deleted"})", {secret_}, At(1700000000)),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Verify({"msg_4", "1700000000", signature_}, body_, {secret_}, At(1700000000)),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Verify({"msg_3", "1700000001", signature_}, body_, {secret_}, At(1700000000)),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(VerifyTest, RejectsAWrongSecret) {
  EXPECT_THAT(Verify(headers_, body_, {NewSecret()}, At(1700000000)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no signature")));
}

TEST_F(VerifyTest, RejectsTimestampsOutOfTolerance) {
  TL_EXPECT_OK(Verify(headers_, body_, {secret_}, At(1700000000 + 300)));
  TL_EXPECT_OK(Verify(headers_, body_, {secret_}, At(1700000000 - 300)));
  EXPECT_THAT(Verify(headers_, body_, {secret_}, At(1700000000 + 301)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("tolerance")));
  EXPECT_THAT(Verify(headers_, body_, {secret_}, At(1700000000 - 301)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("tolerance")));
  EXPECT_THAT(Verify(headers_, body_, {secret_}, At(1700000000 + 30), absl::Seconds(10)),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(VerifyTest, SkipsOtherVersionsAndBrokenEntries) {
  const std::string mixed =
      absl::StrCat("v1a,", signature_.substr(3), " v1,!!!  v2,abc ", signature_);
  TL_EXPECT_OK(Verify({"msg_3", "1700000000", mixed}, body_, {secret_}, At(1700000000)));
  // The right MAC without its version, or under another one, is not a signature.
  EXPECT_THAT(
      Verify({"msg_3", "1700000000", signature_.substr(3)}, body_, {secret_}, At(1700000000)),
      StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Verify({"msg_3", "1700000000", absl::StrCat("v2,", signature_.substr(3))}, body_,
                     {secret_}, At(1700000000)),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(VerifyTest, RejectsMissingOrMalformedHeaders) {
  EXPECT_THAT(Verify({"", "1700000000", signature_}, body_, {secret_}, At(1700000000)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Verify({"msg_3", "", signature_}, body_, {secret_}, At(1700000000)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Verify({"msg_3", "1700000000", ""}, body_, {secret_}, At(1700000000)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Verify({"msg_3", "soon", signature_}, body_, {secret_}, At(1700000000)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Verify(headers_, body_, {"whsec_?"}, At(1700000000)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::automation
