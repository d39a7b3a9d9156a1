// The SQL of the stage analytics (migrations/0002_stage_stats.sql, 0003_emotions_and_paths.sql).
#ifndef TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_SQL_H_
#define TOUCHLINE_SERVICES_JOURNEYS_ANALYTICS_SQL_H_

#include "services/journeys/state/sql.h"

namespace touchline::journeys::analytics::sql {

// The key columns of a stats row as jsonb_to_recordset reads them.
#define TL_STAGE_STATS_KEY "version integer, stage_id text, entry_day date"
#define TL_STAGE_STATS_ATTRIBUTES "owner_id text, region text, level smallint"
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

// Adds the rows of $3 (jsonb: arrays "stats", "stats_all", "current", "current_all", "paths",
// "paths_all" of StatsDelta rows) to the six tables, for journey $2 of tenant $1. A row left
// negative fails the statement (check_violation); exit_seconds is 0 with no exits left (no rounding
// residue). kAddStats is prepared under this name on the mapper's connections (MapperStatements).
inline constexpr char kAddStatsName[] = "journeys_add_stats";
inline constexpr char kAddStats[] =
    "WITH stats AS ("
    "  INSERT INTO stage_stats AS t (tenant_id, journey_id, version, stage_id, entry_day, "
    "  owner_id, region, level, reached, current, exits, exit_seconds, exit_histogram, "
    "  touchpoints, sentiments, emotions) "
    "  SELECT $1, $2::uuid, r.* FROM jsonb_to_recordset($3::jsonb -> 'stats') AS "
    "r(" TL_STAGE_STATS_KEY ", " TL_STAGE_STATS_ATTRIBUTES ", " TL_STAGE_STATS_FIGURES
    ") "
    "  ON CONFLICT (tenant_id, journey_id, version, stage_id, owner_id, region, level, "
    "  entry_day) DO UPDATE SET " TL_STAGE_STATS_ADD
    "), "
    "stats_all AS ("
    "  INSERT INTO stage_stats_all AS t (tenant_id, journey_id, version, stage_id, entry_day, "
    "  reached, current, exits, exit_seconds, exit_histogram, touchpoints, sentiments, emotions) "
    "  SELECT $1, $2::uuid, r.* FROM jsonb_to_recordset($3::jsonb -> 'stats_all') AS "
    "r(" TL_STAGE_STATS_KEY ", " TL_STAGE_STATS_FIGURES
    ") "
    "  ON CONFLICT (tenant_id, journey_id, version, stage_id, entry_day) DO UPDATE "
    "SET " TL_STAGE_STATS_ADD
    "), "
    "current AS ("
    "  INSERT INTO stage_current AS t (tenant_id, journey_id, version, stage_id, entry_day, "
    "  owner_id, region, level, stage_enter_day, current) "
    "  SELECT $1, $2::uuid, r.* FROM jsonb_to_recordset($3::jsonb -> 'current') AS "
    "r(" TL_STAGE_STATS_KEY ", " TL_STAGE_STATS_ATTRIBUTES
    ", stage_enter_day date, current bigint) "
    "  ON CONFLICT (tenant_id, journey_id, version, stage_id, owner_id, region, level, "
    "  entry_day, stage_enter_day) DO UPDATE SET current = t.current + EXCLUDED.current RETURNING "
    "t.current < 0 AS negative), "
    "current_all AS ("
    "  INSERT INTO stage_current_all AS t (tenant_id, journey_id, version, stage_id, entry_day, "
    "  stage_enter_day, current) "
    "  SELECT $1, $2::uuid, r.* FROM jsonb_to_recordset($3::jsonb -> 'current_all') AS "
    "r(" TL_STAGE_STATS_KEY
    ", stage_enter_day date, current bigint) "
    "  ON CONFLICT (tenant_id, journey_id, version, stage_id, entry_day, stage_enter_day) "
    "  DO UPDATE SET current = t.current + EXCLUDED.current RETURNING t.current < 0 AS negative), "
    "paths AS ("
    "  INSERT INTO stage_paths AS t (tenant_id, journey_id, version, stage_id, entry_day, "
    "  owner_id, region, level, channels, customers) "
    "  SELECT $1, $2::uuid, r.* FROM jsonb_to_recordset($3::jsonb -> 'paths') AS "
    "r(" TL_STAGE_STATS_KEY ", " TL_STAGE_STATS_ATTRIBUTES
    ", channels smallint[], customers bigint) "
    "  ON CONFLICT (tenant_id, journey_id, version, stage_id, owner_id, region, level, "
    "  entry_day, channels) DO UPDATE SET customers = t.customers + EXCLUDED.customers "
    "  RETURNING t.customers < 0 AS negative), "
    "paths_all AS ("
    "  INSERT INTO stage_paths_all AS t (tenant_id, journey_id, version, stage_id, entry_day, "
    "  channels, customers) "
    "  SELECT $1, $2::uuid, r.* FROM jsonb_to_recordset($3::jsonb -> 'paths_all') AS "
    "r(" TL_STAGE_STATS_KEY
    ", channels smallint[], customers bigint) "
    "  ON CONFLICT (tenant_id, journey_id, version, stage_id, entry_day, channels) "
    "  DO UPDATE SET customers = t.customers + EXCLUDED.customers "
    "  RETURNING t.customers < 0 AS negative) "
    "SELECT stage_stats_refuse_negative((SELECT count(*) FILTER (WHERE negative) FROM stats) + "
    "(SELECT count(*) FILTER (WHERE negative) FROM stats_all) + "
    "(SELECT count(*) FILTER (WHERE negative) FROM current) + "
    "(SELECT count(*) FILTER (WHERE negative) FROM current_all) + "
    "(SELECT count(*) FILTER (WHERE negative) FROM paths) + "
    "(SELECT count(*) FILTER (WHERE negative) FROM paths_all))";

// Every version of journey $2 of tenant $1 (bodies), oldest first.
inline constexpr char kJourneyVersions[] =
    "SELECT body FROM journeys WHERE tenant_id = $1 AND journey_id = $2::uuid ORDER BY version";

// The rows of journey $2 of tenant $1, version $3 (0: every version), whose members entered
// on days in [$4, $5) (dates; '-infinity' and 'infinity' for open ends).
#define TL_STAGE_STATS_RANGE                                                                     \
  " WHERE s.tenant_id = $1 AND s.journey_id = $2::uuid AND ($3::int = 0 OR s.version = $3::int)" \
  " AND s.entry_day >= $4::date AND s.entry_day < $5::date"

// The sums per version and stage of stage_stats or stage_stats_all: kSumStatsFrom with %H, %S
// and %E replaced by the element-wise sums of exit_histogram, sentiments and emotions (each
// element summed by its own sum(), joined by commas: a plain aggregate per element is an
// order of magnitude cheaper than an aggregate over arrays), the table, kSumStatsRange, a
// condition, kSumStatsGroup. Columns: version, stage, reached, current, exits, exit_seconds,
// histogram, touchpoints, sentiments, emotions.
inline constexpr char kSumStatsFrom[] =
    "SELECT s.version, s.stage_id, sum(s.reached)::bigint, sum(s.current)::bigint, "
    "sum(s.exits)::bigint, sum(s.exit_seconds), %H, sum(s.touchpoints)::bigint, %S, %E FROM ";
inline constexpr char kSumStatsRange[] = " s" TL_STAGE_STATS_RANGE;
inline constexpr char kSumStatsGroup[] = " GROUP BY s.version, s.stage_id";

// The members now in each stage per version, stage and day they entered it, from
// stage_current or stage_current_all.
inline constexpr char kSumCurrentFrom[] =
    "SELECT s.version, s.stage_id, s.stage_enter_day::text, sum(s.current)::bigint FROM ";
inline constexpr char kSumCurrentGroup[] =
    " GROUP BY s.version, s.stage_id, s.stage_enter_day HAVING sum(s.current) <> 0";

// The members per version, stage and path of stage_paths or stage_paths_all: kSumPathsFrom with
// %N replaced by the number of channels kept (the last ones), the table, kSumStatsRange, a
// condition, kSumPathsGroup. Columns: version, stage, channels joined by commas, members.
inline constexpr char kSumPathsFrom[] =
    "SELECT s.version, s.stage_id, array_to_string(s.channels[greatest(1, "
    "cardinality(s.channels) - %N + 1):], ','), sum(s.customers)::bigint FROM ";
inline constexpr char kSumPathsGroup[] = " GROUP BY 1, 2, 3 HAVING sum(s.customers) <> 0";

// The members of journey $2 (tenant $1, version and entry days as above) whose customers (c) a
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
