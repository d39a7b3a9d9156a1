#include "common/ids/ids.h"

#include <set>

#include "gtest/gtest.h"

namespace touchline::ids {
namespace {

TEST(NewUuid, IsCanonicalVersion7) {
  const std::string id = NewUuid();
  EXPECT_TRUE(IsUuid(id)) << id;
  EXPECT_EQ(id[14], '7') << id;
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
}

TEST(NewUuid, EncodesTimeSoLaterIdsSortLater) {
  const std::string a = NewUuid(absl::FromUnixMillis(1700000000000));
  const std::string b = NewUuid(absl::FromUnixMillis(1700000000001));
  EXPECT_LT(a, b);
  EXPECT_EQ(a.substr(0, 13), "018bcfe5-6800");
}

TEST(NewUuid, DoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(NewUuid()).second);
}

TEST(IsUuid, RejectsMalformed) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("018bcfe5-6800-7000-8000-00000000000"));
  EXPECT_FALSE(IsUuid("018bcfe5x6800-7000-8000-000000000000"));
  EXPECT_FALSE(IsUuid("018bcfe5-6800-7000-8000-00000000000g"));
  EXPECT_TRUE(IsUuid("018BCFE5-6800-7000-8000-000000000000"));
}

}  // namespace
}  // namespace touchline::ids
