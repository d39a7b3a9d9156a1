// Storage of users, login sessions, API keys and CreateUser's idempotency records: named SQL
// over the caller's transaction, so IdentityManager can commit each change together with its
// audit entry and its outbox event. Every statement is scoped to one tenant. Functions throw
// what libpqxx throws (pg::Pool::Transact maps it to a Status).
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_STORE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_STORE_H_

#include <cstdint>
#include <optional>
#include <pqxx/transaction_base>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::permissions {

// One row of users. Empty strings stand for NULL.
struct UserRecord {
  std::string tenant_id;
  std::string user_id;
  std::string username;
  // Output only: lower(username), the unique key and the list order.
  std::string username_key;
  std::string display_name;
  std::string email;
  std::string role_id;
  std::string manager_id;
  std::string partner_org_id;
  v1::UserState state = v1::USER_STATE_UNSPECIFIED;
  std::string password_hash;
  // Raw secret bytes.
  std::string totp_secret;
  std::string totp_pending_secret;
  bool totp_enabled = false;
  int64_t totp_last_step = 0;
  int failed_logins = 0;
  std::optional<absl::Time> locked_until;
  absl::Time create_time;
  absl::Time update_time;
  int64_t version = 0;
};

// One row of sessions.
struct SessionRecord {
  std::string tenant_id;
  std::string session_id;
  std::string user_id;
  // Hex SHA-256 of the current refresh token and of the one it replaced ("" before the
  // first rotation).
  std::string refresh_hash;
  std::string previous_refresh_hash;
  std::string client;
  absl::Time create_time;
  absl::Time expire_time;
  std::optional<absl::Time> revoke_time;
};

// One row of api_keys.
struct ApiKeyRecord {
  std::string tenant_id;
  std::string api_key_id;
  std::string user_id;
  std::string display_name;
  std::string secret_hash;
  std::string secret_prefix;
  std::vector<v1::Permission> permissions;
  std::optional<absl::Time> expire_time;
  absl::Time create_time;
  std::optional<absl::Time> revoke_time;
};

// What identity needs of a role (roles is the organisation model's table).
struct RoleFacts {
  v1::DataScope data_scope = v1::DATA_SCOPE_UNSPECIFIED;
  std::vector<v1::Permission> permissions;
};

// The outcome recorded for an idempotency key.
struct RequestRecord {
  std::string method;
  std::string fingerprint;
  std::string resource_id;
};

// Whether a read locks the rows it returns until the transaction ends (SELECT ... FOR UPDATE).
enum class RowLock { kNone, kForUpdate };

// --- users ---

// nullopt when the tenant has no user `user_id` (or it is not a UUID).
std::optional<UserRecord> FindUser(pqxx::transaction_base& txn, std::string_view tenant_id,
                                   std::string_view user_id, RowLock lock = RowLock::kNone);
// By username, compared case-insensitively.
std::optional<UserRecord> FindUserByUsername(pqxx::transaction_base& txn,
                                             std::string_view tenant_id, std::string_view username);
// Throws pqxx::unique_violation for a taken username.
void InsertUser(pqxx::transaction_base& txn, const UserRecord& user);
// Writes every mutable column of the row with user.tenant_id and user.user_id.
void SaveUser(pqxx::transaction_base& txn, const UserRecord& user);
// Which users ListUsers returns; an empty criterion does not narrow.
struct UserFilter {
  std::string partner_org_id;
  std::string username;  // Exactly, case included.
  std::string email;     // Case-insensitively.
};
// Users matching `filter` by username_key after `after_username_key` ("" from the start), at
// most `limit`.
std::vector<UserRecord> ListUsers(pqxx::transaction_base& txn, std::string_view tenant_id,
                                  const UserFilter& filter, std::string_view after_username_key,
                                  int limit);
// The managers above `user_id`, nearest first: its manager, that one's manager, and so on.
// Stops before a user seen already, so it terminates even on data that holds a cycle.
std::vector<std::string> ManagerChain(pqxx::transaction_base& txn, std::string_view tenant_id,
                                      std::string_view user_id);
// Serialises changes of the tenant's reporting lines until the transaction ends, so that two
// concurrent changes cannot each pass the cycle check and together make a cycle.
void LockReportingLines(pqxx::transaction_base& txn, std::string_view tenant_id);

// --- the organisation model, read only ---

std::optional<RoleFacts> FindRole(pqxx::transaction_base& txn, std::string_view tenant_id,
                                  std::string_view role_id);
bool PartnerOrgExists(pqxx::transaction_base& txn, std::string_view tenant_id,
                      std::string_view partner_org_id);

// --- sessions ---

void InsertSession(pqxx::transaction_base& txn, const SessionRecord& session);
// nullopt when the tenant has no session `session_id` (or it is not a UUID).
std::optional<SessionRecord> FindSession(pqxx::transaction_base& txn, std::string_view tenant_id,
                                         std::string_view session_id,
                                         RowLock lock = RowLock::kNone);
// Replaces the refresh hashes of the session.
void SaveRefreshHashes(pqxx::transaction_base& txn, const SessionRecord& session);
// Sets revoke_time of the session if it has none.
void RevokeSessionRow(pqxx::transaction_base& txn, std::string_view tenant_id,
                      std::string_view session_id, absl::Time now);
// Revokes the user's sessions that are still usable at `now`; returns their ids.
std::vector<std::string> RevokeUserSessions(pqxx::transaction_base& txn, std::string_view tenant_id,
                                            std::string_view user_id, absl::Time now);

// --- API keys ---

void InsertApiKey(pqxx::transaction_base& txn, const ApiKeyRecord& key);
// nullopt when the tenant has no key `api_key_id` (or it is not a UUID).
std::optional<ApiKeyRecord> FindApiKey(pqxx::transaction_base& txn, std::string_view tenant_id,
                                       std::string_view api_key_id, RowLock lock = RowLock::kNone);
std::optional<ApiKeyRecord> FindApiKeyBySecretHash(pqxx::transaction_base& txn,
                                                   std::string_view tenant_id,
                                                   std::string_view secret_hash);
// Newest first; only `user_id`'s unless it is empty.
std::vector<ApiKeyRecord> ListApiKeys(pqxx::transaction_base& txn, std::string_view tenant_id,
                                      std::string_view user_id);
// Sets revoke_time of the key if it has none.
void RevokeApiKeyRow(pqxx::transaction_base& txn, std::string_view tenant_id,
                     std::string_view api_key_id, absl::Time now);
// Revokes the user's keys that are still usable at `now`; returns their ids.
std::vector<std::string> RevokeUserApiKeys(pqxx::transaction_base& txn, std::string_view tenant_id,
                                           std::string_view user_id, absl::Time now);

// --- the credentials a user change affects ---

// The ids of the user's sessions and API keys usable at `now`: what a ScopesInvalidated
// event about the user lists.
std::vector<std::string> LiveCredentialIds(pqxx::transaction_base& txn, std::string_view tenant_id,
                                           std::string_view user_id, absl::Time now);

// --- idempotency ---

// Records `record` for the request id unless one is recorded already; returns whether it
// was recorded. A concurrent transaction holding the same id makes this wait until it ends.
bool ClaimRequest(pqxx::transaction_base& txn, std::string_view tenant_id,
                  std::string_view request_id, const RequestRecord& record);
std::optional<RequestRecord> FindRequest(pqxx::transaction_base& txn, std::string_view tenant_id,
                                         std::string_view request_id);

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_STORE_H_
