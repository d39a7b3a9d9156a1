// The job queue against real PostgreSQL, on the automation schema as the host migrates it:
// one job per key, claims of due work only, concurrent workers that never share a job, leases
// that return a dead worker's jobs and refuse its late writes, retries, dead letters and their
// redrive, fairness across tenants, and the purge of finished jobs.
#include <algorithm>
#include <iostream>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "common/pg/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/jobs/job_queue.h"
#include "services/automation/jobs/sql.h"
#include "services/automation/tasks/testing/pg_schema.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::automation {
namespace {

using ::testing::Contains;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::touchline::testing::StatusIs;

constexpr char kAcme[] = "acme";
constexpr char kBeta[] = "beta";
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 12, 7, 9, 0, 0), absl::UTCTimeZone());
const absl::Duration kLease = absl::Seconds(30);

class JobQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(pool_, testing::MigratedPool(dsn_, schema_.name()));
    queue_ = std::make_unique<JobQueue>(pool_.get(), [this] { return now_; });
  }

  // A job of `tenant` with `key`, due `due_in` from now; its id.
  std::string Add(const std::string& tenant, const std::string& key,
                  absl::Duration due_in = absl::ZeroDuration()) {
    const auto enqueued = queue_->Enqueue({.tenant_id = tenant,
                                           .key = key,
                                           .kind = "webhook",
                                           .payload = "{}",
                                           .due_time = now_ + due_in});
    EXPECT_TRUE(enqueued.ok()) << enqueued.status();
    return enqueued.ok() ? enqueued->job_id : "";
  }

  // `n` due jobs of `tenant` ("<prefix><i>"), due one microsecond apart from `first`, in one
  // statement.
  void AddMany(const std::string& tenant, const std::string& prefix, int n, absl::Time first) {
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
      for (int i = 0; i < n; ++i) {
        const auto enqueued = JobQueue::Enqueue(txn,
                                                {.tenant_id = tenant,
                                                 .key = absl::StrCat(prefix, i),
                                                 .kind = "timer",
                                                 .payload = "",
                                                 .due_time = first + absl::Microseconds(i)},
                                                now_);
        if (!enqueued.ok()) return enqueued.status();
      }
      return absl::OkStatus();
    }));
  }

  std::vector<Job> Claim(const std::string& worker, int max_jobs, JobQueue* queue = nullptr) {
    const auto claimed = (queue != nullptr ? queue : queue_.get())->Claim(worker, max_jobs, kLease);
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    return claimed.ok() ? *claimed : std::vector<Job>{};
  }

  static std::vector<std::string> Keys(const std::vector<Job>& jobs) {
    std::vector<std::string> keys;
    for (const Job& job : jobs) keys.push_back(job.key);
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  Job Stored(const std::string& tenant, const std::string& key) {
    const auto job = queue_->GetByKey(tenant, key);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : Job{};
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"automation_jobs"};
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<JobQueue> queue_;
  absl::Time now_ = kNow;
};

TEST_F(JobQueueTest, EnqueuesOncePerTenantAndKey) {
  const std::string payload("\x00\x01{\"客户\":\"深圳腾飞\"}\xff", 24);
  TL_ASSERT_OK_AND_ASSIGN(const Enqueued first,
                          queue_->Enqueue({.tenant_id = kAcme,
                                           .key = "rule-7/v3/evt-1/step-2",
                                           .kind = "webhook",
                                           .payload = payload,
                                           .due_time = kNow + absl::Minutes(5)}));
  EXPECT_TRUE(first.created);
  now_ += absl::Minutes(1);
  TL_ASSERT_OK_AND_ASSIGN(const Enqueued again, queue_->Enqueue({.tenant_id = kAcme,
                                                                 .key = "rule-7/v3/evt-1/step-2",
                                                                 .kind = "other",
                                                                 .payload = "other",
                                                                 .due_time = kNow}));
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.job_id, first.job_id);
  TL_ASSERT_OK_AND_ASSIGN(const Enqueued elsewhere,
                          queue_->Enqueue({.tenant_id = kBeta,
                                           .key = "rule-7/v3/evt-1/step-2",
                                           .kind = "webhook",
                                           .payload = "",
                                           .due_time = kNow}));
  EXPECT_TRUE(elsewhere.created);
  EXPECT_NE(elsewhere.job_id, first.job_id);

  TL_ASSERT_OK_AND_ASSIGN(const Job stored, queue_->Get(kAcme, first.job_id));
  EXPECT_EQ(stored.key, "rule-7/v3/evt-1/step-2");
  EXPECT_EQ(stored.kind, "webhook");
  EXPECT_EQ(stored.payload, payload);
  EXPECT_EQ(stored.state, "pending");
  EXPECT_EQ(stored.due_time, kNow + absl::Minutes(5));
  EXPECT_EQ(stored.create_time, kNow);
  EXPECT_EQ(stored.attempts, 0);
  EXPECT_EQ(stored.lease_until, absl::InfinitePast());
  EXPECT_EQ(testing::Count(*pool_, "SELECT count(*)::int FROM jobs"), 2);

  EXPECT_THAT(
      queue_
          ->Enqueue(
              {.tenant_id = kAcme, .key = "", .kind = "webhook", .payload = "", .due_time = kNow})
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key")));
  EXPECT_THAT(
      queue_->Enqueue({.tenant_id = kAcme, .key = "k", .kind = "", .payload = "", .due_time = kNow})
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind")));
  EXPECT_THAT(queue_->Get(kBeta, first.job_id).status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(JobQueueTest, AnEnqueueInTheCallersTransactionGoesWithIt) {
  EXPECT_THAT(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    const auto enqueued = JobQueue::Enqueue(
        txn, {.tenant_id = kAcme, .key = "k-1", .kind = "timer", .payload = "", .due_time = kNow},
        kNow);
    if (!enqueued.ok()) return enqueued.status();
    return absl::AbortedError("the engine's run record failed");
  }),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(queue_->GetByKey(kAcme, "k-1").status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(JobQueueTest, ClaimsOnlyDueJobsUnderALease) {
  Add(kAcme, "past", -absl::Minutes(1));
  Add(kAcme, "now");
  Add(kAcme, "later", absl::Seconds(20));
  const std::vector<Job> claimed = Claim("w-1", 10);
  EXPECT_THAT(Keys(claimed), ElementsAre("now", "past"));
  EXPECT_THAT(claimed, Each(Field(&Job::state, "claimed")));
  EXPECT_THAT(claimed, Each(Field(&Job::claimed_by, "w-1")));
  EXPECT_THAT(claimed, Each(Field(&Job::attempts, 1)));
  EXPECT_THAT(claimed, Each(Field(&Job::lease_until, kNow + kLease)));
  EXPECT_THAT(Claim("w-2", 10), SizeIs(0));

  // Due now, while the leases of the first two still hold.
  now_ += absl::Seconds(20);
  EXPECT_THAT(Keys(Claim("w-2", 10)), ElementsAre("later"));
  EXPECT_THAT(queue_->Claim("", 1, kLease).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(queue_->Claim("w", 0, kLease).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(queue_->Claim("w", 1, absl::ZeroDuration()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(JobQueueTest, AJobEnqueuedClaimedIsHeldAsAClaimAndReturnsWhenItsLeaseRunsOut) {
  // JobQueue::EnqueueClaimed of job `key` (payload `payload`) for `worker`, in a transaction of
  // its own that commits unless `roll_back`.
  auto enqueue_claimed = [&](const std::string& key, const std::string& payload,
                             const std::string& worker,
                             bool roll_back = false) -> absl::StatusOr<std::optional<Job>> {
    absl::StatusOr<std::optional<Job>> result;
    absl::Status status = pool_->Transact([&](pqxx::work& txn) -> absl::Status {
      result = JobQueue::EnqueueClaimed(
          txn,
          {.tenant_id = kAcme, .key = key, .kind = "action", .payload = payload, .due_time = now_},
          worker, kLease, now_);
      if (!result.ok()) return result.status();
      return roll_back ? absl::AbortedError("the step failed") : absl::OkStatus();
    });
    if (!status.ok() && !roll_back) return status;
    return result;
  };
  // Claimed by w-1 as Claim would have claimed it.
  TL_ASSERT_OK_AND_ASSIGN(const std::optional<Job> mine, enqueue_claimed("k-1", "p", "w-1"));
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(mine->key, "k-1");
  EXPECT_EQ(mine->payload, "p");
  EXPECT_EQ(mine->state, "claimed");
  EXPECT_EQ(mine->claimed_by, "w-1");
  EXPECT_EQ(mine->attempts, 1);
  EXPECT_EQ(mine->lease_until, kNow + kLease);
  EXPECT_EQ(Stored(kAcme, "k-1").state, "claimed");
  // Nobody else claims it while the lease holds.
  EXPECT_THAT(Claim("w-2", 10), SizeIs(0));

  // The key taken: nothing written, nothing claimed, the job as it was.
  TL_ASSERT_OK_AND_ASSIGN(const std::optional<Job> again, enqueue_claimed("k-1", "q", "w-3"));
  EXPECT_FALSE(again.has_value());
  EXPECT_EQ(Stored(kAcme, "k-1").claimed_by, "w-1");
  EXPECT_EQ(Stored(kAcme, "k-1").payload, "p");

  // w-1 dies: past the lease the job returns to a claim, and w-1's late write is refused.
  now_ += kLease + absl::Seconds(1);
  const std::vector<Job> reclaimed = Claim("w-2", 10);
  ASSERT_THAT(reclaimed, SizeIs(1));
  EXPECT_EQ(reclaimed[0].job_id, mine->job_id);
  EXPECT_EQ(reclaimed[0].attempts, 2);
  EXPECT_THAT(queue_->Complete(*mine), StatusIs(absl::StatusCode::kFailedPrecondition));
  TL_EXPECT_OK(queue_->Complete(reclaimed[0]));
  EXPECT_EQ(Stored(kAcme, "k-1").state, "done");

  // A rolled-back transaction takes its claimed job with it.
  TL_ASSERT_OK_AND_ASSIGN(const std::optional<Job> undone,
                          enqueue_claimed("k-2", "", "w-1", /*roll_back=*/true));
  EXPECT_TRUE(undone.has_value());
  EXPECT_THAT(queue_->GetByKey(kAcme, "k-2").status(), StatusIs(absl::StatusCode::kNotFound));

  EXPECT_THAT(enqueue_claimed("k-3", "", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(JobQueueTest, ConcurrentWorkersNeverShareAJobAndTogetherTakeAll) {
  constexpr int kJobs = 300;
  AddMany(kAcme, "a-", kJobs / 2, kNow - absl::Minutes(1));
  AddMany(kBeta, "b-", kJobs / 2, kNow - absl::Minutes(1));
  // Each worker on its own pool of one connection, as two replicas would be.
  std::vector<std::unique_ptr<pg::Pool>> pools;
  std::vector<std::unique_ptr<JobQueue>> queues;
  for (int i = 0; i < 2; ++i) {
    pg::PoolOptions options;
    options.dsn = dsn_;
    options.search_path = schema_.name();
    options.size = 1;
    TL_ASSERT_OK_AND_ASSIGN(pools.emplace_back(), pg::Pool::Create(options));
    queues.push_back(std::make_unique<JobQueue>(pools.back().get(), [this] { return now_; }));
  }
  std::vector<std::vector<Job>> taken(2);
  std::vector<int> rounds(2, 0);
  absl::Barrier* start = new absl::Barrier(2);
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([&, w] {
      if (start->Block()) delete start;
      while (true) {
        const auto claimed = queues[w]->Claim(absl::StrCat("w-", w), 7, kLease);
        ASSERT_TRUE(claimed.ok()) << claimed.status();
        if (claimed->empty()) break;
        ++rounds[w];
        taken[w].insert(taken[w].end(), claimed->begin(), claimed->end());
      }
    });
  }
  for (std::thread& t : workers) t.join();

  std::set<std::string> ids;
  for (const auto& jobs : taken) {
    for (const Job& job : jobs) EXPECT_TRUE(ids.insert(job.job_id).second) << job.key;
  }
  EXPECT_EQ(ids.size(), kJobs);
  EXPECT_EQ(testing::Count(*pool_, "SELECT count(*)::int FROM jobs WHERE state = 'claimed'"),
            kJobs);
  EXPECT_EQ(testing::Count(*pool_, "SELECT max(attempts) FROM jobs"), 1);
  std::cout << "worker 0: " << taken[0].size() << " jobs in " << rounds[0]
            << " claims, worker 1: " << taken[1].size() << " in " << rounds[1] << "\n";
}

TEST_F(JobQueueTest, AnExpiredLeaseIsClaimedAgainAndTheLateWorkerIsRefused) {
  Add(kAcme, "k");
  const std::vector<Job> first = Claim("w-dead", 5);
  ASSERT_THAT(first, SizeIs(1));
  now_ += kLease - absl::Seconds(1);
  EXPECT_THAT(Claim("w-2", 5), SizeIs(0));
  now_ += absl::Seconds(1);
  const std::vector<Job> second = Claim("w-2", 5);
  ASSERT_THAT(second, SizeIs(1));
  EXPECT_EQ(second[0].job_id, first[0].job_id);
  EXPECT_EQ(second[0].attempts, 2);
  EXPECT_EQ(second[0].lease_until, now_ + kLease);

  EXPECT_THAT(queue_->Complete(first[0]),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no longer claimed")));
  EXPECT_THAT(queue_->Retry(first[0], now_, "late"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(queue_->DeadLetter(first[0], "late"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Stored(kAcme, "k").state, "claimed");
  // The same worker id claiming again is another claim: its first attempt's writes are
  // refused as well.
  Job same_worker_earlier = second[0];
  same_worker_earlier.attempts = 1;
  EXPECT_THAT(queue_->Complete(same_worker_earlier),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  now_ += absl::Seconds(5);
  TL_EXPECT_OK(queue_->Complete(second[0]));
  const Job done = Stored(kAcme, "k");
  EXPECT_EQ(done.state, "done");
  EXPECT_EQ(done.finish_time, now_);
  EXPECT_EQ(done.lease_until, absl::InfinitePast());
  EXPECT_EQ(done.claimed_by, "w-2");
  now_ += absl::Hours(1);
  EXPECT_THAT(Claim("w-3", 5), SizeIs(0));
  EXPECT_THAT(queue_->Complete(second[0]), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(JobQueueTest, ALeaseThatRanOutStillCompletesWhileNoOtherWorkerTookTheJob) {
  Add(kAcme, "k");
  const std::vector<Job> claimed = Claim("w-slow", 1);
  ASSERT_THAT(claimed, SizeIs(1));
  now_ += kLease * 3;
  TL_EXPECT_OK(queue_->Complete(claimed[0]));
  EXPECT_EQ(Stored(kAcme, "k").state, "done");
  EXPECT_THAT(Claim("w-2", 1), SizeIs(0));
}

TEST_F(JobQueueTest, RetryWaitsForTheNextDueTimeAndDeadLetterEndsIt) {
  Add(kAcme, "hook");
  std::vector<Job> claimed = Claim("w-1", 1);
  ASSERT_THAT(claimed, SizeIs(1));
  TL_ASSERT_OK(queue_->Retry(claimed[0], kNow + absl::Minutes(5), "HTTP 503 from the receiver"));
  Job stored = Stored(kAcme, "hook");
  EXPECT_EQ(stored.state, "pending");
  EXPECT_EQ(stored.due_time, kNow + absl::Minutes(5));
  EXPECT_EQ(stored.last_error, "HTTP 503 from the receiver");
  EXPECT_EQ(stored.attempts, 1);
  EXPECT_EQ(stored.lease_until, absl::InfinitePast());
  now_ += absl::Minutes(4);
  EXPECT_THAT(Claim("w-1", 1), SizeIs(0));

  now_ = kNow + absl::Minutes(5);
  claimed = Claim("w-2", 1);
  ASSERT_THAT(claimed, SizeIs(1));
  EXPECT_EQ(claimed[0].attempts, 2);
  EXPECT_EQ(claimed[0].last_error, "HTTP 503 from the receiver");
  TL_ASSERT_OK(queue_->DeadLetter(claimed[0], std::string(3000, 'x')));
  stored = Stored(kAcme, "hook");
  EXPECT_EQ(stored.state, "dead");
  EXPECT_EQ(stored.finish_time, now_);
  EXPECT_EQ(stored.last_error, std::string(2000, 'x'));
  now_ += absl::Hours(24);
  EXPECT_THAT(Claim("w-3", 10), SizeIs(0));
  EXPECT_THAT(queue_->Complete(claimed[0]), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(JobQueueTest, DeadJobsAreListedLatestFirstInPages) {
  for (int i = 0; i < 5; ++i) {
    Add(kAcme, absl::StrCat("d-", i));
    const std::vector<Job> claimed = Claim("w", 1);
    ASSERT_THAT(claimed, SizeIs(1));
    TL_ASSERT_OK(queue_->DeadLetter(claimed[0], absl::StrCat("failure ", i)));
    now_ += absl::Seconds(1);
  }
  Add(kAcme, "alive");
  Add(kBeta, "beta-dead");
  const std::vector<Job> beta = Claim("w", 10);
  ASSERT_THAT(beta, SizeIs(2));
  for (const Job& job : beta) {
    if (job.tenant_id == kBeta) {
      TL_ASSERT_OK(queue_->DeadLetter(job, "beta"));
    }
  }

  std::vector<std::string> keys;
  std::optional<DeadCursor> after;
  for (int page = 0; page < 5; ++page) {
    TL_ASSERT_OK_AND_ASSIGN(const std::vector<Job> jobs, queue_->ListDead(kAcme, 2, after));
    for (const Job& job : jobs) keys.push_back(job.key);
    if (jobs.size() < 2) break;
    after = DeadCursor{jobs.back().finish_time, jobs.back().job_id};
  }
  EXPECT_THAT(keys, ElementsAre("d-4", "d-3", "d-2", "d-1", "d-0"));
  EXPECT_THAT(queue_->ListDead(kAcme, 0).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(JobQueueTest, RedriveKeepsTheJobAndItsKeyAndDiscardKeepsTheKeyTaken) {
  Add(kAcme, "redriven");
  Add(kAcme, "discarded");
  for (const Job& job : Claim("w-1", 2)) TL_ASSERT_OK(queue_->DeadLetter(job, "gave up"));
  const Job dead = Stored(kAcme, "redriven");
  ASSERT_EQ(dead.state, "dead");

  now_ += absl::Hours(2);
  TL_ASSERT_OK_AND_ASSIGN(const Job redriven, queue_->Redrive(kAcme, "redriven"));
  EXPECT_EQ(redriven.job_id, dead.job_id);
  EXPECT_EQ(redriven.state, "pending");
  EXPECT_EQ(redriven.attempts, 0);
  EXPECT_EQ(redriven.due_time, now_);
  EXPECT_EQ(redriven.last_error, "gave up");
  EXPECT_EQ(redriven.finish_time, absl::InfinitePast());
  TL_ASSERT_OK_AND_ASSIGN(const Enqueued replay, queue_->Enqueue({.tenant_id = kAcme,
                                                                  .key = "redriven",
                                                                  .kind = "webhook",
                                                                  .payload = "",
                                                                  .due_time = now_}));
  EXPECT_FALSE(replay.created);
  EXPECT_EQ(replay.job_id, dead.job_id);
  EXPECT_THAT(queue_->Redrive(kAcme, "redriven").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("pending")));

  TL_ASSERT_OK_AND_ASSIGN(const Job discarded, queue_->Discard(kAcme, "discarded"));
  EXPECT_EQ(discarded.state, "discarded");
  EXPECT_EQ(discarded.finish_time, now_);
  TL_ASSERT_OK_AND_ASSIGN(const Enqueued again, queue_->Enqueue({.tenant_id = kAcme,
                                                                 .key = "discarded",
                                                                 .kind = "webhook",
                                                                 .payload = "",
                                                                 .due_time = now_}));
  EXPECT_FALSE(again.created);
  TL_ASSERT_OK_AND_ASSIGN(const std::vector<Job> still_dead, queue_->ListDead(kAcme, 10));
  EXPECT_THAT(still_dead, SizeIs(0));

  const std::vector<Job> claimed = Claim("w-2", 10);
  ASSERT_THAT(claimed, SizeIs(1));
  EXPECT_EQ(claimed[0].key, "redriven");
  EXPECT_EQ(claimed[0].attempts, 1);
  EXPECT_THAT(queue_->Redrive(kAcme, "nothing").status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(queue_->Discard(kBeta, "discarded").status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(JobQueueTest, OneTenantsFloodDoesNotHoldAnothersDueJobBack) {
  // acme's 2,000 jobs were all due before beta's one.
  AddMany(kAcme, "a-", 2000, kNow - absl::Hours(1));
  Add(kBeta, "b-0", -absl::Seconds(1));
  const std::vector<Job> claimed = Claim("w-1", 10);
  ASSERT_THAT(claimed, SizeIs(10));
  EXPECT_THAT(Keys(claimed), Contains("b-0"));
  // The rest of the batch goes to acme, earliest due first.
  EXPECT_THAT(Keys(claimed),
              ElementsAre("a-0", "a-1", "a-2", "a-3", "a-4", "a-5", "a-6", "a-7", "a-8", "b-0"));
}

TEST_F(JobQueueTest, TenantsTakeTurnsWhenMoreHaveDueWorkThanABatchHolds) {
  const std::vector<std::string> tenants = {"t-1", "t-2", "t-3", "t-4", "t-5"};
  for (const std::string& tenant : tenants) {
    AddMany(tenant, absl::StrCat(tenant, "/"), 20, kNow - absl::Minutes(1));
  }
  // Batches of 2 over 5 tenants: every tenant is served within three rounds.
  std::set<std::string> served;
  for (int round = 0; round < 3; ++round) {
    const std::vector<Job> claimed = Claim("w", 2);
    ASSERT_THAT(claimed, SizeIs(2));
    EXPECT_NE(claimed[0].tenant_id, claimed[1].tenant_id);
    for (const Job& job : claimed) served.insert(job.tenant_id);
  }
  EXPECT_EQ(served, std::set<std::string>(tenants.begin(), tenants.end()));
}

TEST_F(JobQueueTest, AClaimLocksLittleMoreThanItTakes) {
  AddMany(kAcme, "a-", 10, kNow - absl::Minutes(1));
  AddMany(kBeta, "b-", 10, kNow - absl::Minutes(1));
  // One claim round of 4, held open on a connection of its own: two tenants share it, 2 jobs
  // each, and it locks those 4 rows only, so another worker can take the other 16 at once.
  pqxx::connection holder(dsn_);
  pqxx::work claim(holder);
  claim.exec(absl::StrCat("SET LOCAL search_path TO ", claim.quote_name(schema_.name())));
  const pqxx::result held = claim.exec_params(jobs_sql::kClaim, absl::ToUnixMicros(kNow), 4, "w-1",
                                              absl::ToUnixMicros(kNow + kLease), "");
  EXPECT_EQ(held.size(), 4);
  EXPECT_EQ(testing::Count(*pool_,
                           "SELECT count(*)::int FROM (SELECT 1 FROM jobs WHERE state = 'pending' "
                           "FOR UPDATE SKIP LOCKED) free"),
            16);
  claim.abort();
}

TEST_F(JobQueueTest, PurgeDeletesFinishedJobsPastTheRetentionOnly) {
  // The purge reads the database's clock, so these jobs finish in real time.
  const absl::Time real = absl::Now();
  now_ = real - absl::Hours(48);
  Add(kAcme, "old-done");
  Add(kAcme, "old-discarded");
  Add(kAcme, "old-dead");
  Add(kAcme, "old-pending", absl::Hours(100));
  std::vector<Job> claimed = Claim("w", 10);
  ASSERT_THAT(claimed, SizeIs(3));
  for (const Job& job : claimed) {
    if (job.key == "old-done") {
      TL_ASSERT_OK(queue_->Complete(job));
    } else {
      TL_ASSERT_OK(queue_->DeadLetter(job, "failed"));
    }
  }
  TL_ASSERT_OK(queue_->Discard(kAcme, "old-discarded").status());
  now_ = real - absl::Hours(1);
  Add(kAcme, "recent-done");
  claimed = Claim("w", 10);
  ASSERT_THAT(claimed, SizeIs(1));
  TL_ASSERT_OK(queue_->Complete(claimed[0]));

  TL_ASSERT_OK_AND_ASSIGN(const int64_t purged,
                          JobQueue::PurgeFinished(*pool_, absl::Hours(24), 1));
  EXPECT_EQ(purged, 2);
  EXPECT_THAT(queue_->GetByKey(kAcme, "old-done").status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(queue_->GetByKey(kAcme, "old-discarded").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Stored(kAcme, "old-dead").state, "dead");
  EXPECT_EQ(Stored(kAcme, "old-pending").state, "pending");
  EXPECT_EQ(Stored(kAcme, "recent-done").state, "done");
  EXPECT_THAT(JobQueue::PurgeFinished(*pool_, absl::ZeroDuration(), 10).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::automation
