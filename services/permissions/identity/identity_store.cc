#include "services/permissions/identity/identity_store.h"

#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/ids/ids.h"

namespace touchline::permissions {
namespace {

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
      "revoke_time")

constexpr char kInsertSession[] =
    "INSERT INTO sessions (tenant_id, session_id, user_id, refresh_hash, previous_refresh_hash, "
    "client, create_time, expire_time) VALUES ($1, $2::uuid, $3::uuid, $4, NULLIF($5, ''), "
    "$6, " TL_MICROS(7) ", " TL_MICROS(8) ")";
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

constexpr char kClaimRequest[] =
    "INSERT INTO requests (tenant_id, request_id, method, fingerprint, resource_id) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1";
constexpr char kSelectRequest[] =
    "SELECT method, fingerprint, resource_id FROM requests "
    "WHERE tenant_id = $1 AND request_id = $2";

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
int64_t NullableMicros(const std::optional<absl::Time>& t) { return t ? Micros(*t) : -1; }

std::optional<absl::Time> OptionalTime(const pqxx::field& field) {
  const auto micros = field.as<int64_t>();
  if (micros < 0) return std::nullopt;
  return absl::FromUnixMicros(micros);
}

// "1,4" (array_to_string of a smallint[]) -> permissions.
std::vector<v1::Permission> ParsePermissions(const std::string& list) {
  std::vector<v1::Permission> permissions;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    int value = 0;
    if (absl::SimpleAtoi(item, &value)) permissions.push_back(static_cast<v1::Permission>(value));
  }
  return permissions;
}

std::string PermissionsArray(const std::vector<v1::Permission>& permissions) {
  return absl::StrCat("{", absl::StrJoin(permissions, ","), "}");
}

// Reads a row of TL_USER_COLUMNS.
UserRecord ParseUser(const pqxx::row& row, std::string_view tenant_id) {
  UserRecord u;
  u.tenant_id = std::string(tenant_id);
  u.user_id = row[0].as<std::string>();
  u.username = row[1].as<std::string>();
  u.username_key = row[2].as<std::string>();
  u.display_name = row[3].as<std::string>();
  u.email = row[4].as<std::string>();
  u.role_id = row[5].as<std::string>();
  u.manager_id = row[6].as<std::string>();
  u.partner_org_id = row[7].as<std::string>();
  u.state = static_cast<v1::UserState>(row[8].as<int>());
  u.password_hash = row[9].as<std::string>();
  u.totp_secret = absl::HexStringToBytes(row[10].as<std::string>());
  u.totp_pending_secret = absl::HexStringToBytes(row[11].as<std::string>());
  u.totp_enabled = row[12].as<bool>();
  u.totp_last_step = row[13].as<int64_t>();
  u.failed_logins = row[14].as<int>();
  u.locked_until = OptionalTime(row[15]);
  u.create_time = absl::FromUnixMicros(row[16].as<int64_t>());
  u.update_time = absl::FromUnixMicros(row[17].as<int64_t>());
  u.version = row[18].as<int64_t>();
  return u;
}

std::optional<UserRecord> FirstUser(const pqxx::result& rows, std::string_view tenant_id) {
  if (rows.empty()) return std::nullopt;
  return ParseUser(rows[0], tenant_id);
}

// Reads a row of TL_SESSION_COLUMNS.
SessionRecord ParseSession(const pqxx::row& row, std::string_view tenant_id) {
  SessionRecord s;
  s.tenant_id = std::string(tenant_id);
  s.session_id = row[0].as<std::string>();
  s.user_id = row[1].as<std::string>();
  s.refresh_hash = row[2].as<std::string>();
  s.previous_refresh_hash = row[3].as<std::string>();
  s.client = row[4].as<std::string>();
  s.create_time = absl::FromUnixMicros(row[5].as<int64_t>());
  s.expire_time = absl::FromUnixMicros(row[6].as<int64_t>());
  s.revoke_time = OptionalTime(row[7]);
  return s;
}

// Reads a row of TL_API_KEY_COLUMNS.
ApiKeyRecord ParseApiKey(const pqxx::row& row, std::string_view tenant_id) {
  ApiKeyRecord k;
  k.tenant_id = std::string(tenant_id);
  k.api_key_id = row[0].as<std::string>();
  k.user_id = row[1].as<std::string>();
  k.display_name = row[2].as<std::string>();
  k.secret_hash = row[3].as<std::string>();
  k.secret_prefix = row[4].as<std::string>();
  k.permissions = ParsePermissions(row[5].as<std::string>());
  k.expire_time = OptionalTime(row[6]);
  k.create_time = absl::FromUnixMicros(row[7].as<int64_t>());
  k.revoke_time = OptionalTime(row[8]);
  return k;
}

std::optional<ApiKeyRecord> FirstApiKey(const pqxx::result& rows, std::string_view tenant_id) {
  if (rows.empty()) return std::nullopt;
  return ParseApiKey(rows[0], tenant_id);
}

std::vector<std::string> FirstColumn(const pqxx::result& rows) {
  std::vector<std::string> values;
  values.reserve(rows.size());
  for (const pqxx::row& row : rows) values.push_back(row[0].as<std::string>());
  return values;
}

// The parameters $3.. of kInsertUser and kSaveUser, which list the columns in one order.
pqxx::result ExecUser(pqxx::transaction_base& txn, const char* sql, const UserRecord& u) {
  return txn.exec_params(sql, u.tenant_id, u.user_id, u.username, u.display_name, u.email,
                         u.role_id, u.manager_id, u.partner_org_id, static_cast<int>(u.state),
                         u.password_hash, absl::BytesToHexString(u.totp_secret),
                         absl::BytesToHexString(u.totp_pending_secret), u.totp_enabled,
                         u.totp_last_step, u.failed_logins, NullableMicros(u.locked_until),
                         Micros(u.create_time), Micros(u.update_time), u.version);
}

}  // namespace

std::optional<UserRecord> FindUser(pqxx::transaction_base& txn, std::string_view tenant_id,
                                   std::string_view user_id, RowLock lock) {
  if (!ids::IsUuid(user_id)) return std::nullopt;
  return FirstUser(txn.exec_params(lock == RowLock::kForUpdate ? kSelectUserForUpdate : kSelectUser,
                                   std::string(tenant_id), std::string(user_id)),
                   tenant_id);
}

std::optional<UserRecord> FindUserByUsername(pqxx::transaction_base& txn,
                                             std::string_view tenant_id,
                                             std::string_view username) {
  return FirstUser(
      txn.exec_params(kSelectUserByUsername, std::string(tenant_id), std::string(username)),
      tenant_id);
}

void InsertUser(pqxx::transaction_base& txn, const UserRecord& user) {
  ExecUser(txn, kInsertUser, user);
}

void SaveUser(pqxx::transaction_base& txn, const UserRecord& user) {
  ExecUser(txn, kSaveUser, user);
}

std::vector<UserRecord> ListUsers(pqxx::transaction_base& txn, std::string_view tenant_id,
                                  const UserFilter& filter, std::string_view after_username_key,
                                  int limit) {
  const pqxx::result rows =
      txn.exec_params(kListUsers, std::string(tenant_id), filter.partner_org_id,
                      std::string(after_username_key), limit, filter.username, filter.email);
  std::vector<UserRecord> users;
  users.reserve(rows.size());
  for (const pqxx::row& row : rows) users.push_back(ParseUser(row, tenant_id));
  return users;
}

std::vector<std::string> ManagerChain(pqxx::transaction_base& txn, std::string_view tenant_id,
                                      std::string_view user_id) {
  if (!ids::IsUuid(user_id)) return {};
  return FirstColumn(txn.exec_params(kManagerChain, std::string(tenant_id), std::string(user_id)));
}

void LockReportingLines(pqxx::transaction_base& txn, std::string_view tenant_id) {
  txn.exec_params(kLockReportingLines, std::string(tenant_id));
}

std::optional<RoleFacts> FindRole(pqxx::transaction_base& txn, std::string_view tenant_id,
                                  std::string_view role_id) {
  const pqxx::result rows =
      txn.exec_params(kSelectRole, std::string(tenant_id), std::string(role_id));
  if (rows.empty()) return std::nullopt;
  return RoleFacts{.data_scope = static_cast<v1::DataScope>(rows[0][0].as<int>()),
                   .permissions = ParsePermissions(rows[0][1].as<std::string>())};
}

bool PartnerOrgExists(pqxx::transaction_base& txn, std::string_view tenant_id,
                      std::string_view partner_org_id) {
  return !txn.exec_params(kSelectPartnerOrg, std::string(tenant_id), std::string(partner_org_id))
              .empty();
}

void InsertSession(pqxx::transaction_base& txn, const SessionRecord& s) {
  txn.exec_params(kInsertSession, s.tenant_id, s.session_id, s.user_id, s.refresh_hash,
                  s.previous_refresh_hash, s.client, Micros(s.create_time), Micros(s.expire_time));
}

std::optional<SessionRecord> FindSession(pqxx::transaction_base& txn, std::string_view tenant_id,
                                         std::string_view session_id, RowLock lock) {
  if (!ids::IsUuid(session_id)) return std::nullopt;
  const pqxx::result rows =
      txn.exec_params(lock == RowLock::kForUpdate ? kSelectSessionForUpdate : kSelectSession,
                      std::string(tenant_id), std::string(session_id));
  if (rows.empty()) return std::nullopt;
  return ParseSession(rows[0], tenant_id);
}

void SaveRefreshHashes(pqxx::transaction_base& txn, const SessionRecord& s) {
  txn.exec_params(kSaveRefreshHashes, s.tenant_id, s.session_id, s.refresh_hash,
                  s.previous_refresh_hash);
}

void RevokeSessionRow(pqxx::transaction_base& txn, std::string_view tenant_id,
                      std::string_view session_id, absl::Time now) {
  txn.exec_params(kRevokeSession, std::string(tenant_id), std::string(session_id), Micros(now));
}

std::vector<std::string> RevokeUserSessions(pqxx::transaction_base& txn, std::string_view tenant_id,
                                            std::string_view user_id, absl::Time now) {
  return FirstColumn(txn.exec_params(kRevokeUserSessions, std::string(tenant_id),
                                     std::string(user_id), Micros(now)));
}

void InsertApiKey(pqxx::transaction_base& txn, const ApiKeyRecord& k) {
  txn.exec_params(kInsertApiKey, k.tenant_id, k.api_key_id, k.user_id, k.display_name,
                  k.secret_hash, k.secret_prefix, PermissionsArray(k.permissions),
                  NullableMicros(k.expire_time), Micros(k.create_time));
}

std::optional<ApiKeyRecord> FindApiKey(pqxx::transaction_base& txn, std::string_view tenant_id,
                                       std::string_view api_key_id, RowLock lock) {
  if (!ids::IsUuid(api_key_id)) return std::nullopt;
  return FirstApiKey(
      txn.exec_params(lock == RowLock::kForUpdate ? kSelectApiKeyForUpdate : kSelectApiKey,
                      std::string(tenant_id), std::string(api_key_id)),
      tenant_id);
}

std::optional<ApiKeyRecord> FindApiKeyBySecretHash(pqxx::transaction_base& txn,
                                                   std::string_view tenant_id,
                                                   std::string_view secret_hash) {
  return FirstApiKey(
      txn.exec_params(kSelectApiKeyBySecretHash, std::string(tenant_id), std::string(secret_hash)),
      tenant_id);
}

std::vector<ApiKeyRecord> ListApiKeys(pqxx::transaction_base& txn, std::string_view tenant_id,
                                      std::string_view user_id) {
  if (!user_id.empty() && !ids::IsUuid(user_id)) return {};
  const pqxx::result rows =
      txn.exec_params(kListApiKeys, std::string(tenant_id), std::string(user_id));
  std::vector<ApiKeyRecord> keys;
  keys.reserve(rows.size());
  for (const pqxx::row& row : rows) keys.push_back(ParseApiKey(row, tenant_id));
  return keys;
}

void RevokeApiKeyRow(pqxx::transaction_base& txn, std::string_view tenant_id,
                     std::string_view api_key_id, absl::Time now) {
  txn.exec_params(kRevokeApiKey, std::string(tenant_id), std::string(api_key_id), Micros(now));
}

std::vector<std::string> RevokeUserApiKeys(pqxx::transaction_base& txn, std::string_view tenant_id,
                                           std::string_view user_id, absl::Time now) {
  return FirstColumn(txn.exec_params(kRevokeUserApiKeys, std::string(tenant_id),
                                     std::string(user_id), Micros(now)));
}

std::vector<std::string> LiveCredentialIds(pqxx::transaction_base& txn, std::string_view tenant_id,
                                           std::string_view user_id, absl::Time now) {
  return FirstColumn(txn.exec_params(kLiveCredentialIds, std::string(tenant_id),
                                     std::string(user_id), Micros(now)));
}

bool ClaimRequest(pqxx::transaction_base& txn, std::string_view tenant_id,
                  std::string_view request_id, const RequestRecord& record) {
  return !txn.exec_params(kClaimRequest, std::string(tenant_id), std::string(request_id),
                          record.method, record.fingerprint, record.resource_id)
              .empty();
}

std::optional<RequestRecord> FindRequest(pqxx::transaction_base& txn, std::string_view tenant_id,
                                         std::string_view request_id) {
  const pqxx::result rows =
      txn.exec_params(kSelectRequest, std::string(tenant_id), std::string(request_id));
  if (rows.empty()) return std::nullopt;
  return RequestRecord{.method = rows[0][0].as<std::string>(),
                       .fingerprint = rows[0][1].as<std::string>(),
                       .resource_id = rows[0][2].as<std::string>()};
}

}  // namespace touchline::permissions
