// The SQL of PgEndpointStore: named statements with explicit columns and $n parameters over
// `webhook_endpoints` (migrations/0004_webhook_endpoints.sql). Statements run with search_path
// set to the service's schema. Times travel as bigint Unix microseconds, sealed secrets as hex.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_SQL_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_SQL_H_

#include "common/pg/sql_time.h"

namespace touchline::automation::endpoints_sql {

// clang-format off
// The columns of an endpoint, in EndpointFromRow's order (pg_endpoint_store.cc), then its
// secrets: current key id and box (hex), previous key id, box (hex) and until (NULL before the
// first rotation).
#define TL_ENDPOINT_COLUMNS                                                                    \
  "endpoint_id::text, display_name, url, max_attempts, rate_limit_per_second, timeout_ms, "    \
  TL_PG_TO_MICROS("secret_time") ", " TL_PG_TO_MICROS("create_time") ", "                      \
  TL_PG_TO_MICROS("update_time") ", version, secret_key_id, "                                  \
  "encode(secret_sealed, 'hex'), previous_secret_key_id, encode(previous_secret_sealed, 'hex'), " \
  TL_PG_TO_MICROS("previous_secret_until")

inline constexpr char kEndpointColumns[] = TL_ENDPOINT_COLUMNS;

// Inserts an endpoint: tenant $1, id $2, display name $3, url $4, max attempts $5, rate $6,
// timeout (ms) $7, secret key id $8, sealed secret $9 (hex), created (and updated, secret made)
// $10; version 1.
inline constexpr char kInsertEndpoint[] =
    "INSERT INTO webhook_endpoints (tenant_id, endpoint_id, display_name, url, max_attempts, "
    "rate_limit_per_second, timeout_ms, secret_key_id, secret_sealed, secret_time, create_time, "
    "update_time, version) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, decode($9, 'hex'), "
    TL_PG_NULLABLE_MICROS(10) ", " TL_PG_NULLABLE_MICROS(10) ", " TL_PG_NULLABLE_MICROS(10) ", 1)";

// Endpoint $2 of tenant $1.
inline constexpr char kSelectEndpoint[] =
    "SELECT " TL_ENDPOINT_COLUMNS " FROM webhook_endpoints WHERE tenant_id = $1 "
    "AND endpoint_id = $2::uuid";

// Endpoint $2 of tenant $1, locked until commit.
inline constexpr char kLockEndpoint[] =
    "SELECT " TL_ENDPOINT_COLUMNS " FROM webhook_endpoints WHERE tenant_id = $1 "
    "AND endpoint_id = $2::uuid FOR UPDATE";

// The first $2 endpoints of tenant $1 by display name (code points), then id.
inline constexpr char kListFirst[] =
    "SELECT " TL_ENDPOINT_COLUMNS " FROM webhook_endpoints WHERE tenant_id = $1 "
    "ORDER BY display_name COLLATE \"C\", endpoint_id LIMIT $2::int";

// The first $2 endpoints of tenant $1 after display name $3 and id $4, in kListFirst's order.
inline constexpr char kListAfter[] =
    "SELECT " TL_ENDPOINT_COLUMNS " FROM webhook_endpoints WHERE tenant_id = $1 "
    "AND (display_name COLLATE \"C\", endpoint_id) > ($3 COLLATE \"C\", $4::uuid) "
    "ORDER BY display_name COLLATE \"C\", endpoint_id LIMIT $2::int";

// Endpoint $2 of tenant $1 with display name $3, url $4, max attempts $5, rate $6, timeout (ms)
// $7, updated $8, version $9.
inline constexpr char kUpdateEndpoint[] =
    "UPDATE webhook_endpoints SET display_name = $3, url = $4, max_attempts = $5, "
    "rate_limit_per_second = $6, timeout_ms = $7, update_time = " TL_PG_NULLABLE_MICROS(8) ", "
    "version = $9 WHERE tenant_id = $1 AND endpoint_id = $2::uuid";

// Endpoint $2 of tenant $1 with a new secret: key id $3, sealed $4 (hex), made $5 (also the
// update time); the previous one key id $6, sealed $7 (hex), signing until $8; version $9.
inline constexpr char kRotateSecret[] =
    "UPDATE webhook_endpoints SET secret_key_id = $3, secret_sealed = decode($4, 'hex'), "
    "secret_time = " TL_PG_NULLABLE_MICROS(5) ", update_time = " TL_PG_NULLABLE_MICROS(5) ", "
    "previous_secret_key_id = $6, previous_secret_sealed = decode($7, 'hex'), "
    "previous_secret_until = " TL_PG_NULLABLE_MICROS(8) ", version = $9 "
    "WHERE tenant_id = $1 AND endpoint_id = $2::uuid";

#undef TL_ENDPOINT_COLUMNS
#undef TL_PG_TO_MICROS
#undef TL_PG_NULLABLE_MICROS
// clang-format on

}  // namespace touchline::automation::endpoints_sql

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_SQL_H_
