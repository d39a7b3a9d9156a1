#include "services/permissions/identity/totp.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::permissions {
namespace {

using ::testing::Optional;

// The SHA-1 secret of RFC 6238 appendix B.
constexpr char kRfcSecret[] = "12345678901234567890";
constexpr int64_t kNoStepUsed = std::numeric_limits<int64_t>::min();

absl::Time At(int64_t unix_seconds) { return absl::FromUnixSeconds(unix_seconds); }

TEST(Base32EncodeTest, Rfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base32Encode(""), "");
  EXPECT_EQ(Base32Encode("f"), "MY");
  EXPECT_EQ(Base32Encode("fo"), "MZXQ");
  EXPECT_EQ(Base32Encode("foo"), "MZXW6");
  EXPECT_EQ(Base32Encode("foob"), "MZXW6YQ");
  EXPECT_EQ(Base32Encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(Base32Encode("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(Base32Encode(kRfcSecret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(TotpCodeTest, Rfc6238Sha1VectorsTruncatedToSixDigits) {
  // Appendix B lists 8 digits; 6-digit codes are the same number modulo 10^6.
  const struct {
    int64_t time;
    std::string code;
  } vectors[] = {{59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
                 {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}};
  for (const auto& v : vectors) {
    EXPECT_EQ(TotpCode(kRfcSecret, TotpStepAt(At(v.time))), v.code) << "T = " << v.time;
  }
}

TEST(TotpStepAtTest, ThirtySecondSteps) {
  EXPECT_EQ(TotpStepAt(At(0)), 0);
  EXPECT_EQ(TotpStepAt(At(29)), 0);
  EXPECT_EQ(TotpStepAt(At(30)), 1);
  EXPECT_EQ(TotpStepAt(At(59)), 1);
  EXPECT_EQ(TotpStepAt(At(1111111111)), 37037037);
  EXPECT_EQ(TotpStepAt(At(-1)), -1);
}

TEST(MatchTotpCodeTest, AcceptsTheWindowAroundNowAndNothingBeyond) {
  const absl::Time now = At(1111111111);  // step 37037037, 1 s into it
  const int64_t step = TotpStepAt(now);
  EXPECT_THAT(MatchTotpCode(kRfcSecret, "050471", now, 1, kNoStepUsed), Optional(step));
  EXPECT_THAT(MatchTotpCode(kRfcSecret, TotpCode(kRfcSecret, step - 1), now, 1, kNoStepUsed),
              Optional(step - 1));
  EXPECT_THAT(MatchTotpCode(kRfcSecret, TotpCode(kRfcSecret, step + 1), now, 1, kNoStepUsed),
              Optional(step + 1));
  EXPECT_EQ(MatchTotpCode(kRfcSecret, TotpCode(kRfcSecret, step - 2), now, 1, kNoStepUsed),
            std::nullopt);
  EXPECT_EQ(MatchTotpCode(kRfcSecret, TotpCode(kRfcSecret, step + 2), now, 1, kNoStepUsed),
            std::nullopt);
  // Window 0: only the current step.
  EXPECT_EQ(MatchTotpCode(kRfcSecret, TotpCode(kRfcSecret, step - 1), now, 0, kNoStepUsed),
            std::nullopt);
}

TEST(MatchTotpCodeTest, WindowEdgesFollowTheClock) {
  // 1111111109 is the last second of step 37037036; its code stays good one step later.
  const std::string code = "081804";
  EXPECT_THAT(MatchTotpCode(kRfcSecret, code, At(1111111109 + 30), 1, kNoStepUsed),
              Optional(int64_t{37037036}));
  EXPECT_EQ(MatchTotpCode(kRfcSecret, code, At(1111111109 + 31), 1, kNoStepUsed), std::nullopt);
  EXPECT_THAT(MatchTotpCode(kRfcSecret, code, At(1111111080 - 30), 1, kNoStepUsed),
              Optional(int64_t{37037036}));
  EXPECT_EQ(MatchTotpCode(kRfcSecret, code, At(1111111080 - 31), 1, kNoStepUsed), std::nullopt);
}

TEST(MatchTotpCodeTest, RefusesStepsAlreadyUsed) {
  const absl::Time now = At(1111111111);
  const int64_t step = TotpStepAt(now);
  EXPECT_EQ(MatchTotpCode(kRfcSecret, "050471", now, 1, step), std::nullopt);
  EXPECT_EQ(MatchTotpCode(kRfcSecret, "050471", now, 1, step + 1), std::nullopt);
  EXPECT_THAT(MatchTotpCode(kRfcSecret, "050471", now, 1, step - 1), Optional(step));
  // A code of an earlier step than the last one used is a replay too.
  EXPECT_EQ(MatchTotpCode(kRfcSecret, TotpCode(kRfcSecret, step - 1), now, 1, step - 1),
            std::nullopt);
}

TEST(MatchTotpCodeTest, RefusesMalformedCodes) {
  const absl::Time now = At(1111111111);
  EXPECT_EQ(MatchTotpCode(kRfcSecret, "", now, 1, kNoStepUsed), std::nullopt);
  EXPECT_EQ(MatchTotpCode(kRfcSecret, "50471", now, 1, kNoStepUsed), std::nullopt);
  EXPECT_EQ(MatchTotpCode(kRfcSecret, "0050471", now, 1, kNoStepUsed), std::nullopt);
  EXPECT_EQ(MatchTotpCode(kRfcSecret, "05047a", now, 1, kNoStepUsed), std::nullopt);
  EXPECT_EQ(MatchTotpCode(kRfcSecret, " 50471", now, 1, kNoStepUsed), std::nullopt);
}

TEST(NewTotpSecretTest, TwentyRandomBytes) {
  const std::string a = NewTotpSecret();
  EXPECT_EQ(a.size(), 20u);
  EXPECT_NE(a, NewTotpSecret());
}

TEST(OtpauthUriTest, EscapesLabelAndIssuer) {
  EXPECT_EQ(OtpauthUri("Touchline", "王@acme", "GEZDGNBV"),
            "otpauth://totp/Touchline:%E7%8E%8B%40acme?secret=GEZDGNBV&issuer=Touchline"
            "&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(OtpauthUri("A B", "x", "MY"),
            "otpauth://totp/A%20B:x?secret=MY&issuer=A%20B&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace touchline::permissions
