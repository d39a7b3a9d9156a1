#include "services/permissions/identity/password.h"

#include <sodium.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::permissions {
namespace {

using ::testing::Optional;
using ::testing::StartsWith;

TEST(CheckPasswordTest, CountsCharactersNotBytes) {
  // 5 Chinese characters are 15 bytes, but 5 characters.
  EXPECT_THAT(CheckPassword("密码很长吗"),
              Optional(std::string("must be 12 to 256 characters long, not 5")));
  EXPECT_EQ(CheckPassword("十二个汉字组成的一个密码啊"), std::nullopt);
  EXPECT_EQ(CheckPassword(std::string(12, 'a')), std::nullopt);
  EXPECT_EQ(CheckPassword(std::string(256, 'a')), std::nullopt);
  EXPECT_THAT(CheckPassword(std::string(11, 'a')),
              Optional(std::string("must be 12 to 256 characters long, not 11")));
  EXPECT_THAT(CheckPassword(std::string(257, 'a')),
              Optional(std::string("must be 12 to 256 characters long, not 257")));
}

TEST(CheckPasswordTest, RefusesInvalidUtf8) {
  EXPECT_THAT(CheckPassword("abcdefghijkl\xff"), Optional(std::string("must be valid UTF-8")));
}

TEST(HashPasswordTest, VerifiesOnlyTheSamePassword) {
  const auto hash = HashPassword("correct horse battery", PasswordHashCost::Minimum());
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_THAT(*hash, StartsWith("$argon2id$"));
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse batterY"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
  EXPECT_FALSE(VerifyPassword("not a hash", "correct horse battery"));
}

TEST(HashPasswordTest, SaltsEveryHash) {
  const auto first = HashPassword("correct horse battery", PasswordHashCost::Minimum());
  const auto second = HashPassword("correct horse battery", PasswordHashCost::Minimum());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);
}

TEST(PasswordNeedsRehashTest, WhenTheCostChanges) {
  const auto cheap = HashPassword("correct horse battery", PasswordHashCost::Minimum());
  ASSERT_TRUE(cheap.ok());
  EXPECT_FALSE(PasswordNeedsRehash(*cheap, PasswordHashCost::Minimum()));
  EXPECT_TRUE(PasswordNeedsRehash(*cheap, PasswordHashCost::Interactive()));
  EXPECT_TRUE(PasswordNeedsRehash("not a hash", PasswordHashCost::Minimum()));
}

TEST(PasswordNeedsRehashTest, WhenTheAlgorithmIsNotArgon2id) {
  // The same costs for both algorithms, so only the algorithm differs.
  const PasswordHashCost cost = {.ops_limit = crypto_pwhash_argon2i_OPSLIMIT_MIN,
                                 .mem_limit = crypto_pwhash_argon2i_MEMLIMIT_MIN};
  char argon2i[crypto_pwhash_STRBYTES];
  const std::string password = "correct horse battery";
  ASSERT_EQ(crypto_pwhash_str_alg(argon2i, password.data(), password.size(), cost.ops_limit,
                                  cost.mem_limit, crypto_pwhash_ALG_ARGON2I13),
            0);
  EXPECT_TRUE(VerifyPassword(argon2i, password));
  EXPECT_TRUE(PasswordNeedsRehash(argon2i, cost));
  const auto argon2id = HashPassword(password, cost);
  ASSERT_TRUE(argon2id.ok());
  EXPECT_FALSE(PasswordNeedsRehash(*argon2id, cost));
}

}  // namespace
}  // namespace touchline::permissions
