// The SQL of PgRuleStore: named statements with explicit columns and $n parameters over `rules`
// and `rule_versions` (migrations/0005_rules.sql). Statements run with search_path set to the
// service's schema. Times travel as bigint Unix microseconds (-1 for NULL going in).
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_RULES_SQL_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_RULES_SQL_H_

#include "common/pg/sql_time.h"

namespace touchline::automation::rules_sql {

// clang-format off
// ICU's Chinese collation, as the rule_versions_by_name index has it: pinyin order for Chinese.
#define TL_RULES_ZH "COLLATE \"zh-Hans-x-icu\""
// Every read of versions returns (body, revision, paused): the stored Rule, its etag and the
// rule's paused flag; v is rule_versions, r the rule's row of rules.
#define TL_RULE_READ                                                                  \
  "SELECT v.body, v.revision, r.paused FROM rule_versions v JOIN rules r "           \
  "ON r.tenant_id = v.tenant_id AND r.rule_id = v.rule_id "

// Rule $2 of tenant $1, version 1 the latest.
inline constexpr char kInsertRule[] =
    "INSERT INTO rules (tenant_id, rule_id, latest_version) VALUES ($1, $2::uuid, 1)";

// Stores version $3 of rule $2 of tenant $1, new or over the stored one (which keeps its
// create time): state $4, display name $5, body $6, created $7, updated $8, published $9 (-1:
// never), revision $10.
inline constexpr char kPutVersion[] =
    "INSERT INTO rule_versions AS v (tenant_id, rule_id, version, state, display_name, body, "
    "create_time, update_time, publish_time, revision) VALUES ($1, $2::uuid, $3, $4, $5, $6, "
    TL_PG_MICROS(7) ", " TL_PG_MICROS(8) ", " TL_PG_NULLABLE_MICROS(9) ", $10) "
    "ON CONFLICT (tenant_id, rule_id, version) DO UPDATE SET state = excluded.state, "
    "display_name = excluded.display_name, body = excluded.body, "
    "update_time = excluded.update_time, publish_time = excluded.publish_time, "
    "revision = excluded.revision";

// Rule $2 of tenant $1, locked until commit (every write of a rule takes it first): paused,
// paused and resume times (NULL: never), archived.
inline constexpr char kLockRule[] =
    "SELECT paused, " TL_PG_TO_MICROS("paused_time") ", " TL_PG_TO_MICROS("resume_time") ", "
    "archived FROM rules WHERE tenant_id = $1 AND rule_id = $2::uuid FOR UPDATE";

// Rule $2 of tenant $1 after a write: latest version $3, published version $4 (0: none),
// paused $5, paused time $6 and resume time $7 (-1: never), archived $8.
inline constexpr char kUpdateRule[] =
    "UPDATE rules SET latest_version = $3, published_version = nullif($4::integer, 0), "
    "paused = $5, paused_time = " TL_PG_NULLABLE_MICROS(6) ", "
    "resume_time = " TL_PG_NULLABLE_MICROS(7) ", archived = $8 "
    "WHERE tenant_id = $1 AND rule_id = $2::uuid";

// Every version of rule $2 of tenant $1, oldest first.
inline constexpr char kSelectVersions[] =
    TL_RULE_READ "WHERE v.tenant_id = $1 AND v.rule_id = $2::uuid ORDER BY v.version";

// Version $3 of rule $2 of tenant $1.
inline constexpr char kSelectVersion[] =
    TL_RULE_READ "WHERE v.tenant_id = $1 AND v.rule_id = $2::uuid AND v.version = $3";

// The latest version of rule $2 of tenant $1.
inline constexpr char kSelectLatest[] =
    TL_RULE_READ "AND r.latest_version = v.version WHERE v.tenant_id = $1 "
    "AND v.rule_id = $2::uuid";

// The latest version of each rule of tenant $1 (archived ones when $2), by name; $3 rows.
#define TL_LATEST_RULES \
  TL_RULE_READ "AND r.latest_version = v.version WHERE v.tenant_id = $1 " \
  "AND (NOT r.archived OR $2::boolean) "
#define TL_BY_NAME " ORDER BY v.display_name " TL_RULES_ZH ", v.rule_id LIMIT $3"

inline constexpr char kListFirst[] = TL_LATEST_RULES TL_BY_NAME;
// After the rule named $4 with id $5.
inline constexpr char kListAfter[] =
    TL_LATEST_RULES "AND (v.display_name " TL_RULES_ZH ", v.rule_id) > ($4::text " TL_RULES_ZH
    ", $5::uuid)" TL_BY_NAME;

// Every tenant's rules that run: (tenant, body, revision, paused, paused time, resume time) of
// the published version of each rule not archived (the rules_runnable index).
inline constexpr char kListRunnable[] =
    "SELECT r.tenant_id, v.body, v.revision, r.paused, " TL_PG_TO_MICROS("r.paused_time") ", "
    TL_PG_TO_MICROS("r.resume_time") " FROM rules r JOIN rule_versions v "
    "ON v.tenant_id = r.tenant_id AND v.rule_id = r.rule_id AND v.version = r.published_version "
    "WHERE NOT r.archived AND r.published_version IS NOT NULL ORDER BY r.tenant_id, r.rule_id";

#undef TL_BY_NAME
#undef TL_LATEST_RULES
#undef TL_RULE_READ
#undef TL_RULES_ZH
// clang-format on

}  // namespace touchline::automation::rules_sql

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_RULES_SQL_H_
