#include "common/pg/array.h"

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/pg/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::pg {
namespace {

using ::testing::ElementsAreArray;

TEST(TextArrayLiteralTest, QuotesEveryElementAndEscapesQuotesAndBackslashes) {
  EXPECT_EQ(TextArrayLiteral({}), "{}");
  EXPECT_EQ(TextArrayLiteral({"a"}), R"({"a"})");
  EXPECT_EQ(TextArrayLiteral({"a,b", "say \"hi\"", R"(c:\dir)"}),
            R"({"a,b","say \"hi\"","c:\\dir"})");
  EXPECT_EQ(TextArrayLiteral({"北京", ""}), R"({"北京",""})");
}

// The server must read back exactly the elements given, whatever characters they hold.
TEST(TextArrayLiteralTest, PostgresqlReadsBackTheSameElements) {
  PoolOptions options;
  options.dsn = touchline::testing::TestPgDsn();
  options.size = 1;
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Pool> pool, Pool::Create(options));
  const std::vector<std::string> elements = {
      "plain",     "a,b",  "{braces}",  "say \"hi\"", R"(c:\dir\)", "NULL",      "null", "",
      "  spaced ", "北京", "华北 区域", "'single'",   "tab\there",  "new\nline", "}",    "\\\""};
  std::vector<std::string> read_back;
  TL_ASSERT_OK(pool->Query([&](pqxx::nontransaction& txn) {
    pqxx::result rows = txn.exec_params(
        "SELECT e, e IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS t(e, n) ORDER BY n",
        TextArrayLiteral(elements));
    for (const pqxx::row& row : rows) {
      EXPECT_FALSE(row[1].as<bool>()) << "element " << read_back.size() << " read as NULL";
      read_back.push_back(row[0].as<std::string>(""));
    }
    return absl::OkStatus();
  }));
  EXPECT_THAT(read_back, ElementsAreArray(elements));
}

// ParseTextArray reads what TextArrayLiteral wrote, back from a text[] column.
TEST(ParseTextArrayTest, RoundTripsThroughATextArrayColumn) {
  PoolOptions options;
  options.dsn = touchline::testing::TestPgDsn();
  options.size = 1;
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Pool> pool, Pool::Create(options));
  const std::vector<std::string> elements = {"plain", "a,b",  "{braces}", "say \"hi\"",
                                             "NULL",  "北京", "",         "\\"};
  TL_ASSERT_OK(pool->Query([&](pqxx::nontransaction& txn) {
    pqxx::result rows = txn.exec_params("SELECT $1::text[], '{}'::text[]",
                                        TextArrayLiteral(elements));
    EXPECT_THAT(ParseTextArray(rows[0][0]), ElementsAreArray(elements));
    EXPECT_TRUE(ParseTextArray(rows[0][1]).empty());
    return absl::OkStatus();
  }));
}

TEST(TextArrayLiteralTest, AnEmptyListMatchesNothing) {
  PoolOptions options;
  options.dsn = touchline::testing::TestPgDsn();
  options.size = 1;
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Pool> pool, Pool::Create(options));
  TL_ASSERT_OK(pool->Query([&](pqxx::nontransaction& txn) {
    pqxx::result rows = txn.exec_params("SELECT 'x' = ANY($1::text[])", TextArrayLiteral({}));
    EXPECT_FALSE(rows[0][0].as<bool>());
    return absl::OkStatus();
  }));
}

}  // namespace
}  // namespace touchline::pg
