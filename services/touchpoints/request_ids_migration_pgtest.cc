// migrations/0005_request_ids_shared.sql: the request ids recorded before touchpoints used the
// shared idempotency table keep replaying after it.
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/pg/migrator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/touchpoints/migrations.h"
#include "services/touchpoints/record_decision.h"
#include "services/touchpoints/touchpoint_row.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::touchpoints {
namespace {

using ::testing::Ge;
using ::testing::SizeIs;

constexpr char kTenant[] = "acme";
constexpr char kFingerprint[] = "0a1b2c3d";

TEST(RequestIdsMigrationTest, KeysRecordedBeforeReplayAfter) {
  // A schema as 0004 left it, with one touchpoint recorded with a request id and a source.
  testing::ScopedSchema schema{"touchpoints_request_ids_test"};
  const std::string dsn = testing::TestPgDsn();
  TL_ASSERT_OK(
      pg::ApplyMigrations(dsn, schema.name(), "idempotency", idempotency::IdempotencyMigrations()));
  const std::vector<pg::Migration>& all = pg::touchpoints_migrations();
  ASSERT_THAT(all, SizeIs(Ge(5)));
  TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema.name(), "touchpoints",
                                   std::vector<pg::Migration>(all.begin(), all.begin() + 4)));
  const std::string touchpoint_id = ids::NewUuid();
  pqxx::connection conn(dsn);
  {
    pqxx::work txn(conn);
    txn.exec("SET search_path TO " + txn.quote_name(schema.name()));
    for (const auto& [kind, key] : {std::pair{1, "req-old"}, std::pair{2, "3:crmx-7"}}) {
      txn.exec_params(
          "INSERT INTO touchpoint_keys (tenant_id, kind, key, touchpoint_id, occurred_at, "
          "fingerprint) VALUES ($1, $2, $3, $4::uuid, $5::timestamptz, decode($6, 'hex'))",
          kTenant, kind, key, touchpoint_id, PgTime(absl::Now()), kFingerprint);
    }
    txn.commit();
  }

  TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema.name(), "touchpoints", all));
  pqxx::work txn(conn);
  txn.exec("SET search_path TO " + txn.quote_name(schema.name()));
  // The request id replays the touchpoint it recorded, for the same request only.
  TL_ASSERT_OK_AND_ASSIGN(
      const std::vector<idempotency::Claim> claims,
      idempotency::ClaimKeys(
          txn, std::vector<idempotency::KeyClaim>{
                   {{kTenant, "req-old", kRecordMethod, kFingerprint}, ids::NewUuid()},
                   {{kTenant, "req-old", kRecordMethod, "ffff"}, ids::NewUuid()}}));
  ASSERT_THAT(claims, SizeIs(2));
  EXPECT_EQ(claims[0].decision, idempotency::Decision::kReplay);
  EXPECT_EQ(claims[0].result, touchpoint_id);
  EXPECT_EQ(claims[1].decision, idempotency::Decision::kConflict);
  // The source key stays; the request key is no longer in touchpoint_keys.
  EXPECT_EQ(txn.exec("SELECT kind FROM touchpoint_keys ORDER BY kind")[0][0].as<int>(), kSourceKey);
  EXPECT_EQ(txn.exec("SELECT count(*) FROM touchpoint_keys")[0][0].as<int>(), 1);
}

}  // namespace
}  // namespace touchline::touchpoints
