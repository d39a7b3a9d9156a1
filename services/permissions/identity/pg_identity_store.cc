#include "services/permissions/identity/pg_identity_store.h"

#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/events/outbox.h"
#include "common/ids/ids.h"
#include "common/pg/errors.h"
#include "common/status/macros.h"
#include "services/permissions/audit/audit_log.h"
#include "services/permissions/identity/sql.h"

namespace touchline::permissions {
namespace {

using namespace identity_sql;  // NOLINT(build/namespaces): the statements of this store.

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
  s.delegated_to = row[8].as<std::string>();
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

// "{a,b}" for a text[] parameter; throttle keys hold no quotes, braces, commas or spaces
// (login_throttle.cc escapes them).
std::string TextArray(const std::vector<std::string>& keys) {
  std::string array = "{";
  for (const std::string& key : keys) {
    if (array.size() > 1) array += ",";
    array += "\"" + key + "\"";
  }
  return array + "}";
}

}  // namespace

absl::StatusOr<std::optional<UserRecord>> PgIdentityRows::FindUser(std::string_view tenant_id,
                                                                   std::string_view user_id,
                                                                   RowLock lock) {
  if (!ids::IsUuid(user_id)) return std::nullopt;
  return statements_.Run([&] {
    return FirstUser(
        txn_.exec_params(lock == RowLock::kForUpdate ? kSelectUserForUpdate : kSelectUser,
                         std::string(tenant_id), std::string(user_id)),
        tenant_id);
  });
}

absl::StatusOr<std::optional<UserRecord>> PgIdentityRows::FindUserByUsername(
    std::string_view tenant_id, std::string_view username) {
  return statements_.Run([&] {
    return FirstUser(
        txn_.exec_params(kSelectUserByUsername, std::string(tenant_id), std::string(username)),
        tenant_id);
  });
}

absl::StatusOr<std::vector<UserRecord>> PgIdentityRows::ListUsers(
    std::string_view tenant_id, const UserFilter& filter, std::string_view after_username_key,
    int limit) {
  return statements_.Run([&] {
    const pqxx::result rows =
        txn_.exec_params(kListUsers, std::string(tenant_id), filter.partner_org_id,
                         std::string(after_username_key), limit, filter.username, filter.email);
    std::vector<UserRecord> users;
    users.reserve(rows.size());
    for (const pqxx::row& row : rows) users.push_back(ParseUser(row, tenant_id));
    return users;
  });
}

absl::StatusOr<std::vector<std::string>> PgIdentityRows::ManagerChain(std::string_view tenant_id,
                                                                      std::string_view user_id) {
  if (!ids::IsUuid(user_id)) return std::vector<std::string>{};
  return statements_.Run([&] {
    return FirstColumn(
        txn_.exec_params(kManagerChain, std::string(tenant_id), std::string(user_id)));
  });
}

absl::StatusOr<std::optional<RoleFacts>> PgIdentityRows::FindRole(std::string_view tenant_id,
                                                                  std::string_view role_id) {
  return statements_.Run([&]() -> std::optional<RoleFacts> {
    const pqxx::result rows =
        txn_.exec_params(kSelectRole, std::string(tenant_id), std::string(role_id));
    if (rows.empty()) return std::nullopt;
    return RoleFacts{.data_scope = static_cast<v1::DataScope>(rows[0][0].as<int>()),
                     .permissions = ParsePermissions(rows[0][1].as<std::string>())};
  });
}

absl::StatusOr<bool> PgIdentityRows::PartnerOrgExists(std::string_view tenant_id,
                                                      std::string_view partner_org_id) {
  return statements_.Run([&] {
    return !txn_.exec_params(kSelectPartnerOrg, std::string(tenant_id), std::string(partner_org_id))
                .empty();
  });
}

absl::StatusOr<std::optional<SessionRecord>> PgIdentityRows::FindSession(
    std::string_view tenant_id, std::string_view session_id, RowLock lock) {
  if (!ids::IsUuid(session_id)) return std::nullopt;
  return statements_.Run([&]() -> std::optional<SessionRecord> {
    const pqxx::result rows =
        txn_.exec_params(lock == RowLock::kForUpdate ? kSelectSessionForUpdate : kSelectSession,
                         std::string(tenant_id), std::string(session_id));
    if (rows.empty()) return std::nullopt;
    return ParseSession(rows[0], tenant_id);
  });
}

absl::StatusOr<std::optional<SessionRecord>> PgIdentityRows::FindDelegatedSession(
    std::string_view tenant_id, std::string_view user_id, std::string_view service,
    absl::Time expire_after) {
  if (!ids::IsUuid(user_id)) return std::nullopt;
  return statements_.Run([&]() -> std::optional<SessionRecord> {
    const pqxx::result rows =
        txn_.exec_params(kSelectDelegatedSession, std::string(tenant_id), std::string(user_id),
                         std::string(service), Micros(expire_after));
    if (rows.empty()) return std::nullopt;
    return ParseSession(rows[0], tenant_id);
  });
}

absl::StatusOr<std::optional<ApiKeyRecord>> PgIdentityRows::FindApiKey(std::string_view tenant_id,
                                                                       std::string_view api_key_id,
                                                                       RowLock lock) {
  if (!ids::IsUuid(api_key_id)) return std::nullopt;
  return statements_.Run([&] {
    return FirstApiKey(
        txn_.exec_params(lock == RowLock::kForUpdate ? kSelectApiKeyForUpdate : kSelectApiKey,
                         std::string(tenant_id), std::string(api_key_id)),
        tenant_id);
  });
}

absl::StatusOr<std::optional<ApiKeyRecord>> PgIdentityRows::FindApiKeyBySecretHash(
    std::string_view tenant_id, std::string_view secret_hash) {
  return statements_.Run([&] {
    return FirstApiKey(txn_.exec_params(kSelectApiKeyBySecretHash, std::string(tenant_id),
                                        std::string(secret_hash)),
                       tenant_id);
  });
}

absl::StatusOr<std::vector<ApiKeyRecord>> PgIdentityRows::ListApiKeys(std::string_view tenant_id,
                                                                      std::string_view user_id) {
  if (!user_id.empty() && !ids::IsUuid(user_id)) return std::vector<ApiKeyRecord>{};
  return statements_.Run([&] {
    const pqxx::result rows =
        txn_.exec_params(kListApiKeys, std::string(tenant_id), std::string(user_id));
    std::vector<ApiKeyRecord> keys;
    keys.reserve(rows.size());
    for (const pqxx::row& row : rows) keys.push_back(ParseApiKey(row, tenant_id));
    return keys;
  });
}

absl::StatusOr<std::vector<std::string>> PgIdentityRows::LiveCredentialIds(
    std::string_view tenant_id, std::string_view user_id, absl::Time now) {
  return statements_.Run([&] {
    return FirstColumn(txn_.exec_params(kLiveCredentialIds, std::string(tenant_id),
                                        std::string(user_id), Micros(now)));
  });
}

absl::StatusOr<std::vector<StoredThrottleCounter>> PgIdentityRows::ThrottleCounters(
    std::string_view tenant_id, const std::vector<std::string>& keys) {
  return statements_.Run([&] {
    std::vector<StoredThrottleCounter> counters;
    for (const pqxx::row& row :
         txn_.exec_params(kSelectCounters, std::string(tenant_id), TextArray(keys))) {
      counters.push_back({.key = row[0].as<std::string>(),
                          .failures = row[1].as<int>(),
                          .last_failure_time = OptionalTime(row[2]),
                          .blocked_until = OptionalTime(row[3]),
                          .last_success_time = OptionalTime(row[4])});
    }
    return counters;
  });
}

absl::Status PgIdentityRows::InsertUser(const UserRecord& user) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { ExecUser(txn_, kInsertUser, user); });
}

absl::Status PgIdentityRows::SaveUser(const UserRecord& user) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { ExecUser(txn_, kSaveUser, user); });
}

absl::Status PgIdentityRows::LockReportingLines(std::string_view tenant_id) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { txn_.exec_params(kLockReportingLines, std::string(tenant_id)); });
}

absl::Status PgIdentityRows::InsertSession(const SessionRecord& s) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] {
    txn_.exec_params(kInsertSession, s.tenant_id, s.session_id, s.user_id, s.refresh_hash,
                     s.previous_refresh_hash, s.client, Micros(s.create_time),
                     Micros(s.expire_time), s.delegated_to);
  });
}

absl::Status PgIdentityRows::SaveRefreshHashes(const SessionRecord& s) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] {
    txn_.exec_params(kSaveRefreshHashes, s.tenant_id, s.session_id, s.refresh_hash,
                     s.previous_refresh_hash);
  });
}

absl::Status PgIdentityRows::RevokeSession(std::string_view tenant_id, std::string_view session_id,
                                           absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] {
    txn_.exec_params(kRevokeSession, std::string(tenant_id), std::string(session_id), Micros(now));
  });
}

absl::StatusOr<std::vector<std::string>> PgIdentityRows::RevokeUserSessions(
    std::string_view tenant_id, std::string_view user_id, absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Run([&] {
    return FirstColumn(txn_.exec_params(kRevokeUserSessions, std::string(tenant_id),
                                        std::string(user_id), Micros(now)));
  });
}

absl::Status PgIdentityRows::InsertApiKey(const ApiKeyRecord& k) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] {
    txn_.exec_params(kInsertApiKey, k.tenant_id, k.api_key_id, k.user_id, k.display_name,
                     k.secret_hash, k.secret_prefix, PermissionsArray(k.permissions),
                     NullableMicros(k.expire_time), Micros(k.create_time));
  });
}

absl::Status PgIdentityRows::RevokeApiKey(std::string_view tenant_id, std::string_view api_key_id,
                                          absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] {
    txn_.exec_params(kRevokeApiKey, std::string(tenant_id), std::string(api_key_id), Micros(now));
  });
}

absl::StatusOr<std::vector<std::string>> PgIdentityRows::RevokeUserApiKeys(
    std::string_view tenant_id, std::string_view user_id, absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Run([&] {
    return FirstColumn(txn_.exec_params(kRevokeUserApiKeys, std::string(tenant_id),
                                        std::string(user_id), Micros(now)));
  });
}

absl::StatusOr<idempotency::Claim> PgIdentityRows::ClaimRequestId(const idempotency::Key& key,
                                                                  std::string_view result) {
  TL_RETURN_IF_ERROR(RequireWork());
  TL_ASSIGN_OR_RETURN(absl::StatusOr<idempotency::Claim> claim,
                      statements_.Run([&] { return idempotency::ClaimKey(*work_, key, result); }));
  return claim;
}

absl::StatusOr<StoredThrottleCounter> PgIdentityRows::LockThrottleCounter(
    std::string_view tenant_id, std::string_view key) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Run([&] {
    txn_.exec_params(kEnsureCounter, std::string(tenant_id), std::string(key));
    const pqxx::row row = txn_.exec_params1(kLockCounter, std::string(tenant_id), std::string(key));
    return StoredThrottleCounter{.key = std::string(key),
                                 .failures = row[0].as<int>(),
                                 .last_failure_time = OptionalTime(row[1]),
                                 .blocked_until = OptionalTime(row[2]),
                                 .last_success_time = std::nullopt};
  });
}

absl::Status PgIdentityRows::SaveThrottleCounter(std::string_view tenant_id,
                                                 const StoredThrottleCounter& counter) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] {
    txn_.exec_params(kSaveCounter, std::string(tenant_id), counter.key, counter.failures,
                     NullableMicros(counter.last_failure_time),
                     NullableMicros(counter.blocked_until));
  });
}

absl::Status PgIdentityRows::RecordThrottleSuccess(std::string_view tenant_id, std::string_view key,
                                                   absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] {
    txn_.exec_params(kRecordSuccess, std::string(tenant_id), std::string(key), Micros(now));
  });
}

absl::Status PgIdentityRows::DeleteForgottenThrottleCounters(std::string_view tenant_id,
                                                             absl::Time before, int limit) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec(
      [&] { txn_.exec_params(kDeleteForgotten, std::string(tenant_id), Micros(before), limit); });
}

absl::Status PgIdentityRows::AppendAudit(const std::string& tenant_id, v1::AuditEvent event) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { AuditLog::Append(*work_, tenant_id, std::move(event)); });
}

absl::Status PgIdentityRows::Publish(std::string_view topic,
                                     const events::v1::EventEnvelope& envelope) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { events::AppendToOutbox(*work_, topic, envelope); });
}

absl::Status PgIdentityStore::Transact(
    const std::function<absl::Status(IdentityTransaction&)>& work) {
  return pool_->Transact([&](pqxx::work& txn) {
    PgIdentityRows rows(txn);
    return rows.Finish(work(rows));
  });
}

absl::Status PgIdentityStore::Read(const std::function<absl::Status(IdentityReader&)>& read) {
  return pool_->Query([&](pqxx::nontransaction& txn) {
    PgIdentityRows rows(static_cast<pqxx::transaction_base&>(txn));
    return rows.Finish(read(rows));
  });
}

absl::StatusOr<int64_t> PgIdentityStore::PurgeSessions(absl::Time before, int limit) {
  int64_t deleted = 0;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    deleted = txn.exec_params(kPurgeSessions, Micros(before), limit).affected_rows();
    return absl::OkStatus();
  }));
  return deleted;
}

}  // namespace touchline::permissions
