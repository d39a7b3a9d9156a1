// The SQL of JobQueue: named statements with explicit columns and $n parameters over `jobs`
// (migrations/0003_jobs.sql). Statements run with search_path set to the service's schema.
// Times travel as bigint Unix microseconds.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_JOBS_SQL_H_
#define TOUCHLINE_SERVICES_AUTOMATION_JOBS_SQL_H_

#include "common/pg/sql_time.h"

namespace touchline::automation::jobs_sql {

// clang-format off
// The columns of a job, in JobFromRow's order (job_queue.cc), of the table aliased j.
#define TL_JOB_COLUMNS                                                                        \
  "j.tenant_id, j.job_id::text, j.key, j.kind, j.payload, j.state, "                          \
  TL_PG_TO_MICROS("j.due_time") ", j.attempts, coalesce(j.claimed_by, ''), "                  \
  TL_PG_TO_MICROS("j.lease_until") ", j.last_error, " TL_PG_TO_MICROS("j.create_time")        \
  ", " TL_PG_TO_MICROS("j.update_time") ", " TL_PG_TO_MICROS("j.finish_time")

// Enqueues job $2 of tenant $1: key $3, kind $4, payload $5, due $6, created $7. No row when
// the tenant has a job of that key.
inline constexpr char kInsertJob[] =
    "INSERT INTO jobs (tenant_id, job_id, key, kind, payload, state, due_time, create_time, "
    "update_time) VALUES ($1, $2::uuid, $3, $4, $5, 'pending', " TL_PG_MICROS(6) ", "
    TL_PG_MICROS(7) ", " TL_PG_MICROS(7) ") ON CONFLICT (tenant_id, key) DO NOTHING "
    "RETURNING job_id::text";

// Enqueues job $2 of tenant $1 already claimed, as kClaim would claim it: key $3, kind $4,
// payload $5, due $6, claimed by worker $7 until $8 (its first attempt), created $9. The job,
// or no row when the tenant has a job of that key (then nothing is claimed).
inline constexpr char kInsertClaimedJob[] =
    "INSERT INTO jobs AS j (tenant_id, job_id, key, kind, payload, state, due_time, attempts, "
    "claimed_by, lease_until, create_time, update_time) VALUES ($1, $2::uuid, $3, $4, $5, "
    "'claimed', " TL_PG_MICROS(6) ", 1, $7, " TL_PG_MICROS(8) ", " TL_PG_MICROS(9) ", "
    TL_PG_MICROS(9) ") ON CONFLICT (tenant_id, key) DO NOTHING RETURNING " TL_JOB_COLUMNS;

// The job of tenant $1 with key $2.
inline constexpr char kSelectByKey[] =
    "SELECT " TL_JOB_COLUMNS " FROM jobs j WHERE j.tenant_id = $1 AND j.key = $2";

// Job $2 of tenant $1.
inline constexpr char kSelectJob[] =
    "SELECT " TL_JOB_COLUMNS " FROM jobs j WHERE j.tenant_id = $1 AND j.job_id = $2::uuid";

// One round of claiming, fair across tenants. At $1 (now), up to $2 jobs claimable then (pending
// and due, or claimed with a lease that ran out) are claimed for worker $3 until $4, their
// attempts counted. The tenants with claimable work are visited after tenant $5 first ('' to
// start at the first) and then from the start, at most $2 of them; each gives at most
// ceil($2 / tenants visited) of its jobs, earliest claimable first, and the round takes the
// first of every tenant, then the second, and so on, up to $2. So one tenant's flood holds
// another's due job back for no round at all while the tenants with due work are at most $2,
// and for at most (tenants with due work) / $2 rounds beyond that.
//
// tenants walks the distinct tenants of jobs_ready (one index descent each, however many jobs
// a tenant has: a loose index scan); visited keeps those with a job claimable at $1 (one more
// descent each); mine locks each visited tenant's earliest claimable jobs, skipping the rows
// other workers are claiming right now (SKIP LOCKED), and re-checks each against its latest
// version, so a job another worker claimed since this statement began is not taken twice.
inline constexpr char kClaim[] =
    "WITH RECURSIVE tenants(tenant_id) AS ("
    " (SELECT tenant_id FROM jobs WHERE ready_time IS NOT NULL ORDER BY tenant_id LIMIT 1)"
    " UNION ALL"
    " SELECT (SELECT j.tenant_id FROM jobs j WHERE j.ready_time IS NOT NULL"
    "   AND j.tenant_id > t.tenant_id ORDER BY j.tenant_id LIMIT 1)"
    " FROM tenants t WHERE t.tenant_id IS NOT NULL),"
    " visited AS ("
    " SELECT t.tenant_id FROM tenants t WHERE t.tenant_id IS NOT NULL AND EXISTS ("
    "   SELECT 1 FROM jobs j WHERE j.tenant_id = t.tenant_id AND j.ready_time <= "
    TL_PG_MICROS(1) ")"
    " ORDER BY t.tenant_id <= $5, t.tenant_id LIMIT $2),"
    " share AS (SELECT ceil($2::numeric / greatest(count(*), 1))::int AS n FROM visited),"
    " mine AS ("
    " SELECT c.tenant_id, c.job_id, c.ready_time,"
    "   row_number() OVER (PARTITION BY c.tenant_id ORDER BY c.ready_time, c.job_id) AS turn"
    " FROM visited v CROSS JOIN share s CROSS JOIN LATERAL ("
    "   SELECT j.tenant_id, j.job_id, j.ready_time FROM jobs j WHERE j.tenant_id = v.tenant_id"
    "   AND j.ready_time <= " TL_PG_MICROS(1) " ORDER BY j.ready_time LIMIT s.n"
    "   FOR UPDATE SKIP LOCKED) c),"
    " taken AS (SELECT tenant_id, job_id FROM mine ORDER BY turn, ready_time, tenant_id LIMIT $2)"
    " UPDATE jobs j SET state = 'claimed', claimed_by = $3, lease_until = " TL_PG_MICROS(4) ","
    " attempts = j.attempts + 1, update_time = " TL_PG_MICROS(1)
    " FROM taken WHERE j.tenant_id = taken.tenant_id AND j.job_id = taken.job_id"
    " RETURNING " TL_JOB_COLUMNS;

// Finishes job $2 of tenant $1 if it is still the claim of worker $3 at attempt $4: state $5
// ('done' or 'dead'), error $6 ('' keeps the last one; kept to 2,000 characters), at $7.
// No row when the claim is no longer the worker's.
inline constexpr char kFinishClaim[] =
    "UPDATE jobs j SET state = $5, lease_until = NULL, last_error = coalesce(nullif(left($6, 2000), ''), "
    "j.last_error), finish_time = " TL_PG_MICROS(7) ", update_time = " TL_PG_MICROS(7)
    " WHERE j.tenant_id = $1 AND j.job_id = $2::uuid AND j.state = 'claimed' "
    "AND j.claimed_by = $3 AND j.attempts = $4 RETURNING " TL_JOB_COLUMNS;

// Puts job $2 of tenant $1 back to pending, due at $5, if it is still the claim of worker $3 at
// attempt $4: error $6 (kept to 2,000 characters), at $7. No row when the claim is no longer
// the worker's.
inline constexpr char kRetryClaim[] =
    "UPDATE jobs j SET state = 'pending', lease_until = NULL, due_time = " TL_PG_MICROS(5) ", "
    "last_error = left($6, 2000), update_time = " TL_PG_MICROS(7)
    " WHERE j.tenant_id = $1 AND j.job_id = $2::uuid AND j.state = 'claimed' "
    "AND j.claimed_by = $3 AND j.attempts = $4 RETURNING " TL_JOB_COLUMNS;

// Tenant $1's dead jobs, the latest dead first, after (dead at $2, id $3) of the previous page
// ($2 = -1: from the start), $4 at most.
inline constexpr char kListDead[] =
    "SELECT " TL_JOB_COLUMNS " FROM jobs j WHERE j.tenant_id = $1 AND j.state = 'dead' "
    "AND ($2::bigint = -1 OR (j.finish_time, j.job_id) < (" TL_PG_MICROS(2) ", $3::uuid)) "
    "ORDER BY j.finish_time DESC, j.job_id DESC LIMIT $4";

// Tenant $1's dead job of key $2 back to pending, due at $3 with its attempts from zero (its
// last error kept). No row unless it is dead.
inline constexpr char kRedrive[] =
    "UPDATE jobs j SET state = 'pending', due_time = " TL_PG_MICROS(3) ", attempts = 0, "
    "finish_time = NULL, update_time = " TL_PG_MICROS(3) " WHERE j.tenant_id = $1 "
    "AND j.key = $2 AND j.state = 'dead' RETURNING " TL_JOB_COLUMNS;

// Tenant $1's dead job of key $2 discarded at $3 (purged with the done ones). No row unless
// it is dead.
inline constexpr char kDiscard[] =
    "UPDATE jobs j SET state = 'discarded', finish_time = " TL_PG_MICROS(3) ", update_time = "
    TL_PG_MICROS(3) " WHERE j.tenant_id = $1 AND j.key = $2 AND j.state = 'dead' "
    "RETURNING " TL_JOB_COLUMNS;

// pg::DeleteInBatches: at most $2 done or discarded jobs finished more than $1 microseconds
// ago (by the database's clock).
inline constexpr char kPurgeFinished[] =
    "DELETE FROM jobs WHERE ctid = ANY(ARRAY(SELECT ctid FROM jobs "
    "WHERE state IN ('done', 'discarded') "
    "AND finish_time < now() - $1::bigint * interval '1 microsecond' LIMIT $2))";
// clang-format on

}  // namespace touchline::automation::jobs_sql

#endif  // TOUCHLINE_SERVICES_AUTOMATION_JOBS_SQL_H_
