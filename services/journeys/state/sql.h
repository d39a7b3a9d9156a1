// The SQL of the journeys state: facts, members, visits and entry passes
// (migrations/0001_journeys.sql). Times go in and out as microseconds since the epoch.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_STATE_SQL_H_
#define TOUCHLINE_SERVICES_JOURNEYS_STATE_SQL_H_

#include <utility>

#include "common/pg/sql_time.h"

namespace touchline::journeys::sql {

// Every published version of tenant $1 (bodies).
inline constexpr char kPublishedJourneys[] =
    "SELECT body FROM journeys WHERE tenant_id = $1 AND state = 2";

// Adds or replaces fact $2 of tenant $1 for customer $3 at $4 (micros), body $5 (hex). A new
// fact's origin is the customer; a replaced one keeps its origin. Returns the customer and
// time it had before (NULLs for a new fact).
inline constexpr char kUpsertFact[] =
    "WITH old AS (SELECT customer_id, occurred_at FROM customer_facts "
    "  WHERE tenant_id = $1 AND fact_id = $2 FOR UPDATE) "
    "INSERT INTO customer_facts AS f (tenant_id, fact_id, customer_id, origin_customer_id, "
    "occurred_at, body) VALUES ($1, $2, $3::uuid, $3::uuid, " TL_PG_MICROS(4)
    ", decode($5, 'hex')) "
    "ON CONFLICT (tenant_id, fact_id) DO UPDATE SET customer_id = EXCLUDED.customer_id, "
    "occurred_at = EXCLUDED.occurred_at, body = EXCLUDED.body "
    "RETURNING (SELECT customer_id::text FROM old), "
    "(SELECT " TL_PG_TO_MICROS("occurred_at") " FROM old)";

// Deletes fact $2 of tenant $1; returns its customer and time.
inline constexpr char kDeleteFact[] =
    "DELETE FROM customer_facts WHERE tenant_id = $1 AND fact_id = $2 "
    "RETURNING customer_id::text, " TL_PG_TO_MICROS("occurred_at");

// The facts of customer $2 of tenant $1, in (occurred_at, fact_id) order.
inline constexpr char kCustomerFacts[] =
    "SELECT body FROM customer_facts WHERE tenant_id = $1 AND customer_id = $2::uuid "
    "ORDER BY occurred_at, fact_id";

// Moves the facts of the merged customer $2 to the survivor $3 (tenant $1).
inline constexpr char kMoveFactsToSurvivor[] =
    "UPDATE customer_facts SET customer_id = $3::uuid "
    "WHERE tenant_id = $1 AND customer_id = $2::uuid";

// Moves back to the restored customer $2, from the survivor $3 (tenant $1), the facts that came
// from it or from customers merged into it earlier (by the customer read model).
inline constexpr char kMoveFactsToRestored[] =
    "WITH RECURSIVE folded(id) AS ("
    "  SELECT $2::uuid"
    "  UNION SELECT c.customer_id FROM customers c JOIN folded f"
    "    ON c.tenant_id = $1 AND c.merged_into = f.id) "
    "UPDATE customer_facts SET customer_id = $2::uuid "
    "WHERE tenant_id = $1 AND customer_id = $3::uuid "
    "AND origin_customer_id IN (SELECT id FROM folded)";

// The journeys customer $2 of tenant $1 is on, locked: journey, version, selected, enter,
// last fact time (NULL for none) and id, the contribution filed (NULL: filed before migration
// 0003, that of its visits alone), the current stage and since when; and the customer's owner,
// region and level as the read model holds them (NULLs when it holds none).
inline constexpr char kLockMembers[] =
    "SELECT m.journey_id::text, m.version, " TL_PG_TO_MICROS("m.selected_time") ", "
    TL_PG_TO_MICROS("m.enter_time") ", " TL_PG_TO_MICROS("m.last_fact_time") ", "
    "m.last_fact_id, m.filed, m.stage_id, " TL_PG_TO_MICROS("m.stage_enter_time") ", "
    "c.owner_id, c.region, c.level FROM journey_members m LEFT JOIN customers c "
    "ON c.tenant_id = m.tenant_id AND c.customer_id = m.customer_id "
    "WHERE m.tenant_id = $1 AND m.customer_id = $2::uuid ORDER BY m.journey_id FOR UPDATE OF m";

// Adds customer $2 of tenant $1 to journey $3 version $4, selected at $5 (micros), at the
// entry stage $6 for now (the path is derived next). Nothing when it is on the journey.
inline constexpr char kInsertMember[] =
    "INSERT INTO journey_members (tenant_id, customer_id, journey_id, version, selected_time, "
    "enter_time, stage_id, stage_enter_time) VALUES ($1, $2::uuid, $3::uuid, $4, "
    TL_PG_MICROS(5) ", " TL_PG_MICROS(5) ", $6, " TL_PG_MICROS(5) ") "
    "ON CONFLICT DO NOTHING RETURNING 1";

// Where customer $2 of tenant $1 stands on journey $3 now: enter (micros), stage, stage enter
// (micros), completed, the last fact (micros, or NULL) and its id, the contribution filed (hex).
inline constexpr char kUpdateMember[] =
    "UPDATE journey_members SET enter_time = " TL_PG_MICROS(4) ", stage_id = $5, "
    "stage_enter_time = " TL_PG_MICROS(6) ", completed = $7, "
    "last_fact_time = CASE WHEN $8::bigint IS NULL THEN NULL ELSE " TL_PG_MICROS(8) " END, "
    "last_fact_id = $9, filed = decode($10, 'hex') "
    "WHERE tenant_id = $1 AND customer_id = $2::uuid AND journey_id = $3::uuid";

// Takes customer $2 of tenant $1 off every journey (a merged customer: its visits stay).
// Returns journey, version, selected and enter (micros) and the contribution filed of each.
inline constexpr char kDeleteMembers[] =
    "DELETE FROM journey_members WHERE tenant_id = $1 AND customer_id = $2::uuid "
    "RETURNING journey_id::text, version, " TL_PG_TO_MICROS(
        "selected_time") ", " TL_PG_TO_MICROS("enter_time") ", filed";

// The journeys customer $2 of tenant $1 has visits on, with the version of the latest visit
// and the earliest enter time: where an unmerged customer was before its merge.
inline constexpr char kVisitedJourneys[] =
    "SELECT DISTINCT ON (journey_id) journey_id::text, version, "
    "(SELECT " TL_PG_TO_MICROS("min(enter_time)") " FROM stage_visits w "
    "  WHERE w.tenant_id = v.tenant_id AND w.customer_id = v.customer_id "
    "  AND w.journey_id = v.journey_id) "
    "FROM stage_visits v WHERE tenant_id = $1 AND customer_id = $2::uuid "
    "ORDER BY journey_id, seq DESC";

// The visit columns, in VisitFromRow's order.
#define TL_JOURNEYS_VISIT_COLUMNS \
  "seq, version, stage_id, from_stage_id, " TL_PG_TO_MICROS(                              \
      "enter_time") ", " TL_PG_TO_MICROS("exit_time") ", cause_kind, cause_id, user_id, " \
                                                            "reason"

// The visits of customer $2 on journey $3 (tenant $1), in order.
inline constexpr char kVisits[] =
    "SELECT " TL_JOURNEYS_VISIT_COLUMNS
    " FROM stage_visits "
    "WHERE tenant_id = $1 AND customer_id = $2::uuid AND journey_id = $3::uuid ORDER BY seq";

// Removes the visits of customer $2 on journey $3 (tenant $1) from seq $4 on.
inline constexpr char kDeleteVisitsFrom[] =
    "DELETE FROM stage_visits WHERE tenant_id = $1 AND customer_id = $2::uuid "
    "AND journey_id = $3::uuid AND seq >= $4";

// Ends the visit of customer $2 on journey $3 (tenant $1) not yet exited, at $4 (micros), and
// returns it (TL_JOURNEYS_VISIT_COLUMNS).
inline constexpr char kExitVisit[] =
    "UPDATE stage_visits SET exit_time = " TL_PG_MICROS(4) " "
    "WHERE tenant_id = $1 AND customer_id = $2::uuid AND journey_id = $3::uuid "
    "AND exit_time IS NULL RETURNING " TL_JOURNEYS_VISIT_COLUMNS;

// Visits of customer $2 on journey $3 (tenant $1) at version $4: $5 (jsonb) an array of
// {seq, stage_id, from_stage_id, enter (micros), exit (micros or null), cause_kind, cause_id,
// user_id, reason}, in one statement.
inline constexpr char kInsertVisits[] =
    "INSERT INTO stage_visits (tenant_id, customer_id, journey_id, seq, version, stage_id, "
    "from_stage_id, enter_time, exit_time, cause_kind, cause_id, user_id, reason) "
    "SELECT $1, $2::uuid, $3::uuid, v.seq, $4::int, v.stage_id, v.from_stage_id, "
    "timestamptz 'epoch' + v.enter * interval '1 microsecond', "
    "timestamptz 'epoch' + v.exit * interval '1 microsecond', v.cause_kind, v.cause_id, "
    "v.user_id, v.reason FROM jsonb_to_recordset($5::jsonb) AS v(seq int, stage_id text, "
    "from_stage_id text, enter bigint, exit bigint, cause_kind smallint, cause_id text, "
    "user_id text, reason text)";

// The oldest unfinished entry pass, locked (others skip it): tenant, journey, version, the
// last customer judged ('' before the first).
inline constexpr char kNextEntryPass[] =
    "SELECT tenant_id, journey_id::text, version, coalesce(after_customer_id::text, '') "
    "FROM journey_entry_passes WHERE finish_time IS NULL ORDER BY start_time "
    "LIMIT 1 FOR UPDATE SKIP LOCKED";

// Active customers of tenant $1 after customer $2 ('' for the first), $3 at most, with what
// entry rules look at.
inline constexpr char kCustomersAfter[] =
    "SELECT customer_id::text, region, level, lifecycle_status, tags FROM customers "
    "WHERE tenant_id = $1 AND state = 1 AND customer_id > coalesce(nullif($2, '')::uuid, "
    "'00000000-0000-0000-0000-000000000000'::uuid) ORDER BY customer_id LIMIT $3";

// Records the progress of the pass of journey $2 version $3 (tenant $1): the last customer
// judged $4, $5 more entered, finished when $6.
inline constexpr char kAdvanceEntryPass[] =
    "UPDATE journey_entry_passes SET after_customer_id = nullif($4, '')::uuid, "
    "entered = entered + $5, finish_time = CASE WHEN $6 THEN now() END "
    "WHERE tenant_id = $1 AND journey_id = $2::uuid AND version = $3";

// The journeys customer $2 of tenant $1 is on, with the version's body: journey, version,
// stage, stage enter (micros), enter (micros), completed, body; by journey display name.
inline constexpr char kCustomerJourneys[] =
    "SELECT m.journey_id::text, m.version, m.stage_id, "
    TL_PG_TO_MICROS("m.stage_enter_time") ", " TL_PG_TO_MICROS("m.enter_time") ", "
    "m.completed, j.body FROM journey_members m JOIN journeys j ON j.tenant_id = m.tenant_id "
    "AND j.journey_id = m.journey_id AND j.version = m.version "
    "WHERE m.tenant_id = $1 AND m.customer_id = $2::uuid "
    "ORDER BY j.display_name COLLATE \"zh-Hans-x-icu\", m.journey_id";

// The visits of customer $2 on journey $3 (tenant $1) after seq $4, $5 at most.
inline constexpr char kVisitsAfter[] =
    "SELECT " TL_JOURNEYS_VISIT_COLUMNS
    " FROM stage_visits "
    "WHERE tenant_id = $1 AND customer_id = $2::uuid AND journey_id = $3::uuid AND seq > $4 "
    "ORDER BY seq LIMIT $5";

// The statements the mapper runs for every event, prepared on every connection of the pool it
// runs on (MapperStatements in journey_mapper.h): PostgreSQL then plans each once per
// connection instead of once per call. (name, sql).
inline constexpr std::pair<const char*, const char*> kPerEvent[] = {
    {"journeys_published", kPublishedJourneys},    {"journeys_upsert_fact", kUpsertFact},
    {"journeys_delete_fact", kDeleteFact},         {"journeys_facts", kCustomerFacts},
    {"journeys_lock_members", kLockMembers},       {"journeys_insert_member", kInsertMember},
    {"journeys_update_member", kUpdateMember},     {"journeys_visits", kVisits},
    {"journeys_delete_visits", kDeleteVisitsFrom}, {"journeys_exit_visit", kExitVisit},
    {"journeys_insert_visits", kInsertVisits}};

}  // namespace touchline::journeys::sql

#endif  // TOUCHLINE_SERVICES_JOURNEYS_STATE_SQL_H_
