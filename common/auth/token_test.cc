#include "common/auth/token.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth/testing/test_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/jwt_forge.h"
#include "tests/testing/status_matchers.h"

namespace touchline::auth {
namespace {

using ::touchline::auth::testing::NewTestKeyPair;
using ::touchline::auth::testing::TestKeyPair;
using ::touchline::testing::Base64UrlDecode;
using ::touchline::testing::Base64UrlEncode;
using ::touchline::testing::ForgeHs256;
using ::touchline::testing::ForgeRs256;
using ::touchline::testing::ForgeUnsigned;
using ::touchline::testing::StatusIs;
using Json = ::nlohmann::json;

constexpr char kRs256Header[] = R"({"alg":"RS256","typ":"JWT"})";

class TokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = new TestKeyPair(NewTestKeyPair());
    other_keys_ = new TestKeyPair(NewTestKeyPair());
  }
  static void TearDownTestSuite() {
    delete keys_;
    delete other_keys_;
  }

  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(TokenSigner signer, TokenSigner::Create(keys_->private_key_pem));
    signer_.emplace(std::move(signer));
    TL_ASSERT_OK_AND_ASSIGN(TokenVerifier verifier,
                            TokenVerifier::Create(keys_->public_key_pem, absl::Seconds(30)));
    verifier_.emplace(std::move(verifier));
  }

  // The test's "now", fixed so that every token of a test agrees on it; whole seconds, as
  // tokens carry NumericDates.
  absl::Time Now() const { return now_; }

  TokenClaims Claims() const {
    return TokenClaims{.tenant_id = "acme",
                       .user_id = "u-17",
                       .session_id = "s-42",
                       .issue_time = Now(),
                       .expire_time = Now() + absl::Minutes(15)};
  }

  // The claims a valid token carries, for forging variants of it.
  Json Payload() const {
    return Json{{"iss", kTokenIssuer},
                {"aud", kTokenAudience},
                {"tid", "acme"},
                {"sub", "u-17"},
                {"sid", "s-42"},
                {"iat", absl::ToUnixSeconds(Now())},
                {"exp", absl::ToUnixSeconds(Now() + absl::Minutes(15))}};
  }

  std::string Forge(const Json& payload) const {
    return ForgeRs256(kRs256Header, payload.dump(), keys_->private_key_pem);
  }

  absl::StatusOr<TokenClaims> Verify(const std::string& token) const {
    return verifier_->Verify(token, Now());
  }

  static TestKeyPair* keys_;
  static TestKeyPair* other_keys_;
  const absl::Time now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  std::optional<TokenSigner> signer_;
  std::optional<TokenVerifier> verifier_;
};

TestKeyPair* TokenTest::keys_ = nullptr;
TestKeyPair* TokenTest::other_keys_ = nullptr;

TEST_F(TokenTest, SignedTokensVerify) {
  TL_ASSERT_OK_AND_ASSIGN(std::string token, signer_->Sign(Claims()));
  TL_ASSERT_OK_AND_ASSIGN(TokenClaims claims, Verify(token));
  EXPECT_EQ(claims.tenant_id, "acme");
  EXPECT_EQ(claims.user_id, "u-17");
  EXPECT_EQ(claims.session_id, "s-42");
  EXPECT_EQ(claims.issue_time, Claims().issue_time);
  EXPECT_EQ(claims.expire_time, Claims().expire_time);
}

TEST_F(TokenTest, TheTokenHasTheDocumentedHeaderAndClaims) {
  TL_ASSERT_OK_AND_ASSIGN(std::string token, signer_->Sign(Claims()));
  const size_t dot = token.find('.');
  const Json header = Json::parse(Base64UrlDecode(token.substr(0, dot)));
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(header["typ"], "JWT");
  const size_t second = token.find('.', dot + 1);
  const Json payload = Json::parse(Base64UrlDecode(token.substr(dot + 1, second - dot - 1)));
  EXPECT_EQ(payload["iss"], kTokenIssuer);
  EXPECT_EQ(payload["aud"], kTokenAudience);
  EXPECT_EQ(payload["tid"], "acme");
  EXPECT_EQ(payload["sub"], "u-17");
  EXPECT_EQ(payload["sid"], "s-42");
  EXPECT_EQ(payload["exp"].get<int64_t>() - payload["iat"].get<int64_t>(), 15 * 60);
}

TEST_F(TokenTest, ForgedButCorrectTokensVerify) {
  // The forging helpers make tokens the verifier accepts; the attacks below differ in one way.
  TL_EXPECT_OK(Verify(Forge(Payload())));
}

TEST_F(TokenTest, ExpiredTokensAreRefused) {
  Json payload = Payload();
  payload["iat"] = absl::ToUnixSeconds(Now() - absl::Hours(1));
  payload["exp"] = absl::ToUnixSeconds(Now() - absl::Minutes(1));
  EXPECT_THAT(Verify(Forge(payload)),
              StatusIs(absl::StatusCode::kUnauthenticated, "token expired"));
}

TEST_F(TokenTest, ExpiryFollowsTheGivenClockWithLeeway) {
  TL_ASSERT_OK_AND_ASSIGN(std::string token, signer_->Sign(Claims()));
  const absl::Time exp = Claims().expire_time;
  TL_EXPECT_OK(verifier_->Verify(token, exp + absl::Seconds(29)));
  EXPECT_THAT(verifier_->Verify(token, exp + absl::Seconds(30)),
              StatusIs(absl::StatusCode::kUnauthenticated, "token expired"));
  EXPECT_THAT(verifier_->Verify(token, exp + absl::Hours(5)),
              StatusIs(absl::StatusCode::kUnauthenticated, "token expired"));
}

TEST_F(TokenTest, TokensIssuedInTheFutureAreRefused) {
  Json payload = Payload();
  payload["iat"] = absl::ToUnixSeconds(Now() + absl::Minutes(5));
  payload["exp"] = absl::ToUnixSeconds(Now() + absl::Minutes(20));
  EXPECT_THAT(Verify(Forge(payload)),
              StatusIs(absl::StatusCode::kUnauthenticated, "token not yet valid"));
  // Within the leeway, clock skew is tolerated.
  payload["iat"] = absl::ToUnixSeconds(Now() + absl::Seconds(20));
  TL_EXPECT_OK(Verify(Forge(payload)));
}

TEST_F(TokenTest, BadSignaturesAreRefused) {
  EXPECT_THAT(Verify(ForgeRs256(kRs256Header, Payload().dump(), other_keys_->private_key_pem)),
              StatusIs(absl::StatusCode::kUnauthenticated, "token signature invalid"));
  TL_ASSERT_OK_AND_ASSIGN(std::string token, signer_->Sign(Claims()));
  // Flip a bit in the middle of the signature.
  std::string& flipped = token;
  const size_t at = token.rfind('.') + 20;
  flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
  EXPECT_THAT(Verify(flipped),
              StatusIs(absl::StatusCode::kUnauthenticated, "token signature invalid"));
}

TEST_F(TokenTest, NonCanonicalEncodingsAreRefused) {
  TL_ASSERT_OK_AND_ASSIGN(std::string token, signer_->Sign(Claims()));
  // 256 signature bytes take 342 characters, the last carrying 4 unused bits: setting one
  // leaves the decoded signature as it was, and must still be refused.
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const size_t last = std::string_view(kAlphabet).find(token.back());
  ASSERT_EQ(last % 16, 0u);
  token.back() = kAlphabet[last + 1];
  EXPECT_THAT(Verify(token), StatusIs(absl::StatusCode::kUnauthenticated, "malformed token"));
}

TEST_F(TokenTest, AlgNoneIsRefused) {
  for (const char* header :
       {R"({"alg":"none","typ":"JWT"})", R"({"alg":"NONE"})", R"({"alg":"None","typ":"JWT"})"}) {
    EXPECT_THAT(Verify(ForgeUnsigned(header, Payload().dump())),
                StatusIs(absl::StatusCode::kUnauthenticated, "token algorithm not allowed"))
        << header;
    // Even with something in the signature slot.
    EXPECT_THAT(Verify(ForgeUnsigned(header, Payload().dump()) + "c2ln"),
                StatusIs(absl::StatusCode::kUnauthenticated, "token algorithm not allowed"))
        << header;
  }
}

TEST_F(TokenTest, Hs256WithThePublicKeyAsSecretIsRefused) {
  // The classic confusion: an attacker signs with HMAC keyed by the (public) verification key.
  EXPECT_THAT(
      Verify(ForgeHs256(R"({"alg":"HS256","typ":"JWT"})", Payload().dump(), keys_->public_key_pem)),
      StatusIs(absl::StatusCode::kUnauthenticated, "token algorithm not allowed"));
}

TEST_F(TokenTest, OtherAlgorithmsAndSpellingsAreRefused) {
  for (const char* header : {R"({"alg":"rs256","typ":"JWT"})", R"({"alg":"RS512","typ":"JWT"})",
                             R"({"alg":"ES256","typ":"JWT"})", R"({"typ":"JWT"})",
                             R"({"alg":["RS256"],"typ":"JWT"})", R"({"alg":null})"}) {
    EXPECT_THAT(Verify(ForgeRs256(header, Payload().dump(), keys_->private_key_pem)),
                StatusIs(absl::StatusCode::kUnauthenticated, "token algorithm not allowed"))
        << header;
  }
}

TEST_F(TokenTest, WrongAudienceOrIssuerIsRefused) {
  for (const Json& aud : {Json("other-service"), Json::array({"touchline"}), Json(nullptr)}) {
    Json payload = Payload();
    payload["aud"] = aud;
    EXPECT_THAT(Verify(Forge(payload)), StatusIs(absl::StatusCode::kUnauthenticated)) << aud.dump();
  }
  Json payload = Payload();
  payload["aud"] = "other-service";
  EXPECT_THAT(Verify(Forge(payload)),
              StatusIs(absl::StatusCode::kUnauthenticated, "token audience not accepted"));
  payload = Payload();
  payload.erase("aud");
  EXPECT_THAT(Verify(Forge(payload)),
              StatusIs(absl::StatusCode::kUnauthenticated, "token audience not accepted"));
  payload = Payload();
  payload["iss"] = "evil";
  EXPECT_THAT(Verify(Forge(payload)),
              StatusIs(absl::StatusCode::kUnauthenticated, "token issuer not accepted"));
  payload.erase("iss");
  EXPECT_THAT(Verify(Forge(payload)),
              StatusIs(absl::StatusCode::kUnauthenticated, "token issuer not accepted"));
}

TEST_F(TokenTest, TamperedClaimsAreRefused) {
  TL_ASSERT_OK_AND_ASSIGN(std::string token, signer_->Sign(Claims()));
  const size_t dot = token.find('.');
  const size_t second = token.find('.', dot + 1);
  Json payload = Json::parse(Base64UrlDecode(token.substr(dot + 1, second - dot - 1)));
  for (const char* claim : {"sub", "tid", "sid"}) {
    Json changed = payload;
    changed[claim] = "admin";
    const std::string tampered = absl::StrCat(
        token.substr(0, dot), ".", Base64UrlEncode(changed.dump()), token.substr(second));
    EXPECT_THAT(Verify(tampered),
                StatusIs(absl::StatusCode::kUnauthenticated, "token signature invalid"))
        << claim;
  }
  Json later = payload;
  later["exp"] = later["exp"].get<int64_t>() + 86400;
  EXPECT_THAT(Verify(absl::StrCat(token.substr(0, dot), ".", Base64UrlEncode(later.dump()),
                                  token.substr(second))),
              StatusIs(absl::StatusCode::kUnauthenticated, "token signature invalid"));
}

TEST_F(TokenTest, MissingOrMalformedIdentityClaimsAreRefused) {
  for (const char* claim : {"tid", "sub", "sid", "exp", "iat"}) {
    Json payload = Payload();
    payload.erase(claim);
    EXPECT_THAT(Verify(Forge(payload)),
                StatusIs(absl::StatusCode::kUnauthenticated, "malformed token"))
        << claim;
  }
  for (const auto& [claim, value] :
       std::vector<std::pair<std::string, Json>>{{"tid", "Bad Tenant"},
                                                 {"tid", 7},
                                                 {"sub", ""},
                                                 {"sid", std::string(129, 's')},
                                                 {"sub", "u 17"},
                                                 {"exp", "soon"},
                                                 {"iat", 1.5}}) {
    Json payload = Payload();
    payload[claim] = value;
    EXPECT_THAT(Verify(Forge(payload)), StatusIs(absl::StatusCode::kUnauthenticated))
        << claim << "=" << value.dump();
  }
}

TEST_F(TokenTest, GarbageAndEmptyAreMalformed) {
  TL_ASSERT_OK_AND_ASSIGN(std::string token, signer_->Sign(Claims()));
  for (const std::string& garbage :
       {std::string(), std::string("."), std::string(".."), std::string("abc"), std::string("a.b"),
        std::string("a.b.c.d"), std::string("!!!.???.***"),
        std::string("eyJhbGciOiJSUzI1NiJ9..sig"), token + ".extra", "x" + token,
        token.substr(0, token.size() / 2), std::string(10000, 'a') + ".b.c",
        ForgeRs256("not json", Payload().dump(), keys_->private_key_pem),
        ForgeRs256(kRs256Header, "[1,2,3]", keys_->private_key_pem),
        std::string("\xff\xfe.\x00\x01.\x80", 8)}) {
    EXPECT_THAT(Verify(garbage), StatusIs(absl::StatusCode::kUnauthenticated)) << garbage;
  }
  EXPECT_THAT(Verify(""), StatusIs(absl::StatusCode::kUnauthenticated, "malformed token"));
  EXPECT_THAT(Verify("a.b"), StatusIs(absl::StatusCode::kUnauthenticated, "malformed token"));
}

TEST_F(TokenTest, CritHeadersAreRefused) {
  EXPECT_THAT(Verify(ForgeRs256(R"({"alg":"RS256","typ":"JWT","crit":["exp"]})", Payload().dump(),
                                keys_->private_key_pem)),
              StatusIs(absl::StatusCode::kUnauthenticated, "malformed token"));
}

TEST_F(TokenTest, KeysMustBeRsaPem) {
  EXPECT_THAT(TokenSigner::Create("not a key"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TokenSigner::Create(keys_->public_key_pem),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TokenVerifier::Create("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  TL_EXPECT_OK(TokenVerifier::Create(keys_->public_key_pem));
}

TEST_F(TokenTest, SignRefusesClaimsItCouldNotVerify) {
  TokenClaims claims = Claims();
  claims.tenant_id = "Not A Tenant";
  EXPECT_THAT(signer_->Sign(claims), StatusIs(absl::StatusCode::kInvalidArgument));
  claims = Claims();
  claims.session_id = "";
  EXPECT_THAT(signer_->Sign(claims), StatusIs(absl::StatusCode::kInvalidArgument));
  claims = Claims();
  claims.expire_time = claims.issue_time;
  EXPECT_THAT(signer_->Sign(claims), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::auth
