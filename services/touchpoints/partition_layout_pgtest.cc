// The partition layout (migrations/0002_history_archive.sql): old history goes to one archive
// partition, so a write dated years back creates no partition, and a schema that already has
// monthly partitions of old months gets them folded into the archive.
#include <pqxx/pqxx>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/touchpoints/touchpoint_row.h"
#include "services/touchpoints/touchpoints_service_fixture.h"

namespace touchline::touchpoints {
namespace {

using ::testing::ElementsAreArray;
using ::testing::Ge;
using ::testing::Le;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAreArray;

// Partitions of `schema`.touchpoints.
int CountPartitions(pqxx::transaction_base& txn, const std::string& schema) {
  return txn
      .exec_params("SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass($1)",
                   schema + ".touchpoints")[0][0]
      .as<int>();
}

// The first day of month `month` (1-based) of `year`, 10:00 UTC.
absl::Time InMonth(int year, int month) {
  return absl::FromCivil(absl::CivilHour(year, month, 1, 10), absl::UTCTimeZone());
}

using PartitionLayoutTest = TouchpointsServiceTest;

TEST_F(PartitionLayoutTest, BatchSpanningTwentyFiveYearsCreatesNoPartitionPerMonth) {
  const SeededCustomer customer = SeedCustomer();
  int before = 0;
  ASSERT_TRUE(pool_->Query([&](pqxx::nontransaction& txn) {
                     before = CountPartitions(txn, schema_.name());
                     return absl::OkStatus();
                   }).ok());

  // One touchpoint a month, 2000-01 to 2024-12: 300 months.
  v1::BatchRecordTouchpointsRequest request;
  for (int year = 2000; year <= 2024; ++year) {
    for (int month = 1; month <= 12; ++month) {
      *request.add_requests()->mutable_touchpoint() =
          Basic(customer.id, InMonth(year, month), absl::StrCat("历史异议 ", year, "-", month));
    }
  }
  v1::BatchRecordTouchpointsResponse response;
  const grpc::Status status = BatchRecord(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.recorded_count(), 300);
  std::vector<std::string> newest_first;
  for (int i = response.results_size() - 1; i >= 0; --i) {
    newest_first.push_back(response.results(i).touchpoint().touchpoint_id());
  }

  int after = 0;
  ASSERT_TRUE(pool_->Query([&](pqxx::nontransaction& txn) {
                     after = CountPartitions(txn, schema_.name());
                     return absl::OkStatus();
                   }).ok());
  // The fixture made the months from 13 before now to 3 ahead (those before the archive's end
  // are the archive's): 1 + at most 17. None more for the 300 old months.
  EXPECT_EQ(after, before);
  EXPECT_THAT(after, Le(18));

  // All of it is readable: the timeline, and searches in both orders.
  EXPECT_THAT(ListIds(customer.id, {}), ElementsAreArray(newest_first));
  v1::SearchTouchpointsRequest search;
  search.set_query("异议");
  search.set_order(v1::SEARCH_ORDER_OCCUR_TIME_DESC);
  search.set_page_size(100);
  EXPECT_THAT(SearchAllIds(search), ElementsAreArray(newest_first));
  search.set_order(v1::SEARCH_ORDER_RELEVANCE);
  EXPECT_THAT(SearchAllIds(search), UnorderedElementsAreArray(newest_first));
  // Narrowed to 2003 (within the archive) and paged.
  *search.mutable_filter()->mutable_occur_time_start() = Ts(InMonth(2003, 1) - absl::Hours(10));
  *search.mutable_filter()->mutable_occur_time_end() = Ts(InMonth(2004, 1) - absl::Hours(10));
  search.set_order(v1::SEARCH_ORDER_OCCUR_TIME_DESC);
  search.set_page_size(5);
  EXPECT_THAT(SearchAllIds(search),
              ElementsAreArray(newest_first.begin() + 12 * 21, newest_first.begin() + 12 * 22));

  // A correction moving one into another old month stays in the archive, and is found there.
  v1::Touchpoint moved;
  ASSERT_TRUE(Get(newest_first.back(), &moved).ok());
  *moved.mutable_occur_time() = Ts(InMonth(2010, 6) + absl::Minutes(1));
  ASSERT_TRUE(Update(moved, {"occur_time"}, &moved).ok());
  ASSERT_TRUE(pool_->Query([&](pqxx::nontransaction& txn) {
                     EXPECT_EQ(CountPartitions(txn, schema_.name()), before);
                     EXPECT_EQ(txn.exec("SELECT count(*) FROM touchpoints_archive")[0][0].as<int>(),
                               300);
                     return absl::OkStatus();
                   }).ok());
  EXPECT_THAT(ListIds(customer.id, {}), SizeIs(300));
}

TEST_F(PartitionLayoutTest, MigrationFoldsOldMonthlyPartitionsIntoTheArchive) {
  // A schema as 0001 left it, with monthly partitions of 2001 and of the last months.
  testing::ScopedSchema old_schema{"touchpoints_layout_test"};
  const std::vector<pg::Migration>& all = pg::touchpoints_migrations();
  ASSERT_THAT(all, SizeIs(Ge(2)));
  absl::Status migrated =
      pg::ApplyMigrations(testing::TestPgDsn(), old_schema.name(), "touchpoints", {all[0]});
  ASSERT_TRUE(migrated.ok()) << migrated;
  const absl::Time now = NowMicros();
  pqxx::connection conn(testing::TestPgDsn());
  std::vector<std::string> ids;
  {
    pqxx::work txn(conn);
    txn.exec("SET search_path TO " + txn.quote_name(old_schema.name()));
    txn.exec_params("SELECT ensure_partitions($1::timestamptz, $2::timestamptz)",
                    PgTime(InMonth(2001, 1)), PgTime(InMonth(2001, 12)));
    const absl::CivilMonth this_month = absl::ToCivilMonth(now, absl::UTCTimeZone());
    txn.exec_params("SELECT ensure_partitions($1::timestamptz, $2::timestamptz)",
                    PgTime(absl::FromCivil(this_month - 2, absl::UTCTimeZone())), PgTime(now));
    std::vector<TouchpointRow> rows;
    for (const absl::Time at : {InMonth(2001, 3), InMonth(2001, 11), now - absl::Hours(1)}) {
      v1::Touchpoint t = Basic(ids::NewUuid(), at);
      t.set_touchpoint_id(ids::NewUuid());
      *t.mutable_record_time() = Ts(at);
      *t.mutable_update_time() = Ts(at);
      t.set_etag("1");
      ids.push_back(t.touchpoint_id());
      rows.push_back(ToRow(kTenant, t));
    }
    CopyRows(txn, rows);
    EXPECT_EQ(CountPartitions(txn, old_schema.name()), 12 + 3);
    txn.commit();
  }

  migrated = pg::ApplyMigrations(testing::TestPgDsn(), old_schema.name(), "touchpoints", all);
  ASSERT_TRUE(migrated.ok()) << migrated;
  pqxx::work txn(conn);
  txn.exec("SET search_path TO " + txn.quote_name(old_schema.name()));
  // 2001's twelve months are one archive now; the last three months stay monthly.
  EXPECT_EQ(CountPartitions(txn, old_schema.name()), 1 + 3);
  std::vector<std::string> archived, all_ids;
  for (const auto& row : txn.exec("SELECT touchpoint_id::text FROM touchpoints_archive")) {
    archived.push_back(row[0].c_str());
  }
  for (const auto& row : txn.exec("SELECT touchpoint_id::text FROM touchpoints")) {
    all_ids.push_back(row[0].c_str());
  }
  EXPECT_THAT(archived, UnorderedElementsAreArray({ids[0], ids[1]}));
  EXPECT_THAT(all_ids, UnorderedElementsAreArray(ids));
  // Asking for the old months again creates nothing.
  EXPECT_EQ(txn.exec_params("SELECT ensure_partitions($1::timestamptz, $2::timestamptz)",
                            PgTime(InMonth(2000, 1)), PgTime(InMonth(2001, 12)))[0][0]
                .as<int>(),
            0);
}

}  // namespace
}  // namespace touchline::touchpoints
