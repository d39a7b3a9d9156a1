// The SQL of the stage analytics (migrations/0002_stage_stats.sql to 0005_stage_rollups.sql).
#ifndef TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_SQL_H_
#define TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_SQL_H_

#include "services/journeys/state/sql.h"

namespace touchline::journeys::analytics::sql {

// The key columns of a row of the three tables as jsonb_to_recordset reads them.
#define TL_STAGE_ROLLUP_KEY                                                                        \
  "detail smallint, months boolean, version integer, owner_id text, region text, level smallint, " \
  "entry_day date, stage_id text"
#define TL_STAGE_ROLLUP_KEY_COLUMNS \
  "detail, months, version, owner_id, region, level, entry_day, stage_id"
#define TL_STAGE_STATS_FIGURES                                                    \
  "reached bigint, current bigint, exits bigint, exit_seconds double precision, " \
  "exit_histogram bigint[], touchpoints bigint, sentiments bigint[], emotions bigint[]"
// Adds the figures of EXCLUDED to the row t.
#define TL_STAGE_STATS_ADD                                                                   \
  "reached = t.reached + EXCLUDED.reached, current = t.current + EXCLUDED.current, "         \
  "exits = t.exits + EXCLUDED.exits, exit_seconds = CASE WHEN t.exits + EXCLUDED.exits = 0 " \
  "THEN 0 ELSE greatest(0, t.exit_seconds + EXCLUDED.exit_seconds) END, "                    \
  "exit_histogram = stage_histogram_add(t.exit_histogram, EXCLUDED.exit_histogram), "        \
  "touchpoints = t.touchpoints + EXCLUDED.touchpoints, "                                     \
  "sentiments = stage_histogram_add(t.sentiments, EXCLUDED.sentiments), "                    \
  "emotions = stage_histogram_add(t.emotions, EXCLUDED.emotions) "                           \
  "RETURNING t.reached < 0 OR t.current < 0 OR t.exits < 0 OR t.exit_seconds < 0 "           \
  "OR 0 > ANY(t.exit_histogram) OR t.touchpoints < 0 OR 0 > ANY(t.sentiments) "              \
  "OR 0 > ANY(t.emotions) AS negative"

// Adds the rows of $3 (jsonb: arrays "stats", "current" and "paths" of StatsDelta rows) to the
// three tables, for journey $2 of tenant $1. A row left negative fails the statement
// (check_violation); exit_seconds is 0 with no exits left (no rounding residue). kAddStats is
// prepared under this name on the mapper's connections (MapperStatements).
inline constexpr char kAddStatsName[] = "journeys_add_stats";
inline constexpr char kAddStats[] =
    "WITH stats AS ("
    "  INSERT INTO stage_stats AS t (tenant_id, journey_id, " TL_STAGE_ROLLUP_KEY_COLUMNS
    ", reached, current, exits, exit_seconds, exit_histogram, touchpoints, sentiments, emotions) "
    "  SELECT $1, $2::uuid, r.* FROM jsonb_to_recordset($3::jsonb -> 'stats') AS "
    "r(" TL_STAGE_ROLLUP_KEY ", " TL_STAGE_STATS_FIGURES
    ") "
    "  ON CONFLICT ON CONSTRAINT stage_stats_pkey DO UPDATE SET " TL_STAGE_STATS_ADD
    "), "
    "current AS ("
    "  INSERT INTO stage_current AS t (tenant_id, journey_id, " TL_STAGE_ROLLUP_KEY_COLUMNS
    ", stage_enter_day, current) "
    "  SELECT $1, $2::uuid, r.* FROM jsonb_to_recordset($3::jsonb -> 'current') AS "
    "r(" TL_STAGE_ROLLUP_KEY
    ", stage_enter_day date, current bigint) "
    "  ON CONFLICT ON CONSTRAINT stage_current_pkey DO UPDATE SET current = t.current + "
    "EXCLUDED.current RETURNING t.current < 0 AS negative), "
    "paths AS ("
    "  INSERT INTO stage_paths AS t (tenant_id, journey_id, " TL_STAGE_ROLLUP_KEY_COLUMNS
    ", channels, customers) "
    "  SELECT $1, $2::uuid, r.* FROM jsonb_to_recordset($3::jsonb -> 'paths') AS "
    "r(" TL_STAGE_ROLLUP_KEY
    ", channels smallint[], customers bigint) "
    "  ON CONFLICT ON CONSTRAINT stage_paths_pkey DO UPDATE SET customers = t.customers + "
    "EXCLUDED.customers RETURNING t.customers < 0 AS negative) "
    "SELECT stage_stats_refuse_negative((SELECT count(*) FILTER (WHERE negative) FROM stats) + "
    "(SELECT count(*) FILTER (WHERE negative) FROM current) + "
    "(SELECT count(*) FILTER (WHERE negative) FROM paths))";

// Every version of journey $2 of tenant $1 (bodies), oldest first.
inline constexpr char kJourneyVersions[] =
    "SELECT body FROM journeys WHERE tenant_id = $1 AND journey_id = $2::uuid ORDER BY version";

// The rows of journey $2 of tenant $1, version $3 (0: every version), that count members who
// entered on days in [$4, $5) (dates; '-infinity' and 'infinity' for open ends), given that
// [$6, $7) is the range's whole months (empty when it has none): kMonthRows, the month rows of
// [$6, $7), and kDayRows, the day rows of the rest. GetStageAnalytics sums the union of both,
// each under a detail's and the scope's condition, as the subquery s.
#define TL_STAGE_ROLLUP_ROWS \
  " WHERE s.tenant_id = $1 AND s.journey_id = $2::uuid AND ($3::int = 0 OR s.version = $3::int)"
inline constexpr char kMonthRows[] =
    TL_STAGE_ROLLUP_ROWS " AND s.months AND s.entry_day >= $6::date AND s.entry_day < $7::date";
inline constexpr char kDayRows[] = TL_STAGE_ROLLUP_ROWS
    " AND NOT s.months AND s.entry_day >= $4::date AND s.entry_day < $5::date"
    " AND NOT (s.entry_day >= $6::date AND s.entry_day < $7::date)";
// The condition selecting the rows of each detail (Detail's number), by the whole key prefix
// so that the primary key finds them.
inline constexpr const char* kDetailRows[] = {
    " AND s.detail = 0 AND s.owner_id = '' AND s.region = ''",
    " AND s.detail = 1 AND s.owner_id = ''", " AND s.detail = 2"};

// The sums per version and stage of stage_stats: kSumStatsFrom with %H, %S and %E replaced by
// the element-wise sums of exit_histogram, sentiments and emotions (each element summed by its
// own sum(), joined by commas: a plain aggregate per element is an order of magnitude cheaper
// than an aggregate over arrays), the rows, kSumStatsGroup. Columns: version, stage, reached,
// current, exits, exit_seconds, histogram, touchpoints, sentiments, emotions.
inline constexpr char kSumStatsFrom[] =
    "SELECT s.version, s.stage_id, sum(s.reached)::bigint, sum(s.current)::bigint, "
    "sum(s.exits)::bigint, sum(s.exit_seconds), %H, sum(s.touchpoints)::bigint, %S, %E FROM ";
inline constexpr char kSumStatsGroup[] = " GROUP BY s.version, s.stage_id";

// The members now in each stage per version, stage and day they entered it, from the rows of
// stage_current (with a condition on stage_enter_day: only recent days are needed).
inline constexpr char kSumCurrentFrom[] =
    "SELECT s.version, s.stage_id, s.stage_enter_day::text, sum(s.current)::bigint FROM ";
inline constexpr char kSumCurrentGroup[] =
    " GROUP BY s.version, s.stage_id, s.stage_enter_day HAVING sum(s.current) <> 0";

// The members per version, stage and path of stage_paths: kSumPathsFrom with %N replaced by the
// number of channels kept (the last ones), the rows, kSumPathsGroup. Columns: version, stage,
// channels joined by commas, members.
inline constexpr char kSumPathsFrom[] =
    "SELECT s.version, s.stage_id, array_to_string(s.channels[greatest(1, "
    "cardinality(s.channels) - %N + 1):], ','), sum(s.customers)::bigint FROM ";
inline constexpr char kSumPathsGroup[] = " GROUP BY 1, 2, 3 HAVING sum(s.customers) <> 0";

// The members of journey $2 (tenant $1, version $3, entry days in [$4, $5)) whose customers (c) a
// condition appended after it selects: customer, version, the contribution filed (NULL: before
// migration 0003, that of its visits alone).
inline constexpr char kMembersFiled[] =
    "SELECT m.customer_id::text, m.version, m.filed FROM journey_members m "
    "JOIN customers c ON c.tenant_id = m.tenant_id AND c.customer_id = m.customer_id "
    "WHERE m.tenant_id = $1 AND m.journey_id = $2::uuid AND ($3::int = 0 OR m.version = $3::int) "
    "AND (m.enter_time AT TIME ZONE 'UTC')::date >= $4::date "
    "AND (m.enter_time AT TIME ZONE 'UTC')::date < $5::date";

}  // namespace touchline::journeys::analytics::sql

#endif  // TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_SQL_H_
