// The SQL of PgIdentityStore: named statements with explicit columns and $n parameters over
// the tables of migrations/0002_identity.sql, 0004_login_throttle.sql,
// 0005_session_retention.sql and 0007_delegated_sessions.sql. Times travel as bigint Unix
// microseconds.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_SQL_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_SQL_H_

namespace touchline::permissions::identity_sql {

// clang-format off
// A bigint parameter of Unix microseconds as a timestamptz (-1 reads as NULL where
// TL_NULLABLE_MICROS is used).
#define TL_MICROS(n) "(timestamptz 'epoch' + $" #n "::bigint * interval '1 microsecond')"
#define TL_NULLABLE_MICROS(n) \
  "(timestamptz 'epoch' + NULLIF($" #n "::bigint, -1) * interval '1 microsecond')"
// A timestamptz column as Unix microseconds, NULL as -1.
#define TL_READ_MICROS(column) "coalesce((extract(epoch FROM " column ") * 1000000)::bigint, -1)"

#define TL_USER_COLUMNS \
  "user_id::text, username, username_key, display_name, email, role_id, "                 \
  "coalesce(manager_id::text, ''), coalesce(partner_org_id, ''), state, password_hash, " \
  "coalesce(encode(totp_secret, 'hex'), ''), coalesce(encode(totp_pending_secret, 'hex'), ''), " \
  "totp_enabled, totp_last_step, failed_logins, " TL_READ_MICROS("locked_until") ", "     \
  TL_READ_MICROS("create_time") ", " TL_READ_MICROS("update_time") ", version"

constexpr char kSelectUser[] =
    "SELECT " TL_USER_COLUMNS " FROM users WHERE tenant_id = $1 AND user_id = $2::uuid";
constexpr char kSelectUserForUpdate[] = "SELECT " TL_USER_COLUMNS
                                        " FROM users WHERE tenant_id = $1 AND user_id = $2::uuid "
                                        "FOR UPDATE";
constexpr char kSelectUserByUsername[] =
    "SELECT " TL_USER_COLUMNS " FROM users WHERE tenant_id = $1 AND username_key = lower($2)";
constexpr char kListUsers[] = "SELECT " TL_USER_COLUMNS
                              " FROM users WHERE tenant_id = $1 "
                              "AND ($2 = '' OR partner_org_id = $2) AND username_key > $3 "
                              "AND ($5 = '' OR (username_key = lower($5) AND username = $5)) "
                              "AND ($6 = '' OR lower(email) = lower($6)) "
                              "ORDER BY username_key LIMIT $4";

constexpr char kInsertUser[] =
    "INSERT INTO users (tenant_id, user_id, username, display_name, email, role_id, manager_id, "
    "partner_org_id, state, password_hash, totp_secret, totp_pending_secret, totp_enabled, "
    "totp_last_step, failed_logins, locked_until, create_time, update_time, version) VALUES ("
    "$1, $2::uuid, $3, $4, $5, $6, NULLIF($7, '')::uuid, NULLIF($8, ''), $9, $10, "
    "decode(NULLIF($11, ''), 'hex'), decode(NULLIF($12, ''), 'hex'), $13, $14, "
    "$15, " TL_NULLABLE_MICROS(16) ", " TL_MICROS(17) ", " TL_MICROS(18) ", $19)";

constexpr char kSaveUser[] =
    "UPDATE users SET username = $3, display_name = $4, email = $5, role_id = $6, "
    "manager_id = NULLIF($7, '')::uuid, partner_org_id = NULLIF($8, ''), state = $9, "
    "password_hash = $10, totp_secret = decode(NULLIF($11, ''), 'hex'), "
    "totp_pending_secret = decode(NULLIF($12, ''), 'hex'), totp_enabled = $13, "
    "totp_last_step = $14, failed_logins = $15, locked_until = " TL_NULLABLE_MICROS(16) ", "
    "create_time = " TL_MICROS(17) ", update_time = " TL_MICROS(18) ", version = $19 "
    "WHERE tenant_id = $1 AND user_id = $2::uuid";

// Walks manager_id upwards; `path` stops the walk at the first user met twice.
constexpr char kManagerChain[] =
    "WITH RECURSIVE chain (user_id, depth, path) AS ("
    "  SELECT manager_id, 1, ARRAY[user_id] FROM users "
    "  WHERE tenant_id = $1 AND user_id = $2::uuid AND manager_id IS NOT NULL "
    "  UNION ALL "
    "  SELECT u.manager_id, c.depth + 1, c.path || u.user_id FROM chain c "
    "  JOIN users u ON u.tenant_id = $1 AND u.user_id = c.user_id "
    "  WHERE u.manager_id IS NOT NULL AND NOT u.user_id = ANY(c.path)) "
    "SELECT user_id::text FROM chain WHERE NOT user_id = ANY(path) ORDER BY depth";

// Two-key advisory lock: a constant for "reporting lines", then the tenant.
constexpr char kLockReportingLines[] =
    "SELECT pg_advisory_xact_lock(hashtext('touchline.permissions.reporting_lines'), "
    "hashtext($1))";

constexpr char kSelectRole[] =
    "SELECT data_scope, array_to_string(permissions, ',') FROM roles "
    "WHERE tenant_id = $1 AND role_id = $2";
constexpr char kSelectPartnerOrg[] =
    "SELECT 1 FROM partner_orgs WHERE tenant_id = $1 AND partner_org_id = $2";

#define TL_SESSION_COLUMNS                                                                         \
  "session_id::text, user_id::text, refresh_hash, coalesce(previous_refresh_hash, ''), "           \
  "client, " TL_READ_MICROS("create_time") ", " TL_READ_MICROS("expire_time") ", " TL_READ_MICROS( \
      "revoke_time") ", coalesce(delegated_to, '')"

constexpr char kInsertSession[] =
    "INSERT INTO sessions (tenant_id, session_id, user_id, refresh_hash, previous_refresh_hash, "
    "client, create_time, expire_time, delegated_to) VALUES ($1, $2::uuid, $3::uuid, $4, "
    "NULLIF($5, ''), $6, " TL_MICROS(7) ", " TL_MICROS(8) ", NULLIF($9, ''))";
// sessions_delegated_live (0007_delegated_sessions.sql) finds it.
constexpr char kSelectDelegatedSession[] =
    "SELECT " TL_SESSION_COLUMNS
    " FROM sessions WHERE tenant_id = $1 AND user_id = $2::uuid AND delegated_to = $3 "
    "AND revoke_time IS NULL AND expire_time > " TL_MICROS(4) " "
    "ORDER BY expire_time DESC LIMIT 1";
constexpr char kSelectSession[] =
    "SELECT " TL_SESSION_COLUMNS " FROM sessions WHERE tenant_id = $1 AND session_id = $2::uuid";
constexpr char kSelectSessionForUpdate[] =
    "SELECT " TL_SESSION_COLUMNS
    " FROM sessions WHERE tenant_id = $1 AND session_id = $2::uuid "
    "FOR UPDATE";
constexpr char kSaveRefreshHashes[] =
    "UPDATE sessions SET refresh_hash = $3, previous_refresh_hash = NULLIF($4, '') "
    "WHERE tenant_id = $1 AND session_id = $2::uuid";
constexpr char kRevokeSession[] =
    "UPDATE sessions SET revoke_time = " TL_MICROS(3) " "
    "WHERE tenant_id = $1 AND session_id = $2::uuid AND revoke_time IS NULL";
constexpr char kRevokeUserSessions[] =
    "UPDATE sessions SET revoke_time = " TL_MICROS(3) " "
    "WHERE tenant_id = $1 AND user_id = $2::uuid AND revoke_time IS NULL "
    "AND expire_time > " TL_MICROS(3) " RETURNING session_id::text";

#define TL_API_KEY_COLUMNS                                                                 \
  "api_key_id::text, user_id::text, display_name, secret_hash, secret_prefix, "            \
  "array_to_string(permissions, ','), " TL_READ_MICROS("expire_time") ", " TL_READ_MICROS( \
      "create_time") ", " TL_READ_MICROS("revoke_time")

constexpr char kInsertApiKey[] =
    "INSERT INTO api_keys (tenant_id, api_key_id, user_id, display_name, secret_hash, "
    "secret_prefix, permissions, expire_time, create_time) VALUES ($1, $2::uuid, $3::uuid, $4, "
    "$5, $6, $7::smallint[], " TL_NULLABLE_MICROS(8) ", " TL_MICROS(9) ")";
constexpr char kSelectApiKey[] =
    "SELECT " TL_API_KEY_COLUMNS " FROM api_keys WHERE tenant_id = $1 AND api_key_id = $2::uuid";
constexpr char kSelectApiKeyForUpdate[] =
    "SELECT " TL_API_KEY_COLUMNS
    " FROM api_keys WHERE tenant_id = $1 AND api_key_id = $2::uuid "
    "FOR UPDATE";
constexpr char kSelectApiKeyBySecretHash[] =
    "SELECT " TL_API_KEY_COLUMNS " FROM api_keys WHERE tenant_id = $1 AND secret_hash = $2";
constexpr char kListApiKeys[] =
    "SELECT " TL_API_KEY_COLUMNS
    " FROM api_keys WHERE tenant_id = $1 "
    "AND ($2 = '' OR user_id = NULLIF($2, '')::uuid) ORDER BY create_time DESC, api_key_id DESC";
constexpr char kRevokeApiKey[] =
    "UPDATE api_keys SET revoke_time = " TL_MICROS(3) " "
    "WHERE tenant_id = $1 AND api_key_id = $2::uuid AND revoke_time IS NULL";
constexpr char kRevokeUserApiKeys[] =
    "UPDATE api_keys SET revoke_time = " TL_MICROS(3) " "
    "WHERE tenant_id = $1 AND user_id = $2::uuid AND revoke_time IS NULL "
    "AND (expire_time IS NULL OR expire_time > " TL_MICROS(3) ") RETURNING api_key_id::text";

constexpr char kLiveCredentialIds[] =
    "SELECT session_id::text FROM sessions WHERE tenant_id = $1 AND user_id = $2::uuid "
    "AND revoke_time IS NULL AND expire_time > " TL_MICROS(3) " "
    "UNION ALL "
    "SELECT api_key_id::text FROM api_keys WHERE tenant_id = $1 AND user_id = $2::uuid "
    "AND revoke_time IS NULL AND (expire_time IS NULL OR expire_time > " TL_MICROS(3) ")";

// --- retention ---

// Sessions of every tenant that ended (expired or revoked) before $1, at most $2 of them;
// sessions_end_time (0005_session_retention.sql) finds them without a scan.
constexpr char kPurgeSessions[] =
    "DELETE FROM sessions WHERE ctid IN (SELECT ctid FROM sessions "
    "WHERE least(expire_time, revoke_time) < " TL_MICROS(1) " LIMIT $2)";

// --- the login throttle ---

constexpr char kSelectCounters[] =
    "SELECT counter, failures, " TL_READ_MICROS("last_failure_time") ", " TL_READ_MICROS("blocked_until") ", "
    TL_READ_MICROS("last_success_time") " FROM login_throttle WHERE tenant_id = $1 AND counter = ANY($2)";
// Creates the row if needed so that FOR UPDATE has one to lock: concurrent failures on two
// replicas then count twice, not once.
constexpr char kEnsureCounter[] =
    "INSERT INTO login_throttle (tenant_id, counter) VALUES ($1, $2) ON CONFLICT DO NOTHING";
constexpr char kLockCounter[] =
    "SELECT failures, " TL_READ_MICROS("last_failure_time") ", " TL_READ_MICROS("blocked_until") " "
    "FROM login_throttle WHERE tenant_id = $1 AND counter = $2 FOR UPDATE";
constexpr char kSaveCounter[] =
    "UPDATE login_throttle SET failures = $3, "
    "last_failure_time = " TL_NULLABLE_MICROS(4) ", blocked_until = " TL_NULLABLE_MICROS(5) " "
    "WHERE tenant_id = $1 AND counter = $2";
constexpr char kRecordSuccess[] =
    "INSERT INTO login_throttle (tenant_id, counter, last_success_time) "
    "VALUES ($1, $2, " TL_NULLABLE_MICROS(3) ") ON CONFLICT (tenant_id, counter) DO UPDATE SET "
    "failures = 0, blocked_until = NULL, last_success_time = EXCLUDED.last_success_time";
// A counter is forgotten once its last failure is older than the memory; an address stays
// known to an account for as long after its last success.
constexpr char kDeleteForgotten[] =
    "DELETE FROM login_throttle WHERE ctid IN (SELECT ctid FROM login_throttle "
    "WHERE tenant_id = $1 "
    "AND (last_failure_time IS NULL OR last_failure_time < " TL_NULLABLE_MICROS(2) ") "
    "AND (last_success_time IS NULL OR last_success_time < " TL_NULLABLE_MICROS(2) ") LIMIT $3)";

#undef TL_MICROS
#undef TL_NULLABLE_MICROS
#undef TL_READ_MICROS
#undef TL_USER_COLUMNS
#undef TL_SESSION_COLUMNS
#undef TL_API_KEY_COLUMNS
// clang-format on

}  // namespace touchline::permissions::identity_sql

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_SQL_H_
