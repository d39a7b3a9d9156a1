#include "common/pg/pool.h"

#include <atomic>
#include <memory>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::pg {
namespace {

using ::touchline::testing::StatusIs;

// Makes the server abort the transaction as it does when two serializable transactions
// conflict.
constexpr char kForceSerializationFailure[] =
    "DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; END $$";

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(pool_, MakePool(2));
    TL_ASSERT_OK(pool_->Query([](pqxx::nontransaction& txn) {
      txn.exec("CREATE TABLE item (id int PRIMARY KEY, note text)");
      return absl::OkStatus();
    }));
  }

  absl::StatusOr<std::unique_ptr<Pool>> MakePool(int size) {
    PoolOptions options;
    options.dsn = touchline::testing::TestPgDsn();
    options.search_path = schema_.name();
    options.size = size;
    options.acquire_timeout = absl::Milliseconds(300);
    options.statement_timeout = absl::Milliseconds(500);
    options.prepared = {{"item_count", "SELECT count(*) FROM item"}};
    options.settings = {{"plan_cache_mode", "force_generic_plan"},
                        {"application_name", "pool test's"}};
    return Pool::Create(std::move(options));
  }

  // Rows in `item`, or -1 if the count fails.
  long ItemCount(Pool& pool) {
    long count = -1;
    const absl::Status status = pool.Query([&count](pqxx::nontransaction& txn) {
      count = txn.exec_prepared("item_count")[0][0].as<long>();
      return absl::OkStatus();
    });
    EXPECT_THAT(status, touchline::testing::IsOk());
    return count;
  }

  touchline::testing::ScopedSchema schema_;
  std::unique_ptr<Pool> pool_;
};

TEST(PoolCreateTest, FailsWithUnavailableWhenServerIsDown) {
  // Port 1 on loopback: nothing listens there and connecting is refused at once.
  PoolOptions options;
  options.dsn = "host=127.0.0.1 port=1 dbname=touchline user=touchline connect_timeout=2";
  EXPECT_THAT(Pool::Create(options), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(PoolCreateTest, RejectsBadOptions) {
  PoolOptions options;
  options.dsn = touchline::testing::TestPgDsn();
  options.size = 0;
  EXPECT_THAT(Pool::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options.size = 1;
  options.dsn = "";
  EXPECT_THAT(Pool::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(PoolTest, EveryConnectionCarriesTheSettings) {
  TL_ASSERT_OK(pool_->Query([](pqxx::nontransaction& txn) {
    EXPECT_EQ(txn.exec("SHOW plan_cache_mode")[0][0].as<std::string>(), "force_generic_plan");
    EXPECT_EQ(txn.exec("SHOW application_name")[0][0].as<std::string>(), "pool test's");
    return absl::OkStatus();
  }));
}

TEST_F(PoolTest, TransactCommitsWhenFnReturnsOk) {
  TL_ASSERT_OK(pool_->Transact([](pqxx::work& txn) {
    txn.exec("INSERT INTO item VALUES (1, 'a'), (2, 'b')");
    return absl::OkStatus();
  }));
  EXPECT_EQ(ItemCount(*pool_), 2);
}

TEST_F(PoolTest, TransactRollsBackAndReturnsTheErrorOfFn) {
  EXPECT_THAT(pool_->Transact([](pqxx::work& txn) {
    txn.exec("INSERT INTO item VALUES (1, 'a')");
    return absl::NotFoundError("no such customer");
  }),
              StatusIs(absl::StatusCode::kNotFound, "no such customer"));
  EXPECT_EQ(ItemCount(*pool_), 0);
}

TEST_F(PoolTest, TransactRollsBackWhenAStatementFails) {
  EXPECT_THAT(pool_->Transact([](pqxx::work& txn) {
    txn.exec("INSERT INTO item VALUES (1, 'a')");
    txn.exec("INSERT INTO item VALUES (1, 'again')");
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(ItemCount(*pool_), 0);
}

TEST_F(PoolTest, TransactMapsExceptionsThatAreNotFromTheDatabase) {
  EXPECT_THAT(
      pool_->Transact([](pqxx::work&) -> absl::Status { throw std::out_of_range("index 7"); }),
      StatusIs(absl::StatusCode::kInternal));
}

TEST_F(PoolTest, TransactRetriesSerializationFailures) {
  int attempts = 0;
  TL_ASSERT_OK(pool_->Transact(
      [&attempts](pqxx::work& txn) {
        txn.exec_params("INSERT INTO item VALUES ($1, 'attempt')", ++attempts);
        if (attempts < 3) txn.exec(kForceSerializationFailure);
        return absl::OkStatus();
      },
      /*retries=*/2));
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(ItemCount(*pool_), 1);  // Only the last attempt committed.
}

TEST_F(PoolTest, TransactGivesUpWithAbortedAfterRetries) {
  int attempts = 0;
  EXPECT_THAT(pool_->Transact(
                  [&attempts](pqxx::work& txn) {
                    ++attempts;
                    txn.exec(kForceSerializationFailure);
                    return absl::OkStatus();
                  },
                  /*retries=*/1),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(attempts, 2);
}

TEST_F(PoolTest, TransactDoesNotRetryAbortedReturnedByFn) {
  int attempts = 0;
  EXPECT_THAT(pool_->Transact([&attempts](pqxx::work&) {
    ++attempts;
    return absl::AbortedError("etag mismatch");
  }),
              StatusIs(absl::StatusCode::kAborted, "etag mismatch"));
  EXPECT_EQ(attempts, 1);
}

TEST_F(PoolTest, QueryCommitsEachStatementOnItsOwn) {
  EXPECT_THAT(pool_->Query([](pqxx::nontransaction& txn) {
    txn.exec("INSERT INTO item VALUES (1, 'kept')");
    txn.exec("INSERT INTO item VALUES (1, 'duplicate')");
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(ItemCount(*pool_), 1);
}

TEST_F(PoolTest, StatementTimeoutIsDeadlineExceededAndThePoolStaysUsable) {
  EXPECT_THAT(pool_->Query([](pqxx::nontransaction& txn) {
    txn.exec("SELECT pg_sleep(5)");
    return absl::OkStatus();
  }),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(ItemCount(*pool_), 0);
}

TEST_F(PoolTest, EveryConnectionHasTheSearchPathAndPreparedStatements) {
  // Hold both connections at once so that the second one is opened lazily.
  absl::Notification first_holds, second_done;
  std::thread holder([&] {
    EXPECT_EQ(ItemCount(*pool_), 0);
    TL_EXPECT_OK(pool_->Query([&](pqxx::nontransaction& txn) {
      txn.exec_prepared("item_count");
      first_holds.Notify();
      second_done.WaitForNotification();
      return absl::OkStatus();
    }));
  });
  first_holds.WaitForNotification();
  std::string search_path;
  TL_EXPECT_OK(pool_->Query([&](pqxx::nontransaction& txn) {
    txn.exec_prepared("item_count");
    search_path = txn.exec("SHOW search_path")[0][0].as<std::string>();
    return absl::OkStatus();
  }));
  second_done.Notify();
  holder.join();
  EXPECT_THAT(search_path, ::testing::HasSubstr(schema_.name()));
}

TEST_F(PoolTest, ExhaustedPoolFailsWithUnavailableAfterAcquireTimeout) {
  absl::Notification both_held, release;
  std::atomic<int> holding{0};
  std::vector<std::thread> holders;
  for (int i = 0; i < pool_->size(); ++i) {
    holders.emplace_back([&] {
      TL_EXPECT_OK(pool_->Query([&](pqxx::nontransaction&) {
        if (++holding == pool_->size()) both_held.Notify();
        release.WaitForNotification();
        return absl::OkStatus();
      }));
    });
  }
  both_held.WaitForNotification();
  const absl::Time start = absl::Now();
  EXPECT_THAT(pool_->Query([](pqxx::nontransaction&) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kUnavailable));
  const absl::Duration waited = absl::Now() - start;
  release.Notify();
  for (std::thread& holder : holders) holder.join();
  EXPECT_GE(waited, absl::Milliseconds(300));
  EXPECT_LT(waited, absl::Seconds(3));
  EXPECT_EQ(ItemCount(*pool_), 0);  // Usable again once the holders are done.
}

TEST_F(PoolTest, TerminatedConnectionIsReplacedOnNextUse) {
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Pool> pool, MakePool(1));
  const auto backend_pid = [&pool]() {
    int pid = 0;
    EXPECT_THAT(pool->Query([&pid](pqxx::nontransaction& txn) {
      pid = txn.exec("SELECT pg_backend_pid()")[0][0].as<int>();
      return absl::OkStatus();
    }),
                touchline::testing::IsOk());
    return pid;
  };
  const int before = backend_pid();
  {
    pqxx::connection admin(touchline::testing::TestPgDsn());
    pqxx::nontransaction txn(admin);
    // Also waits until the backend is gone, so the pool sees it closed.
    txn.exec_params("SELECT pg_terminate_backend($1, 5000)", before);
  }
  const int after = backend_pid();
  EXPECT_NE(after, 0);
  EXPECT_NE(after, before);
  EXPECT_EQ(ItemCount(*pool), 0);  // search_path and prepared statements were set up again.
}

TEST_F(PoolTest, ConcurrentTransactionsAllCommit) {
  constexpr int kThreads = 6;
  constexpr int kEach = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
          txn.exec_params("INSERT INTO item VALUES ($1, 'x')", t * kEach + i);
          return absl::OkStatus();
        }));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ItemCount(*pool_), kThreads * kEach);
}

}  // namespace
}  // namespace touchline::pg
