// The statements of the touchpoints schema (migrations/), named. Those that depend on the
// caller's filter or scope are put together in pg_touchpoint_store.cc from the pieces here.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_SQL_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_SQL_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "common/enforcement/shares_read_model.h"
#include "services/touchpoints/touchpoint_row.h"

namespace touchline::touchpoints::sql {

// Names of the prepared statements (PgTouchpointStore::PreparedStatements()).
inline constexpr char kGetTouchpoint[] = "touchpoint_get";
inline constexpr char kTimelineFirst[] = "touchpoint_timeline_first";
inline constexpr char kTimelineAfter[] = "touchpoint_timeline_after";
inline constexpr char kCustomerAttributes[] = "touchpoint_customer_attributes";

// What row decisions need of a customer `c` of the read model, for "SELECT ... FROM customers
// c": owner, region, level and its shares, each as 'e' (edit) or 'r' (read) + grantee.
inline const std::string& AttributeColumns() {
  static const std::string* const columns = new std::string(absl::StrCat(
      "c.owner_id, c.region, c.level, ARRAY(SELECT CASE WHEN s.edit THEN 'e' ELSE 'r' END || "
      "s.grantee FROM ",
      enforcement::kSharesTable,
      " s WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.customer_id)"));
  return *columns;
}

// The attributes of one customer: $1 tenant, $2 customer id.
inline std::string CustomerAttributesSql() {
  return absl::StrCat("SELECT ", AttributeColumns(),
                      " FROM customers c WHERE c.tenant_id = $1 AND c.customer_id = $2::uuid");
}

// One touchpoint with its customer's attributes (AttributeColumns() after kSelectColumns):
// $1 tenant, $2 touchpoint id.
inline std::string SelectOneSql() {
  return absl::StrCat(
      "SELECT ", kSelectColumns, ", a.* FROM touchpoints LEFT JOIN LATERAL (SELECT ",
      AttributeColumns(),
      " FROM customers c WHERE c.tenant_id = touchpoints.tenant_id AND c.customer_id = "
      "touchpoints.customer_id) a ON TRUE "
      "WHERE touchpoints.tenant_id = $1 AND touchpoints.touchpoint_id = $2::uuid");
}

// A customer's timeline, newest first: $1 tenant, $2 customer; then $3 limit, or ($3, $4) the
// cursor and $5 the limit.
inline std::string TimelineSql(bool after) {
  return absl::StrCat(
      "SELECT ", kSelectColumns,
      " FROM touchpoints WHERE tenant_id = $1 AND customer_id = $2::uuid AND delete_time IS NULL ",
      after ? "AND (occurred_at, touchpoint_id) < ($3::timestamptz, $4::uuid) "
              "ORDER BY occurred_at DESC, touchpoint_id DESC LIMIT $5"
            : "ORDER BY occurred_at DESC, touchpoint_id DESC LIMIT $3");
}

// The customers $2 (uuid[]) of tenant $1 with their state, merge, persons and
// AttributeColumns(), each locked against a concurrent merge until the transaction ends.
inline std::string LoadCustomersSql() {
  return absl::StrCat(
      "SELECT c.customer_id::text, c.state, coalesce(c.merged_into::text, ''), "
      "c.person_ids::text[], c.folded_persons, ",
      AttributeColumns(),
      " FROM customers c WHERE c.tenant_id = $1 AND "
      "c.customer_id = ANY($2::uuid[]) ORDER BY c.customer_id FOR SHARE OF c");
}

// Creates the monthly partitions of [$1, $2] that are missing (migrations/0002).
inline constexpr char kEnsurePartitions[] =
    "SELECT ensure_partitions($1::timestamptz, $2::timestamptz)";
// The partitions' ranges in microseconds since the epoch, newest first; the archive's start
// is NULL (unbounded below).
inline constexpr char kPartitionRanges[] =
    "SELECT (extract(epoch FROM range_start) * 1000000)::bigint, "
    "(extract(epoch FROM range_end) * 1000000)::bigint "
    "FROM partition_ranges ORDER BY range_end DESC";

// Claims source keys (touchpoint_keys), parallel arrays $1 tenant, $2 kind, $3 key,
// $4 touchpoint id, $5 occurred_at, $6 hex fingerprint; returns the keys inserted (those not
// taken before).
inline constexpr char kClaimKeys[] =
    "INSERT INTO touchpoint_keys (tenant_id, kind, key, touchpoint_id, occurred_at, "
    "fingerprint) "
    "SELECT t, kind, key, id, occurred_at, decode(fp, 'hex') "
    "FROM unnest($1::text[], $2::smallint[], $3::text[], $4::uuid[], $5::timestamptz[], "
    "$6::text[]) AS k(t, kind, key, id, occurred_at, fp) "
    "ON CONFLICT DO NOTHING RETURNING tenant_id, kind, key, touchpoint_id::text";
// Gives keys back, parallel arrays $1 tenant, $2 kind, $3 key, $4 touchpoint id: by primary
// key, and only while they still name that touchpoint (the claims of others stay).
inline constexpr char kGiveBackKeys[] =
    "DELETE FROM touchpoint_keys k USING unnest($1::text[], $2::smallint[], $3::text[], "
    "$4::uuid[]) AS g(t, kind, key, id) WHERE k.tenant_id = g.t AND k.kind = g.kind "
    "AND k.key = g.key AND k.touchpoint_id = g.id";
// The stored touchpoint and hex fingerprint of tenant $1's source key $2.
inline constexpr char kStoredSourceKey[] =
    "SELECT touchpoint_id::text, encode(fingerprint, 'hex') FROM touchpoint_keys "
    "WHERE tenant_id = $1 AND kind = 2 AND key = $2";

// Rows whose search vector lacks needs, concerns and interests: tenant_id, kSelectColumns;
// $1 how many.
inline std::string OlderRowsToIndexSql() {
  return absl::StrCat("SELECT tenant_id, ", kSelectColumns,
                      " FROM touchpoints WHERE NOT lists_indexed LIMIT $1 FOR UPDATE SKIP LOCKED");
}
// Stores rebuilt search vectors, parallel arrays $1 tenant, $2 id, $3 occurred_at, $4 vector.
// Not a change of the touchpoint: version and change_xid stay.
inline constexpr char kStoreSearchVectors[] =
    "UPDATE touchpoints t SET search = k.search::tsvector, lists_indexed = true "
    "FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::text[]) "
    "AS k(tenant_id, id, occurred_at, search) WHERE t.tenant_id = k.tenant_id "
    "AND t.touchpoint_id = k.id AND t.occurred_at = k.occurred_at";

// Rewrites one touchpoint: $1 tenant, $2 id, $3 its stored occurred_at (the partition key),
// then the row's values; $6 whether the mutation named the customer $20 (its new origin).
inline constexpr char kUpdateTouchpoint[] =
    "UPDATE touchpoints SET occurred_at = $4::timestamptz, customer_id = $5::uuid, "
    "origin_customer_id = CASE WHEN $6 THEN $20::uuid ELSE origin_customer_id END, "
    "recorded_at = $7::timestamptz, channel = $8, category = $9, outcome = $10, "
    "sentiment = $11, tags = $12::text[], participant_ids = $13::text[], filled = $14, "
    "body = decode($15, 'hex'), search = $16::tsvector, version = $17, "
    "update_time = $18::timestamptz, delete_time = $19::timestamptz, "
    "change_xid = pg_current_xact_id() "
    "WHERE tenant_id = $1 AND touchpoint_id = $2::uuid AND occurred_at = $3::timestamptz";

// The touchpoints of relevance-ranked ids: $1 tenant, parallel arrays $2 id, $3 occurred_at.
inline std::string SelectByIdsSql() {
  return absl::StrCat("SELECT ", kSelectColumns,
                      " FROM touchpoints t JOIN unnest($2::uuid[], $3::timestamptz[]) "
                      "AS k(id, at) ON t.touchpoint_id = k.id AND t.occurred_at = k.at "
                      "WHERE t.tenant_id = $1");
}

// The customer read model (customer_events.cc).

// Sends the touchpoints of tenant $1, customer $2 through the change feed again.
inline constexpr char kResendTouchpoints[] =
    "UPDATE touchpoints SET change_xid = pg_current_xact_id() "
    "WHERE tenant_id = $1 AND customer_id = $2::uuid AND change_xid <> pg_current_xact_id()";

// Rewrites bodies only: $1 tenant, parallel arrays $2 id, $3 occurred_at, $4 hex body.
inline constexpr char kRewriteBodies[] =
    "UPDATE touchpoints t SET body = decode(k.body, 'hex') "
    "FROM unnest($2::uuid[], $3::timestamptz[], $4::text[]) AS k(id, occurred_at, body) "
    "WHERE t.tenant_id = $1 AND t.touchpoint_id = k.id AND t.occurred_at = k.occurred_at";

// Moves the touchpoints of tenant $1 from the merged customer $2 to the survivor $3, returning
// them (kSelectColumns).
inline std::string MoveToSurvivorSql() {
  return absl::StrCat(
      "UPDATE touchpoints SET customer_id = $3::uuid, version = version + 1, "
      "update_time = now(), change_xid = pg_current_xact_id() "
      "WHERE tenant_id = $1 AND customer_id = $2::uuid RETURNING ",
      kSelectColumns);
}

// Moves back to the restored customer $2 the touchpoints of the survivor $3 (tenant $1) that
// were recorded for it or for a customer merged into it earlier, returning them.
inline std::string MoveToRestoredSql() {
  return absl::StrCat(
      "WITH RECURSIVE folded(id) AS ("
      "  SELECT $2::uuid"
      "  UNION SELECT c.customer_id FROM customers c JOIN folded f"
      "    ON c.tenant_id = $1 AND c.merged_into = f.id) "
      "UPDATE touchpoints SET customer_id = $2::uuid, version = version + 1, "
      "update_time = now(), change_xid = pg_current_xact_id() "
      "WHERE tenant_id = $1 AND customer_id = $3::uuid "
      "AND origin_customer_id IN (SELECT id FROM folded) RETURNING ",
      kSelectColumns);
}

}  // namespace touchline::touchpoints::sql

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_SQL_H_
