#include "common/idempotency/idempotency.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::idempotency {
namespace {

using ::testing::Optional;

const StoredRequest kStored = {.method = "CreateCustomer", .fingerprint = "f1", .result = "c-1"};

TEST(DecideTest, KeyNobodyHadIsNew) {
  EXPECT_EQ(Decide(std::nullopt, "CreateCustomer", "f1"), Decision::kNew);
}

TEST(DecideTest, SameMethodAndFingerprintIsAReplay) {
  EXPECT_EQ(Decide(kStored, "CreateCustomer", "f1"), Decision::kReplay);
}

TEST(DecideTest, OtherFingerprintIsAConflict) {
  EXPECT_EQ(Decide(kStored, "CreateCustomer", "f2"), Decision::kConflict);
}

TEST(DecideTest, SameFingerprintWithAnotherMethodIsAConflict) {
  EXPECT_EQ(Decide(kStored, "MergeCustomers", "f1"), Decision::kConflict);
}

TEST(RequestIdProblemTest, EmptyMeansNoKeyAndIsValid) {
  EXPECT_EQ(RequestIdProblem(""), std::nullopt);
}

TEST(RequestIdProblemTest, CountsCharactersNotBytes) {
  // 128 three-byte characters: 384 bytes, still valid.
  std::string chinese;
  for (size_t i = 0; i < kMaxRequestIdChars; ++i) chinese += "\xE5\x8D\x95";  // 单
  EXPECT_EQ(RequestIdProblem(chinese), std::nullopt);
  EXPECT_THAT(RequestIdProblem(chinese + "x"),
              Optional(std::string("must be at most 128 characters")));
  EXPECT_EQ(RequestIdProblem(std::string(kMaxRequestIdChars, 'a')), std::nullopt);
  EXPECT_THAT(RequestIdProblem(std::string(kMaxRequestIdChars + 1, 'a')),
              Optional(std::string("must be at most 128 characters")));
}

TEST(RequestIdProblemTest, RefusesInvalidUtf8AndNul) {
  EXPECT_THAT(RequestIdProblem("abc\xff"), Optional(std::string("must be valid UTF-8")));
  EXPECT_THAT(RequestIdProblem(std::string("a\0b", 3)),
              Optional(std::string("must not contain NUL characters")));
}

}  // namespace
}  // namespace touchline::idempotency
