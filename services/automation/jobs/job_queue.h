// The automation engine's durable job queue on PostgreSQL (migrations/0003_jobs.sql): due
// timers and pending actions, each enqueued once per idempotency key, claimed by workers with
// FOR UPDATE SKIP LOCKED under a lease, fairly across tenants, and finished, tried again or
// dead-lettered by the worker that holds the claim.
//
// Why a replica killed mid-run never repeats an action: the action's own writes carry the
// job's key (the engine's rule version, triggering event and step), and a job whose lease ran
// out is claimed again with the same key; the queue's part is that a key is enqueued once and
// that a claim is held by one worker at a time.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_JOBS_JOB_QUEUE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_JOBS_JOB_QUEUE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/pg/pool.h"

namespace touchline::automation {

// A job as stored.
struct Job {
  std::string tenant_id;
  std::string job_id;
  // The idempotency key, unique per tenant.
  std::string key;
  // What to do and its input, as the engine enqueued them.
  std::string kind;
  std::string payload;
  // "pending", "claimed", "done", "dead" or "discarded" (the migration says what each means).
  std::string state;
  absl::Time due_time;
  // Claims so far, this one included when it is claimed.
  int attempts = 0;
  // The worker of the latest claim; "" before any.
  std::string claimed_by;
  // While claimed: until when the claim holds; absl::InfinitePast() otherwise.
  absl::Time lease_until = absl::InfinitePast();
  // The latest failure; "" before any.
  std::string last_error;
  absl::Time create_time;
  absl::Time update_time;
  // When it became done, dead or discarded; absl::InfinitePast() before.
  absl::Time finish_time = absl::InfinitePast();
};

// What Enqueue is given.
struct NewJob {
  std::string tenant_id;
  // 1 to 512 bytes.
  std::string key;
  // 1 to 128 bytes.
  std::string kind;
  // Any bytes.
  std::string payload;
  // When it may run first; a time already past makes it due at once.
  absl::Time due_time;
};

// What Enqueue did.
struct Enqueued {
  // The job of the key: the new one, or the one enqueued before.
  std::string job_id;
  // False when the tenant already had a job of the key (whatever its state) and nothing was
  // written.
  bool created = false;
};

// Where a page of ListDead ends: the last job of the page.
struct DeadCursor {
  absl::Time finish_time;
  std::string job_id;
};

class JobQueue {
 public:
  // `pool` must outlive the queue; `clock` gives the queue's "now" (due times, leases, the
  // times it records), so tests set it.
  JobQueue(pg::Pool* pool, std::function<absl::Time()> clock);

  // Enqueues `job` in its own transaction, once per (tenant, key). INVALID_ARGUMENT for an
  // empty tenant, a key or kind empty or too long; errors as pg::Pool::Transact.
  absl::StatusOr<Enqueued> Enqueue(const NewJob& job);

  // The same in the caller's transaction (the engine's, with its run records), with the
  // caller's `now`. A PostgreSQL failure is thrown, as by any statement in `txn`, for the
  // caller's pg::Pool::Transact to report (and to retry a serialization failure).
  static absl::StatusOr<Enqueued> Enqueue(pqxx::work& txn, const NewJob& job, absl::Time now);

  // Enqueues `job` in the caller's transaction already claimed by `worker_id` until now +
  // `lease`, its first attempt, exactly as Claim would have claimed it (the same lease, the
  // same fencing of late writes): for a worker that runs the job itself as soon as `txn`
  // commits, instead of waiting for a claim. If the worker dies first, the job returns when
  // the lease runs out. The claimed job; nullopt when the tenant already had a job of the key
  // (nothing is written or claimed: that job goes its own way). Errors as Enqueue;
  // INVALID_ARGUMENT also for an empty worker or a lease that is not positive.
  static absl::StatusOr<std::optional<Job>> EnqueueClaimed(pqxx::work& txn, const NewJob& job,
                                                           const std::string& worker_id,
                                                           absl::Duration lease, absl::Time now);

  // Claims for `worker_id` up to `max_jobs` (1 to 1,000) claimable jobs (pending and due, or
  // claimed under a lease that has run out: a dead worker's) for `lease`, in one transaction:
  // each becomes claimed by the worker until now + lease and its attempts grow by one. Rows
  // other workers are claiming at the same moment are skipped, never waited for, and never
  // given to two workers. Fair across tenants: the tenants with claimable work take turns
  // (the earliest claimable of every tenant, then the second of every tenant, ...), so one
  // tenant's flood holds another's due job back for no round while there are at most
  // `max_jobs` such tenants; with more, the rounds visit them in tenant order, each round
  // starting after the last tenant the previous round of this queue reached. Returns the
  // claimed jobs, in no particular order; empty when nothing is claimable. INVALID_ARGUMENT
  // for an empty worker, `max_jobs` out of range or a lease that is not positive.
  absl::StatusOr<std::vector<Job>> Claim(const std::string& worker_id, int max_jobs,
                                         absl::Duration lease);

  // The three ends of a claim. `job` is the job as Claim returned it: its claimed_by and
  // attempts name the claim, so a worker can finish only the claim it holds. A lease that ran
  // out still finishes while no other worker has claimed the job; once another has,
  // FAILED_PRECONDITION ("no longer claimed by ...") and nothing is written: the late worker
  // must not count the action as done, and the new claim runs it again under the same key.
  // NOT_FOUND when the job is not stored (purged, or never enqueued).

  // The job ran: done.
  absl::Status Complete(const Job& job);
  // The job failed and is to run again at `next_due`: pending again, `error` kept as its last
  // error. The engine decides between Retry and DeadLetter (its attempt limit is counted
  // against job.attempts, its backoff gives next_due).
  absl::Status Retry(const Job& job, absl::Time next_due, std::string_view error);
  // The job failed for good: dead (a dead letter), `error` kept as its last error.
  absl::Status DeadLetter(const Job& job, std::string_view error);

  // The same three in the caller's transaction, with the writes of the step the job ran, at
  // the caller's `now`: the step and the end of its claim commit together. A claim another
  // worker has taken is FAILED_PRECONDITION, and the caller must then roll its transaction
  // back. A PostgreSQL failure is thrown, as by any statement in `txn`.
  static absl::Status Complete(pqxx::work& txn, const Job& job, absl::Time now);
  static absl::Status Retry(pqxx::work& txn, const Job& job, absl::Time next_due,
                            std::string_view error, absl::Time now);
  static absl::Status DeadLetter(pqxx::work& txn, const Job& job, std::string_view error,
                                 absl::Time now);

  // Job `job_id` of `tenant_id`; NOT_FOUND if it is not stored.
  absl::StatusOr<Job> Get(const std::string& tenant_id, const std::string& job_id);
  // The job of `key`; NOT_FOUND if there is none.
  absl::StatusOr<Job> GetByKey(const std::string& tenant_id, const std::string& key);

  // Up to `limit` (1 to 1,000) of the tenant's dead jobs, the latest dead first, after
  // `after` (the last of the previous page) when given.
  absl::StatusOr<std::vector<Job>> ListDead(const std::string& tenant_id, int limit,
                                            const std::optional<DeadCursor>& after = {});

  // Puts the tenant's dead job of `key` back to pending, due now, with its attempts from zero
  // and its last error kept; the same job and key, so the action's idempotency still holds.
  // NOT_FOUND if there is no job of the key; FAILED_PRECONDITION if it is not dead.
  absl::StatusOr<Job> Redrive(const std::string& tenant_id, const std::string& key);
  // Drops the tenant's dead job of `key`: discarded, purged with the done ones (until then the
  // key stays taken, so a replayed event does not enqueue the action again). Errors as
  // Redrive.
  absl::StatusOr<Job> Discard(const std::string& tenant_id, const std::string& key);

  // Deletes done and discarded jobs finished more than `retention` ago (by the database's
  // clock, as the host's other purges), in transactions of at most `batch_size` rows;
  // pg::DeleteInBatches. After the retention a replay of the same key would enqueue again, so
  // the retention must outlast the stream's redelivery. How many were deleted.
  static absl::StatusOr<int64_t> PurgeFinished(pg::Pool& pool, absl::Duration retention,
                                               int batch_size);

 private:
  // Ends, in `txn`, the claim `job` names with `sql` (jobs_sql::kFinishClaim or kRetryClaim)
  // and its parameters after the claim's four.
  template <typename... Args>
  static absl::Status EndClaim(pqxx::work& txn, const Job& job, const char* sql,
                               const Args&... args);
  // A dead job of `key` changed by `sql` (kRedrive or kDiscard) at now.
  absl::StatusOr<Job> ChangeDead(const std::string& tenant_id, const std::string& key,
                                 const char* sql);

  pg::Pool* const pool_;
  const std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  // The last tenant the latest claim round visited, where the next round starts.
  std::string next_after_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_JOBS_JOB_QUEUE_H_
