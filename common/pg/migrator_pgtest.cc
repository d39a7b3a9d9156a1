#include "common/pg/migrator.h"

#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::pg {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::touchline::testing::StatusIs;

const std::vector<Migration> kTwo = {
    {1, "0001_create_note.sql", "CREATE TABLE note (id int PRIMARY KEY, body text);"},
    {2, "0002_seed_note.sql", "INSERT INTO note VALUES (1, 'seed');"},
};

class MigratorTest : public ::testing::Test {
 protected:
  absl::Status Apply(const std::vector<Migration>& migrations, std::string_view component = "svc") {
    return ApplyMigrations(dsn_, schema_.name(), component, migrations);
  }

  // The single value `sql` returns, run with search_path set to the test schema.
  std::string Scalar(const std::string& sql) {
    pqxx::connection conn(dsn_);
    conn.set_variable("search_path", conn.quote_name(schema_.name()));
    pqxx::nontransaction txn(conn);
    return txn.exec(sql)[0][0].as<std::string>();
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_;
};

TEST_F(MigratorTest, AppliesMigrationsInOrderAndRecordsThem) {
  TL_ASSERT_OK(Apply(kTwo));
  EXPECT_EQ(Scalar("SELECT body FROM note"), "seed");
  EXPECT_EQ(Scalar("SELECT string_agg(version || ':' || name || ':' || length(checksum), ','"
                   " ORDER BY version) FROM schema_migrations WHERE component = 'svc'"),
            "1:0001_create_note.sql:64,2:0002_seed_note.sql:64");
}

TEST_F(MigratorTest, CreatesTheSchemaIfMissing) {
  pqxx::connection conn(dsn_);
  pqxx::nontransaction(conn).exec("DROP SCHEMA \"" + schema_.name() + "\"");
  TL_ASSERT_OK(Apply(kTwo));
  EXPECT_EQ(Scalar("SELECT count(*) FROM note"), "1");
}

TEST_F(MigratorTest, ReapplyingChangesNothing) {
  TL_ASSERT_OK(Apply(kTwo));
  TL_ASSERT_OK(Apply(kTwo));
  EXPECT_EQ(Scalar("SELECT count(*) FROM note"), "1");
  EXPECT_EQ(Scalar("SELECT count(*) FROM schema_migrations"), "2");
}

TEST_F(MigratorTest, AppliesOnlyTheNewMigrations) {
  TL_ASSERT_OK(Apply({kTwo[0]}));
  TL_ASSERT_OK(Apply(kTwo));
  EXPECT_EQ(Scalar("SELECT count(*) FROM note"), "1");
}

TEST_F(MigratorTest, RefusesAMigrationChangedAfterItWasApplied) {
  TL_ASSERT_OK(Apply({kTwo[0]}));
  std::vector<Migration> edited = kTwo;
  edited[0].sql = "CREATE TABLE note (id bigint PRIMARY KEY, body text);";
  EXPECT_THAT(Apply(edited), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      AllOf(HasSubstr("0001_create_note.sql"),
                                            HasSubstr("changed after it was applied"))));
  // Nothing after the refusal ran.
  EXPECT_EQ(Scalar("SELECT count(*) FROM note"), "0");
}

TEST_F(MigratorTest, RefusesVersionsThatDoNotIncrease) {
  const std::vector<Migration> unordered = {kTwo[1], kTwo[0]};
  EXPECT_THAT(Apply(unordered),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("strictly increasing")));
  const std::vector<Migration> repeated = {kTwo[0], {1, "0001_again.sql", "SELECT 1;"}};
  EXPECT_THAT(Apply(repeated), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Scalar("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"), "0");
}

TEST_F(MigratorTest, AFailingMigrationIsRolledBackAndEarlierOnesAreKept) {
  const std::vector<Migration> broken = {
      kTwo[0],
      {2, "0002_broken.sql", "CREATE TABLE half (id int); INSERT INTO missing VALUES (1);"},
  };
  EXPECT_THAT(Apply(broken), StatusIs(absl::StatusCode::kInternal, HasSubstr("0002_broken.sql")));
  EXPECT_EQ(Scalar("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
                   " AND tablename IN ('note', 'half')"),
            "1");
  EXPECT_EQ(Scalar("SELECT max(version) FROM schema_migrations"), "1");
}

TEST_F(MigratorTest, ComponentsKeepSeparateVersions) {
  TL_ASSERT_OK(Apply(kTwo, "svc"));
  TL_ASSERT_OK(Apply({{1, "0001_outbox.sql", "CREATE TABLE box (id int);"}}, "outbox"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM schema_migrations"), "3");
}

TEST_F(MigratorTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  // Each run of the seed migration would add a row; the primary key would also make a second
  // run fail.
  constexpr int kReplicas = 8;
  std::vector<absl::Status> results(kReplicas);
  std::vector<std::thread> replicas;
  for (int i = 0; i < kReplicas; ++i) {
    replicas.emplace_back([this, &results, i] { results[i] = Apply(kTwo); });
  }
  for (std::thread& replica : replicas) replica.join();
  for (const absl::Status& result : results) TL_EXPECT_OK(result);
  EXPECT_EQ(Scalar("SELECT count(*) FROM note"), "1");
  EXPECT_EQ(Scalar("SELECT count(*) FROM schema_migrations"), "2");
}

TEST(MigratorUnreachableTest, FailsWithUnavailableWhenServerIsDown) {
  EXPECT_THAT(
      ApplyMigrations("host=127.0.0.1 port=1 dbname=touchline user=touchline", "s", "svc", kTwo),
      StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace touchline::pg
