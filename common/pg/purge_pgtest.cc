#include "common/pg/purge.h"

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "common/pg/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::pg {
namespace {

constexpr char kDeleteOld[] = R"sql(
DELETE FROM made WHERE ctid = ANY(ARRAY(
  SELECT ctid FROM made
  WHERE made_at < now() - $1::bigint * interval '1 microsecond' LIMIT $2)))sql";

class DeleteInBatchesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PoolOptions options;
    options.dsn = touchline::testing::TestPgDsn();
    options.search_path = schema_.name();
    options.size = 2;
    TL_ASSERT_OK_AND_ASSIGN(pool_, Pool::Create(options));
    // 7 rows two days old, 3 made now.
    TL_ASSERT_OK(pool_->Transact([](pqxx::work& txn) {
      txn.exec("CREATE TABLE made (n int, made_at timestamptz NOT NULL)");
      txn.exec(
          "INSERT INTO made SELECT n, now() - interval '2 days' FROM generate_series(1, 7) n");
      txn.exec("INSERT INTO made SELECT n, now() FROM generate_series(8, 10) n");
      return absl::OkStatus();
    }));
  }

  int64_t Remaining() {
    int64_t count = -1;
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
      count = txn.exec1("SELECT count(*) FROM made WHERE n <= 7")[0].as<int64_t>();
      return absl::OkStatus();
    }));
    return count;
  }

  touchline::testing::ScopedSchema schema_;
  std::unique_ptr<Pool> pool_;
};

// Batches smaller than what is to delete: every old row goes, over several runs, and no new one.
TEST_F(DeleteInBatchesTest, DeletesEveryRowPastTheRetentionInBatchesAndNoOther) {
  TL_ASSERT_OK_AND_ASSIGN(const int64_t purged,
                          DeleteInBatches(*pool_, "made rows", kDeleteOld, absl::Hours(24), 3));
  EXPECT_EQ(purged, 7);
  EXPECT_EQ(Remaining(), 0);
  int64_t all = -1;
  TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) {
    all = txn.exec1("SELECT count(*) FROM made")[0].as<int64_t>();
    return absl::OkStatus();
  }));
  EXPECT_EQ(all, 3);
}

TEST_F(DeleteInBatchesTest, ARetentionLongerThanTheRowsAgeDeletesNothing) {
  TL_ASSERT_OK_AND_ASSIGN(const int64_t purged,
                          DeleteInBatches(*pool_, "made rows", kDeleteOld, absl::Hours(72), 2));
  EXPECT_EQ(purged, 0);
  EXPECT_EQ(Remaining(), 7);
}

TEST_F(DeleteInBatchesTest, RefusesANonPositiveRetentionOrBatchNamingWhat) {
  const absl::StatusOr<int64_t> no_retention =
      DeleteInBatches(*pool_, "made rows", kDeleteOld, absl::ZeroDuration(), 10);
  EXPECT_EQ(no_retention.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_retention.status().message(), ::testing::HasSubstr("made rows"));
  EXPECT_EQ(DeleteInBatches(*pool_, "made rows", kDeleteOld, absl::Hours(1), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Remaining(), 7);
}

}  // namespace
}  // namespace touchline::pg
