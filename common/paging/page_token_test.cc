#include "common/paging/page_token.h"

#include "common/status/errors.h"
#include "gtest/gtest.h"

namespace touchline::paging {
namespace {

TEST(PageTokenTest, RoundTripsTheCursor) {
  const std::string hash = QueryHash("customer=1;channels=2");
  const std::string token = EncodeToken({{"t", 1234567}, {"id", "客户"}}, hash);
  const absl::StatusOr<nlohmann::json> cursor = DecodeToken(token, hash);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  EXPECT_EQ((*cursor)["t"], 1234567);
  EXPECT_EQ((*cursor)["id"], "客户");
}

TEST(PageTokenTest, RefusesATokenOfAnotherQuery) {
  const std::string token = EncodeToken({{"t", 1}}, QueryHash("a"));
  const absl::StatusOr<nlohmann::json> cursor = DecodeToken(token, QueryHash("b"), "cursor");
  EXPECT_EQ(cursor.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(status::FieldViolationsOf(cursor.status()).size(), 1u);
  EXPECT_EQ(status::FieldViolationsOf(cursor.status())[0].first, "cursor");
}

TEST(PageTokenTest, RefusesGarbage) {
  const std::string hash = QueryHash("a");
  EXPECT_FALSE(DecodeToken("not base64 !!", hash).ok());
  EXPECT_FALSE(DecodeToken(EncodeToken(nlohmann::json::object(), "x").substr(3), hash).ok());
  EXPECT_NE(QueryHash("a"), QueryHash("b"));
  EXPECT_EQ(QueryHash("a").size(), 16u);
}

}  // namespace
}  // namespace touchline::paging
