// The SQL of the rule engine (engine.cc) over rule_runs, customer_activity and
// inactivity_cursors (migrations/0006_engine.sql). Statements run with search_path set to the
// service's schema. Times travel as bigint Unix microseconds.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENGINE_SQL_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENGINE_SQL_H_

#include "common/pg/sql_time.h"

namespace touchline::automation::engine_sql {

// clang-format off

// Customers $2 (text[] of distinct UUIDs) of tenant $1 had touchpoints, the latest at $3
// (bigint[] of Unix micros), the latest inbound at $4 (-1: none): their inactivity deadlines
// move forward, never back. One statement for a consumer's whole batch.
inline constexpr char kTouch[] =
    "INSERT INTO customer_activity AS a (tenant_id, customer_id, last_touch_time, "
    "last_inbound_time) SELECT $1, t.customer_id::uuid, timestamptz 'epoch' + t.touch * "
    "interval '1 microsecond', timestamptz 'epoch' + nullif(t.inbound, -1) * "
    "interval '1 microsecond' FROM unnest($2::text[], $3::bigint[], $4::bigint[]) "
    "AS t(customer_id, touch, inbound) ON CONFLICT (tenant_id, customer_id) DO UPDATE SET "
    "last_touch_time = greatest(a.last_touch_time, excluded.last_touch_time), "
    "last_inbound_time = greatest(a.last_inbound_time, excluded.last_inbound_time)";

// Customer $2 of tenant $1 became known at $3 (created, or learnt from the feed): its
// deadlines count from then unless it has a touchpoint already.
inline constexpr char kArm[] =
    "INSERT INTO customer_activity (tenant_id, customer_id, last_touch_time) "
    "VALUES ($1, $2::uuid, " TL_PG_MICROS(3) ") ON CONFLICT DO NOTHING";

// The last touch and last inbound touch of customer $2 of tenant $1.
inline constexpr char kSelectActivity[] =
    "SELECT " TL_PG_TO_MICROS("last_touch_time") ", " TL_PG_TO_MICROS("last_inbound_time")
    " FROM customer_activity WHERE tenant_id = $1 AND customer_id = $2::uuid";

// Where inactivity rule $2 of tenant $1 has fired up to.
inline constexpr char kSelectCursor[] =
    "SELECT " TL_PG_TO_MICROS("touch_time") ", customer_id::text FROM inactivity_cursors "
    "WHERE tenant_id = $1 AND rule_id = $2::uuid";

// Up to $5 customers of tenant $1 whose last touch (and id) comes after ($2, $3) and at or
// before $4, in that order.
inline constexpr char kSelectDeadlines[] =
    "SELECT customer_id::text, " TL_PG_TO_MICROS("last_touch_time") " FROM customer_activity "
    "WHERE tenant_id = $1 AND (last_touch_time, customer_id) > (" TL_PG_MICROS(2) ", $3::uuid) "
    "AND last_touch_time <= " TL_PG_MICROS(4) " ORDER BY last_touch_time, customer_id LIMIT $5";

// Inactivity rule $2 of tenant $1 has fired up to ($3, $4).
inline constexpr char kUpsertCursor[] =
    "INSERT INTO inactivity_cursors (tenant_id, rule_id, touch_time, customer_id) "
    "VALUES ($1, $2::uuid, " TL_PG_MICROS(3) ", $4::uuid) ON CONFLICT (tenant_id, rule_id) "
    "DO UPDATE SET touch_time = excluded.touch_time, customer_id = excluded.customer_id";

// Where schedule rule $2 of tenant $1 stands: the time it last fired for, and the last
// customer that firing reached (NULL once done).
inline constexpr char kSelectScheduleCursor[] =
    "SELECT " TL_PG_TO_MICROS("fire_time") ", customer_id::text FROM schedule_cursors "
    "WHERE tenant_id = $1 AND rule_id = $2::uuid";

// Schedule rule $2 of tenant $1 fires for $3 and has reached customer $4 (NULL: done).
inline constexpr char kUpsertScheduleCursor[] =
    "INSERT INTO schedule_cursors (tenant_id, rule_id, fire_time, customer_id) "
    "VALUES ($1, $2::uuid, " TL_PG_MICROS(3) ", $4::uuid) ON CONFLICT (tenant_id, rule_id) "
    "DO UPDATE SET fire_time = excluded.fire_time, customer_id = excluded.customer_id";

// Up to $3 active customers of tenant $1 (the read model) after customer $2, by id: the
// columns CustomerRowValues reads.
inline constexpr char kSelectActiveCustomers[] =
    "SELECT customer_id::text, owner_id, region, level, lifecycle_status, tags FROM customers "
    "WHERE tenant_id = $1 AND state = 1 AND customer_id > $2::uuid ORDER BY customer_id "
    "LIMIT $3";

// Serialises the decisions about one customer's runs of one rule (re-enrolment, misfires)
// across workers and replicas, until the transaction ends.
inline constexpr char kLockCustomerRule[] =
    "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2 || '/' || $3, 0))";

// Whether customer $3 has a run of rule $2 (any version) of tenant $1 created at or after $4
// that matched ($5 false) or that ran for misfired timers ($5 true).
inline constexpr char kRecentRun[] =
    "SELECT 1 FROM rule_runs WHERE tenant_id = $1 AND rule_id = $2::uuid AND "
    "customer_id = $3::uuid AND create_time >= " TL_PG_MICROS(4) " AND "
    "(CASE WHEN $5 THEN misfire ELSE matched END) LIMIT 1";

// Inserts run $2 of tenant $1: rule $3 version $4, cause $5, customer $6, state $7, matched $8,
// misfire $9, body $10, created $11; no row when the rule version has a run of the cause.
inline constexpr char kInsertRun[] =
    "INSERT INTO rule_runs (tenant_id, run_id, rule_id, rule_version, cause, customer_id, state, "
    "matched, misfire, body, create_time, update_time) VALUES ($1, $2::uuid, $3::uuid, $4, $5, "
    "$6::uuid, $7, $8, $9, $10, " TL_PG_MICROS(11) ", " TL_PG_MICROS(11) ") "
    "ON CONFLICT ON CONSTRAINT rule_runs_once DO NOTHING RETURNING run_id";

// Run $2 of tenant $1, locked for its action's outcome: its body.
inline constexpr char kLockRun[] =
    "SELECT body FROM rule_runs WHERE tenant_id = $1 AND run_id = $2::uuid FOR UPDATE";

// Run $2 of tenant $1, read: its body.
inline constexpr char kSelectRun[] =
    "SELECT body FROM rule_runs WHERE tenant_id = $1 AND run_id = $2::uuid";

// Run $2 of tenant $1 now stands at state $3 with body $4, at $5.
inline constexpr char kUpdateRun[] =
    "UPDATE rule_runs SET state = $3, body = $4, update_time = " TL_PG_MICROS(5)
    " WHERE tenant_id = $1 AND run_id = $2::uuid";

// A run of a batch (Engine::RecordRuns) starts, ends, or is undone alone.
inline constexpr char kSavepoint[] = "SAVEPOINT run";
inline constexpr char kReleaseSavepoint[] = "RELEASE SAVEPOINT run";
inline constexpr char kRollbackToSavepoint[] = "ROLLBACK TO SAVEPOINT run";

// A page of the runs of rule $2 of tenant $1, newest first, after ($3, $4) when $3 is not
// not -1, in state $5 (0: any), of customer $6 ('' : any), at most $7.
inline constexpr char kListRuns[] =
    "SELECT body FROM rule_runs WHERE tenant_id = $1 AND rule_id = $2::uuid AND "
    "($3::bigint = -1 OR (create_time, run_id) < (" TL_PG_MICROS(3) ", $4::uuid)) "
    "AND ($5 = 0 OR state = $5) AND ($6 = '' OR customer_id = nullif($6, '')::uuid) "
    "ORDER BY create_time DESC, run_id DESC LIMIT $7";

// clang-format on

}  // namespace touchline::automation::engine_sql

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENGINE_SQL_H_
