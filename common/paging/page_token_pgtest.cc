#include "common/paging/page_token.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/status/errors.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"

namespace touchline::paging {
namespace {

const PageTokens kTokens(std::string(kTokenKeyBytes, 'k'));

TEST(PageTokenTest, RoundTripsTheCursor) {
  const std::string hash = QueryHash("customer=1;channels=2");
  const std::string token = kTokens.Encode({{"t", 1234567}, {"id", "客户"}}, hash);
  const absl::StatusOr<nlohmann::json> cursor = kTokens.Decode(token, hash);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  EXPECT_EQ((*cursor)["t"], 1234567);
  EXPECT_EQ((*cursor)["id"], "客户");
}

TEST(PageTokenTest, RefusesATokenOfAnotherQuery) {
  const std::string token = kTokens.Encode({{"t", 1}}, QueryHash("a"));
  const absl::StatusOr<nlohmann::json> cursor = kTokens.Decode(token, QueryHash("b"), "cursor");
  EXPECT_EQ(cursor.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(status::FieldViolationsOf(cursor.status()).size(), 1u);
  EXPECT_EQ(status::FieldViolationsOf(cursor.status())[0].first, "cursor");
}

TEST(PageTokenTest, RefusesGarbage) {
  const std::string hash = QueryHash("a");
  EXPECT_FALSE(kTokens.Decode("not base64 !!", hash).ok());
  EXPECT_FALSE(kTokens.Decode(kTokens.Encode(nlohmann::json::object(), "x").substr(3), hash).ok());
  EXPECT_NE(QueryHash("a"), QueryHash("b"));
  EXPECT_EQ(QueryHash("a").size(), 16u);
}

TEST(PageTokenTest, HidesTheCursorFromTheCaller) {
  const std::string token = kTokens.Encode({{"id", "3f1c6b1e-hidden"}}, QueryHash("a"));
  std::string bytes;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &bytes));
  EXPECT_EQ(bytes.find("hidden"), std::string::npos);
  EXPECT_EQ(bytes.find("\"id\""), std::string::npos);
}

TEST(PageTokenTest, RefusesEveryEditedByteAndEveryForgery) {
  const std::string hash = QueryHash("a");
  const std::string token = kTokens.Encode({{"t", 1}, {"i", "x"}}, hash);
  std::string bytes;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &bytes));
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string edited = bytes;
    edited[i] = static_cast<char>(edited[i] ^ 0x01);
    const absl::StatusOr<nlohmann::json> cursor =
        kTokens.Decode(absl::WebSafeBase64Escape(edited), hash);
    EXPECT_EQ(cursor.status().code(), absl::StatusCode::kInvalidArgument) << "byte " << i;
  }
  // What the tokens used to be (base64 JSON) is no longer accepted.
  EXPECT_FALSE(
      kTokens.Decode(absl::WebSafeBase64Escape(R"({"t":1,"i":"x","q":")" + hash + "\"}"), hash)
          .ok());
  // Nor a token of another key.
  const PageTokens other(std::string(kTokenKeyBytes, 'o'));
  EXPECT_FALSE(kTokens.Decode(other.Encode({{"t", 1}}, hash), hash).ok());
}

std::unique_ptr<pg::Pool> PoolOn(const std::string& dsn, const std::string& schema) {
  auto pool = pg::Pool::Create(
      {.dsn = dsn, .search_path = schema, .size = 1, .prepared = {}, .settings = {}});
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *std::move(pool) : nullptr;
}

TEST(PageTokenKeyTest, EveryReplicaOfASchemaLoadsTheSameKey) {
  testing::ScopedSchema schema("page_tokens");
  const std::string dsn = testing::TestPgDsn();
  ASSERT_TRUE(pg::ApplyMigrations(dsn, schema.name(), "page_tokens", PageTokenMigrations()).ok());
  const std::unique_ptr<pg::Pool> first_pool = PoolOn(dsn, schema.name());
  const std::unique_ptr<pg::Pool> second_pool = PoolOn(dsn, schema.name());
  ASSERT_TRUE(first_pool && second_pool);
  const absl::StatusOr<PageTokens> first = PageTokens::Load(*first_pool);
  const absl::StatusOr<PageTokens> second = PageTokens::Load(*second_pool);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  const std::string hash = QueryHash("q");
  const absl::StatusOr<nlohmann::json> opened =
      second->Decode(first->Encode({{"t", 7}}, hash), hash);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ((*opened)["t"], 7);
  // A schema of its own has a key of its own.
  testing::ScopedSchema other_schema("page_tokens");
  ASSERT_TRUE(
      pg::ApplyMigrations(dsn, other_schema.name(), "page_tokens", PageTokenMigrations()).ok());
  const std::unique_ptr<pg::Pool> other_pool = PoolOn(dsn, other_schema.name());
  ASSERT_TRUE(other_pool);
  const absl::StatusOr<PageTokens> other = PageTokens::Load(*other_pool);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE(other->Decode(first->Encode({{"t", 7}}, hash), hash).ok());
}

}  // namespace
}  // namespace touchline::paging
