// The SQL of PgDefinitionStore: named statements with explicit columns and $n parameters over
// `journeys` and `journey_entry_passes` (migrations/0001_journeys.sql). Statements run with
// search_path set to the service's schema. Times travel as bigint Unix microseconds.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_SQL_H_
#define TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_SQL_H_

#include "common/pg/sql_time.h"

namespace touchline::journeys::definitions_sql {

// clang-format off
// ICU's Chinese collation, as the journeys_by_name index has it: pinyin order for Chinese.
#define TL_DEFINITIONS_ZH "COLLATE \"zh-Hans-x-icu\""

// Every read returns (body, revision): the stored Journey and its etag.

inline constexpr char kInsertVersion[] =
    "INSERT INTO journeys (tenant_id, journey_id, version, state, display_name, body, "
    "create_time, update_time, publish_time, revision) VALUES ($1, $2::uuid, $3, $4, $5, $6, "
    TL_PG_NULLABLE_MICROS(7) ", " TL_PG_NULLABLE_MICROS(8) ", " TL_PG_NULLABLE_MICROS(9) ", $10)";

inline constexpr char kUpdateVersion[] =
    "UPDATE journeys SET state = $4, display_name = $5, body = $6, "
    "update_time = " TL_PG_NULLABLE_MICROS(7) ", publish_time = " TL_PG_NULLABLE_MICROS(8) ", "
    "revision = $9 WHERE tenant_id = $1 AND journey_id = $2::uuid AND version = $3";

// Serialises the writes of one journey: its first version's row stays locked until commit.
inline constexpr char kLockJourney[] =
    "SELECT version FROM journeys WHERE tenant_id = $1 AND journey_id = $2::uuid "
    "ORDER BY version LIMIT 1 FOR UPDATE";

inline constexpr char kSelectVersions[] =
    "SELECT body, revision FROM journeys WHERE tenant_id = $1 AND journey_id = $2::uuid "
    "ORDER BY version";

inline constexpr char kSelectVersion[] =
    "SELECT body, revision FROM journeys WHERE tenant_id = $1 AND journey_id = $2::uuid "
    "AND version = $3";

inline constexpr char kSelectLatest[] =
    "SELECT body, revision FROM journeys WHERE tenant_id = $1 AND journey_id = $2::uuid "
    "ORDER BY version DESC LIMIT 1";

// The latest version of each journey of tenant $1 (archived ones when $2), by name; $3 rows.
#define TL_LATEST_JOURNEYS                                                              \
  "SELECT j.body, j.revision FROM journeys j WHERE j.tenant_id = $1 "                 \
  "AND (j.state <> 3 OR $2::boolean) AND j.version = (SELECT max(v.version) FROM "    \
  "journeys v WHERE v.tenant_id = j.tenant_id AND v.journey_id = j.journey_id) "
#define TL_BY_NAME \
  " ORDER BY j.display_name " TL_DEFINITIONS_ZH ", j.journey_id LIMIT $3"

inline constexpr char kListFirst[] = TL_LATEST_JOURNEYS TL_BY_NAME;
// After the journey named $4 with id $5.
inline constexpr char kListAfter[] =
    TL_LATEST_JOURNEYS "AND (j.display_name " TL_DEFINITIONS_ZH ", j.journey_id) > ($4::text "
    TL_DEFINITIONS_ZH ", $5::uuid)" TL_BY_NAME;

inline constexpr char kListPublished[] =
    "SELECT body, revision FROM journeys WHERE tenant_id = $1 AND state = 2 "
    "ORDER BY journey_id, version";

inline constexpr char kInsertEntryPass[] =
    "INSERT INTO journey_entry_passes (tenant_id, journey_id, version, start_time) "
    "VALUES ($1, $2::uuid, $3, " TL_PG_NULLABLE_MICROS(4) ")";

#undef TL_BY_NAME
#undef TL_LATEST_JOURNEYS
#undef TL_DEFINITIONS_ZH
#undef TL_PG_NULLABLE_MICROS
// clang-format on

}  // namespace touchline::journeys::definitions_sql

#endif  // TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_SQL_H_
