#include "services/automation/jobs/job_queue.h"

#include <pqxx/binarystring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/pg/purge.h"
#include "services/automation/jobs/sql.h"

namespace touchline::automation {
namespace {

namespace sql = jobs_sql;

constexpr size_t kMaxKeyBytes = 512;
constexpr size_t kMaxKindBytes = 128;
constexpr int kMaxBatch = 1000;

// A TL_PG_TO_MICROS column as a time; absl::InfinitePast() for NULL.
absl::Time TimeOf(const pqxx::field& micros) {
  if (micros.is_null()) return absl::InfinitePast();
  return absl::FromUnixMicros(micros.as<int64_t>());
}

// A row whose columns are TL_JOB_COLUMNS (sql.h), as the job it is.
Job JobFromRow(const pqxx::row& row) {
  Job job;
  job.tenant_id = row[0].as<std::string>();
  job.job_id = row[1].as<std::string>();
  job.key = row[2].as<std::string>();
  job.kind = row[3].as<std::string>();
  job.payload = pqxx::binarystring(row[4]).str();
  job.state = row[5].as<std::string>();
  job.due_time = TimeOf(row[6]);
  job.attempts = row[7].as<int>();
  job.claimed_by = row[8].as<std::string>();
  job.lease_until = TimeOf(row[9]);
  job.last_error = row[10].as<std::string>();
  job.create_time = TimeOf(row[11]);
  job.update_time = TimeOf(row[12]);
  job.finish_time = TimeOf(row[13]);
  return job;
}

absl::Status CheckNewJob(const NewJob& job) {
  if (job.tenant_id.empty()) return absl::InvalidArgumentError("a job needs a tenant");
  if (job.key.empty() || job.key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a job's key must be 1 to ", kMaxKeyBytes, " bytes"));
  }
  if (job.kind.empty() || job.kind.size() > kMaxKindBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a job's kind must be 1 to ", kMaxKindBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckClaim(const std::string& worker_id, absl::Duration lease) {
  if (worker_id.empty()) return absl::InvalidArgumentError("a claim needs a worker id");
  if (lease <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("a claim needs a positive lease");
  }
  return absl::OkStatus();
}

absl::Status NotFound(const std::string& tenant_id, std::string_view what) {
  return absl::NotFoundError(absl::StrCat("no job ", std::string(what), " in tenant ", tenant_id));
}

// Whether `a` comes after `b` in the order a claim round visits tenants after `cursor`.
bool VisitedLater(const std::string& a, const std::string& b, const std::string& cursor) {
  const bool a_wrapped = a <= cursor;
  const bool b_wrapped = b <= cursor;
  if (a_wrapped != b_wrapped) return a_wrapped;
  return a > b;
}

}  // namespace

JobQueue::JobQueue(pg::Pool* pool, std::function<absl::Time()> clock)
    : pool_(pool), clock_(std::move(clock)) {}

absl::StatusOr<Enqueued> JobQueue::Enqueue(pqxx::work& txn, const NewJob& job, absl::Time now) {
  if (absl::Status s = CheckNewJob(job); !s.ok()) return s;
  const pqxx::result inserted = txn.exec_params(
      sql::kInsertJob, job.tenant_id, ids::NewUuid(now), job.key, job.kind,
      pqxx::binarystring(job.payload), absl::ToUnixMicros(job.due_time), absl::ToUnixMicros(now));
  if (!inserted.empty()) return Enqueued{inserted[0][0].as<std::string>(), true};
  // The key was taken: by a committed job, or by one whose insert this statement waited for.
  const pqxx::result existing = txn.exec_params(sql::kSelectByKey, job.tenant_id, job.key);
  if (existing.empty()) {
    return absl::AbortedError("a job of the same key was enqueued and removed meanwhile");
  }
  return Enqueued{existing[0][1].as<std::string>(), false};
}

absl::StatusOr<std::optional<Job>> JobQueue::EnqueueClaimed(pqxx::work& txn, const NewJob& job,
                                                            const std::string& worker_id,
                                                            absl::Duration lease, absl::Time now) {
  if (absl::Status s = CheckNewJob(job); !s.ok()) return s;
  if (absl::Status s = CheckClaim(worker_id, lease); !s.ok()) return s;
  const pqxx::result inserted =
      txn.exec_params(sql::kInsertClaimedJob, job.tenant_id, ids::NewUuid(now), job.key, job.kind,
                      pqxx::binarystring(job.payload), absl::ToUnixMicros(job.due_time), worker_id,
                      absl::ToUnixMicros(now + lease), absl::ToUnixMicros(now));
  if (inserted.empty()) return std::nullopt;
  return JobFromRow(inserted[0]);
}

absl::StatusOr<Enqueued> JobQueue::Enqueue(const NewJob& job) {
  if (absl::Status s = CheckNewJob(job); !s.ok()) return s;
  const absl::Time now = clock_();
  absl::StatusOr<Enqueued> result;
  absl::Status status = pool_->Transact([&](pqxx::work& txn) {
    result = Enqueue(txn, job, now);
    return result.status();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::vector<Job>> JobQueue::Claim(const std::string& worker_id, int max_jobs,
                                                 absl::Duration lease) {
  if (absl::Status s = CheckClaim(worker_id, lease); !s.ok()) return s;
  if (max_jobs < 1 || max_jobs > kMaxBatch) {
    return absl::InvalidArgumentError(absl::StrCat("a claim takes 1 to ", kMaxBatch, " jobs"));
  }
  const absl::Time now = clock_();
  std::string after;
  {
    absl::MutexLock lock(&mu_);
    after = next_after_;
  }
  std::vector<Job> claimed;
  absl::Status status = pool_->Transact([&](pqxx::work& txn) {
    claimed.clear();
    // A round gives each tenant at most its share; when some tenants had fewer, the rest of
    // the batch goes to another round (the jobs claimed so far are no longer claimable).
    while (static_cast<int>(claimed.size()) < max_jobs) {
      const pqxx::result rows = txn.exec_params(sql::kClaim, absl::ToUnixMicros(now),
                                                max_jobs - static_cast<int>(claimed.size()),
                                                worker_id, absl::ToUnixMicros(now + lease), after);
      if (rows.empty()) break;
      for (const pqxx::row& row : rows) claimed.push_back(JobFromRow(row));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!claimed.empty()) {
    std::string last = claimed.front().tenant_id;
    for (const Job& job : claimed) {
      if (VisitedLater(job.tenant_id, last, after)) last = job.tenant_id;
    }
    absl::MutexLock lock(&mu_);
    next_after_ = last;
  }
  return claimed;
}

template <typename... Args>
absl::Status JobQueue::EndClaim(pqxx::work& txn, const Job& job, const char* statement,
                                const Args&... args) {
  const pqxx::result ended =
      txn.exec_params(statement, job.tenant_id, job.job_id, job.claimed_by, job.attempts, args...);
  if (!ended.empty()) return absl::OkStatus();
  const pqxx::result stored = txn.exec_params(sql::kSelectJob, job.tenant_id, job.job_id);
  if (stored.empty()) return NotFound(job.tenant_id, job.job_id);
  const Job now = JobFromRow(stored[0]);
  return absl::FailedPreconditionError(absl::StrCat(
      "job ", job.job_id, " is no longer claimed by ", job.claimed_by, " (attempt ", job.attempts,
      "): it is ", now.state, ", attempt ", now.attempts, " by ", now.claimed_by));
}

absl::Status JobQueue::Complete(pqxx::work& txn, const Job& job, absl::Time now) {
  return EndClaim(txn, job, sql::kFinishClaim, "done", "", absl::ToUnixMicros(now));
}

absl::Status JobQueue::Retry(pqxx::work& txn, const Job& job, absl::Time next_due,
                             std::string_view error, absl::Time now) {
  return EndClaim(txn, job, sql::kRetryClaim, absl::ToUnixMicros(next_due), std::string(error),
                  absl::ToUnixMicros(now));
}

absl::Status JobQueue::DeadLetter(pqxx::work& txn, const Job& job, std::string_view error,
                                  absl::Time now) {
  return EndClaim(txn, job, sql::kFinishClaim, "dead", std::string(error), absl::ToUnixMicros(now));
}

absl::Status JobQueue::Complete(const Job& job) {
  return pool_->Transact([&](pqxx::work& txn) { return Complete(txn, job, clock_()); });
}

absl::Status JobQueue::Retry(const Job& job, absl::Time next_due, std::string_view error) {
  return pool_->Transact(
      [&](pqxx::work& txn) { return Retry(txn, job, next_due, error, clock_()); });
}

absl::Status JobQueue::DeadLetter(const Job& job, std::string_view error) {
  return pool_->Transact([&](pqxx::work& txn) { return DeadLetter(txn, job, error, clock_()); });
}

absl::StatusOr<Job> JobQueue::Get(const std::string& tenant_id, const std::string& job_id) {
  if (!ids::IsUuid(job_id)) return NotFound(tenant_id, job_id);
  std::optional<Job> job;
  absl::Status status = pool_->Query([&](pqxx::nontransaction& txn) {
    const pqxx::result rows = txn.exec_params(sql::kSelectJob, tenant_id, job_id);
    if (!rows.empty()) job = JobFromRow(rows[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!job.has_value()) return NotFound(tenant_id, job_id);
  return *std::move(job);
}

absl::StatusOr<Job> JobQueue::GetByKey(const std::string& tenant_id, const std::string& key) {
  std::optional<Job> job;
  absl::Status status = pool_->Query([&](pqxx::nontransaction& txn) {
    const pqxx::result rows = txn.exec_params(sql::kSelectByKey, tenant_id, key);
    if (!rows.empty()) job = JobFromRow(rows[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!job.has_value()) return NotFound(tenant_id, absl::StrCat("of key ", key));
  return *std::move(job);
}

absl::StatusOr<std::vector<Job>> JobQueue::ListDead(const std::string& tenant_id, int limit,
                                                    const std::optional<DeadCursor>& after) {
  if (limit < 1 || limit > kMaxBatch) {
    return absl::InvalidArgumentError(absl::StrCat("a page holds 1 to ", kMaxBatch, " jobs"));
  }
  if (after.has_value() && !ids::IsUuid(after->job_id)) {
    return absl::InvalidArgumentError("a dead-letter cursor names a job id");
  }
  std::vector<Job> jobs;
  absl::Status status = pool_->Query([&](pqxx::nontransaction& txn) {
    const pqxx::result rows = txn.exec_params(
        sql::kListDead, tenant_id, after.has_value() ? absl::ToUnixMicros(after->finish_time) : -1,
        after.has_value() ? after->job_id : std::string("00000000-0000-0000-0000-000000000000"),
        limit);
    for (const pqxx::row& row : rows) jobs.push_back(JobFromRow(row));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return jobs;
}

absl::StatusOr<Job> JobQueue::ChangeDead(const std::string& tenant_id, const std::string& key,
                                         const char* statement) {
  const absl::Time now = clock_();
  Job job;
  absl::Status status = pool_->Transact([&](pqxx::work& txn) {
    const pqxx::result changed =
        txn.exec_params(statement, tenant_id, key, absl::ToUnixMicros(now));
    if (!changed.empty()) {
      job = JobFromRow(changed[0]);
      return absl::OkStatus();
    }
    const pqxx::result stored = txn.exec_params(sql::kSelectByKey, tenant_id, key);
    if (stored.empty()) return NotFound(tenant_id, absl::StrCat("of key ", key));
    return absl::FailedPreconditionError(
        absl::StrCat("the job of key ", key, " is ", JobFromRow(stored[0]).state, ", not dead"));
  });
  if (!status.ok()) return status;
  return job;
}

absl::StatusOr<Job> JobQueue::Redrive(const std::string& tenant_id, const std::string& key) {
  return ChangeDead(tenant_id, key, sql::kRedrive);
}

absl::StatusOr<Job> JobQueue::Discard(const std::string& tenant_id, const std::string& key) {
  return ChangeDead(tenant_id, key, sql::kDiscard);
}

absl::StatusOr<int64_t> JobQueue::PurgeFinished(pg::Pool& pool, absl::Duration retention,
                                                int batch_size) {
  return pg::DeleteInBatches(pool, "finished jobs", sql::kPurgeFinished, retention, batch_size);
}

}  // namespace touchline::automation
