#include <future>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/idempotency/idempotency.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::idempotency {
namespace {

using ::testing::UnorderedElementsAre;

Key MakeKey(std::string request_id, std::string fingerprint = "f1",
            std::string method = "CreateCustomer", std::string tenant = "acme") {
  return Key{.tenant_id = std::move(tenant),
             .request_id = std::move(request_id),
             .method = std::move(method),
             .fingerprint = std::move(fingerprint)};
}

class IdempotencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK(pg::ApplyMigrations(dsn_, schema_.name(), "idempotency", IdempotencyMigrations()));
    pg::PoolOptions options;
    options.dsn = dsn_;
    options.search_path = schema_.name();
    options.size = 2;
    TL_ASSERT_OK_AND_ASSIGN(pool_, pg::Pool::Create(options));
  }

  // Claims `key` in a transaction of its own that commits.
  Claim ClaimCommitted(const Key& key, const std::string& result) {
    Claim claim;
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
      TL_ASSIGN_OR_RETURN(claim, ClaimKey(txn, key, result));
      return absl::OkStatus();
    }));
    return claim;
  }

  // A connection of its own on the test schema, for transactions held open across threads.
  std::unique_ptr<pqxx::connection> Connect() {
    auto conn = std::make_unique<pqxx::connection>(dsn_);
    conn->set_variable("search_path", conn->quote_name(schema_.name()));
    return conn;
  }

  // Whether the session `pid` waits for a lock; waits up to 20 s for it to start waiting.
  bool WaitsForALock(int pid) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    pqxx::connection watcher(dsn_);
    while (absl::Now() < deadline) {
      pqxx::nontransaction txn(watcher);
      if (txn.exec_params("SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted", pid)[0][0]
              .as<int>() > 0) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  std::vector<std::string> RequestIds() {
    std::vector<std::string> ids;
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
      for (const auto& row : txn.exec("SELECT request_id FROM idempotency_keys")) {
        ids.push_back(row[0].as<std::string>());
      }
      return absl::OkStatus();
    }));
    return ids;
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"idempotency"};
  std::unique_ptr<pg::Pool> pool_;
};

TEST_F(IdempotencyTest, FirstClaimIsNewAndARetryReplaysItsResult) {
  const Claim first = ClaimCommitted(MakeKey("r1"), "customer-1");
  EXPECT_EQ(first.decision, Decision::kNew);
  EXPECT_EQ(first.result, "customer-1");

  const Claim retry = ClaimCommitted(MakeKey("r1"), "customer-2");
  EXPECT_EQ(retry.decision, Decision::kReplay);
  EXPECT_EQ(retry.result, "customer-1");
}

TEST_F(IdempotencyTest, SameIdForAnotherRequestOrMethodIsAConflict) {
  ClaimCommitted(MakeKey("r1"), "customer-1");

  const Claim other_request = ClaimCommitted(MakeKey("r1", "f2"), "customer-2");
  EXPECT_EQ(other_request.decision, Decision::kConflict);
  EXPECT_EQ(other_request.result, "");
  EXPECT_EQ(ClaimCommitted(MakeKey("r1", "f1", "MergeCustomers"), "merge-1").decision,
            Decision::kConflict);
}

TEST_F(IdempotencyTest, KeysBelongToTheirTenant) {
  ClaimCommitted(MakeKey("r1"), "customer-1");
  const Claim other_tenant = ClaimCommitted(MakeKey("r1", "f2", "CreateCustomer", "globex"), "c-9");
  EXPECT_EQ(other_tenant.decision, Decision::kNew);
}

TEST_F(IdempotencyTest, RolledBackClaimLeavesTheKeyFree) {
  const absl::Status rolled_back = pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(const Claim claim, ClaimKey(txn, MakeKey("r1"), "customer-1"));
    EXPECT_EQ(claim.decision, Decision::kNew);
    return absl::CancelledError("the write it guarded failed");
  });
  EXPECT_THAT(rolled_back, touchline::testing::StatusIs(absl::StatusCode::kCancelled));

  const Claim again = ClaimCommitted(MakeKey("r1", "f2"), "customer-2");
  EXPECT_EQ(again.decision, Decision::kNew);
  EXPECT_EQ(again.result, "customer-2");
}

TEST_F(IdempotencyTest, BatchDecidesEachClaimIncludingRepeatsWithinIt) {
  ClaimCommitted(MakeKey("earlier"), "customer-0");
  const std::vector<KeyClaim> claims = {
      {MakeKey("r1"), "customer-1"},
      {MakeKey("earlier"), "customer-2"},   // a retry of the earlier request
      {MakeKey("r1"), "customer-3"},        // the same request twice in one batch
      {MakeKey("r1", "f9"), "customer-4"},  // the id reused within the batch
      {MakeKey("r2"), "customer-5"},
  };
  std::vector<Claim> decided;
  TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(decided, ClaimKeys(txn, claims));
    return absl::OkStatus();
  }));

  ASSERT_EQ(decided.size(), 5u);
  EXPECT_EQ(decided[0].decision, Decision::kNew);
  EXPECT_EQ(decided[0].result, "customer-1");
  EXPECT_EQ(decided[1].decision, Decision::kReplay);
  EXPECT_EQ(decided[1].result, "customer-0");
  EXPECT_EQ(decided[2].decision, Decision::kReplay);
  EXPECT_EQ(decided[2].result, "customer-1");
  EXPECT_EQ(decided[3].decision, Decision::kConflict);
  EXPECT_EQ(decided[4].decision, Decision::kNew);
  EXPECT_EQ(decided[4].result, "customer-5");
  EXPECT_THAT(RequestIds(), UnorderedElementsAre("earlier", "r1", "r2"));
}

TEST_F(IdempotencyTest, ConcurrentClaimWaitsForTheFirstAndReplaysItOnceCommitted) {
  auto first_conn = Connect();
  pqxx::work first(*first_conn);
  TL_ASSERT_OK_AND_ASSIGN(const Claim won, ClaimKey(first, MakeKey("r1"), "customer-1"));
  ASSERT_EQ(won.decision, Decision::kNew);

  auto second_conn = Connect();
  const int second_pid = second_conn->backendpid();
  std::future<absl::StatusOr<Claim>> second = std::async(std::launch::async, [&] {
    pqxx::work txn(*second_conn);
    absl::StatusOr<Claim> claim = ClaimKey(txn, MakeKey("r1"), "customer-2");
    txn.commit();
    return claim;
  });
  EXPECT_TRUE(WaitsForALock(second_pid));
  first.commit();

  TL_ASSERT_OK_AND_ASSIGN(const Claim lost, second.get());
  EXPECT_EQ(lost.decision, Decision::kReplay);
  EXPECT_EQ(lost.result, "customer-1");
}

TEST_F(IdempotencyTest, ConcurrentClaimTakesTheKeyWhenTheFirstRollsBack) {
  auto first_conn = Connect();
  auto first = std::make_unique<pqxx::work>(*first_conn);
  TL_ASSERT_OK_AND_ASSIGN(const Claim won, ClaimKey(*first, MakeKey("r1"), "customer-1"));
  ASSERT_EQ(won.decision, Decision::kNew);

  auto second_conn = Connect();
  const int second_pid = second_conn->backendpid();
  std::future<absl::StatusOr<Claim>> second = std::async(std::launch::async, [&] {
    pqxx::work txn(*second_conn);
    absl::StatusOr<Claim> claim = ClaimKey(txn, MakeKey("r1", "f2"), "customer-2");
    txn.commit();
    return claim;
  });
  EXPECT_TRUE(WaitsForALock(second_pid));
  first->abort();

  TL_ASSERT_OK_AND_ASSIGN(const Claim taken, second.get());
  EXPECT_EQ(taken.decision, Decision::kNew);
  EXPECT_EQ(taken.result, "customer-2");
  EXPECT_EQ(ClaimCommitted(MakeKey("r1", "f2"), "customer-3").result, "customer-2");
}

TEST_F(IdempotencyTest, ReleaseGivesBackOnlyTheCallersOwnClaims) {
  ClaimCommitted(MakeKey("theirs"), "customer-0");
  TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    const std::vector<KeyClaim> claims = {{MakeKey("mine"), "customer-1"},
                                          {MakeKey("theirs"), "customer-2"}};
    TL_ASSIGN_OR_RETURN(const std::vector<Claim> decided, ClaimKeys(txn, claims));
    EXPECT_EQ(decided[0].decision, Decision::kNew);
    EXPECT_EQ(decided[1].decision, Decision::kReplay);
    ReleaseKeys(txn, claims);
    return absl::OkStatus();
  }));
  EXPECT_THAT(RequestIds(), UnorderedElementsAre("theirs"));
}

TEST_F(IdempotencyTest, PurgeDeletesOnlyKeysOlderThanTheRetention) {
  for (const char* id : {"old", "older", "recent", "new"}) ClaimCommitted(MakeKey(id), "c");
  TL_ASSERT_OK(pool_->Transact([](pqxx::work& txn) {
    txn.exec(
        "UPDATE idempotency_keys SET create_time = now() - CASE request_id"
        " WHEN 'old' THEN interval '7 days 1 second' WHEN 'older' THEN interval '90 days'"
        " WHEN 'recent' THEN interval '6 days 23 hours' ELSE interval '0' END");
    return absl::OkStatus();
  }));

  // One key per batch: three batches, the last one empty.
  TL_ASSERT_OK_AND_ASSIGN(const int64_t purged,
                          PurgeExpiredKeys(*pool_, absl::Hours(7 * 24), /*batch_size=*/1));
  EXPECT_EQ(purged, 2);
  EXPECT_THAT(RequestIds(), UnorderedElementsAre("recent", "new"));
  // A retry within the retention still replays.
  EXPECT_EQ(ClaimCommitted(MakeKey("recent"), "other").decision, Decision::kReplay);
  // Past it, the id is free again.
  EXPECT_EQ(ClaimCommitted(MakeKey("old", "f2"), "c2").decision, Decision::kNew);
}

TEST_F(IdempotencyTest, PurgeRejectsBadArguments) {
  EXPECT_THAT(PurgeExpiredKeys(*pool_, absl::ZeroDuration()),
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PurgeExpiredKeys(*pool_, absl::Hours(1), 0),
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::idempotency
