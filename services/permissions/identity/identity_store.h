// Storage of identity: users, login sessions, API keys, CreateUser's request ids and
// the login throttle's counters, behind an interface so IdentityManager's rules run against
// PostgreSQL (pg_identity_store.h) or an in-memory fake (testing/in_memory_identity_store.h).
//
// A unit of work is one IdentityStore::Transact call: everything it writes, including its
// audit entries and outbox events, commits together or not at all. Every statement is scoped
// to one tenant. Errors are absl::Status: ALREADY_EXISTS for a unique key taken (a username),
// ABORTED when the store gave up on a conflict it could not retry, UNAVAILABLE or
// DEADLINE_EXCEEDED when the database is unreachable or slow.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_STORE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/idempotency/idempotency.h"
#include "touchline/events/v1/event.pb.h"
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
  // The Touchline service the session is kept for (IdentityManager::IssueDelegatedToken);
  // "" for a login session.
  std::string delegated_to;
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

// Whether a read locks the rows it returns until the unit of work ends (SELECT ... FOR UPDATE).
enum class RowLock { kNone, kForUpdate };

// Which users ListUsers returns; an empty criterion does not narrow.
struct UserFilter {
  std::string partner_org_id;
  std::string username;  // Exactly, case included.
  std::string email;     // Case-insensitively.
};

// One login throttle counter as stored (login_throttle.h decides what the numbers mean).
struct StoredThrottleCounter {
  std::string key;
  int failures = 0;
  std::optional<absl::Time> last_failure_time;
  std::optional<absl::Time> blocked_until;
  // When a login succeeded under this counter last (only (address, account) counters).
  std::optional<absl::Time> last_success_time;
};

// What a unit of work reads. A reader outside a transaction (IdentityStore::Read) sees each
// statement's own snapshot.
class IdentityReader {
 public:
  virtual ~IdentityReader() = default;

  // --- users ---

  // nullopt when the tenant has no user `user_id` (or it is not a UUID).
  virtual absl::StatusOr<std::optional<UserRecord>> FindUser(std::string_view tenant_id,
                                                             std::string_view user_id,
                                                             RowLock lock) = 0;
  // By username, compared case-insensitively.
  virtual absl::StatusOr<std::optional<UserRecord>> FindUserByUsername(
      std::string_view tenant_id, std::string_view username) = 0;
  // Users matching `filter` by username_key after `after_username_key` ("" from the start),
  // at most `limit`.
  virtual absl::StatusOr<std::vector<UserRecord>> ListUsers(std::string_view tenant_id,
                                                            const UserFilter& filter,
                                                            std::string_view after_username_key,
                                                            int limit) = 0;
  // The managers above `user_id`, nearest first: its manager, that one's manager, and so on.
  // Stops before a user seen already, so it terminates even on data that holds a cycle.
  virtual absl::StatusOr<std::vector<std::string>> ManagerChain(std::string_view tenant_id,
                                                                std::string_view user_id) = 0;

  // --- the organisation model, read only ---

  virtual absl::StatusOr<std::optional<RoleFacts>> FindRole(std::string_view tenant_id,
                                                            std::string_view role_id) = 0;
  virtual absl::StatusOr<bool> PartnerOrgExists(std::string_view tenant_id,
                                                std::string_view partner_org_id) = 0;

  // --- sessions and API keys ---

  // nullopt when the tenant has no session `session_id` (or it is not a UUID).
  virtual absl::StatusOr<std::optional<SessionRecord>> FindSession(std::string_view tenant_id,
                                                                   std::string_view session_id,
                                                                   RowLock lock) = 0;
  // The user's unrevoked session delegated to `service` that expires latest, if that is after
  // `expire_after`; nullopt otherwise (or when `user_id` is not a UUID).
  virtual absl::StatusOr<std::optional<SessionRecord>> FindDelegatedSession(
      std::string_view tenant_id, std::string_view user_id, std::string_view service,
      absl::Time expire_after) = 0;
  // nullopt when the tenant has no key `api_key_id` (or it is not a UUID).
  virtual absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKey(std::string_view tenant_id,
                                                                 std::string_view api_key_id,
                                                                 RowLock lock) = 0;
  virtual absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyBySecretHash(
      std::string_view tenant_id, std::string_view secret_hash) = 0;
  // Newest first (create_time, then api_key_id, descending); only `user_id`'s unless it is
  // empty.
  virtual absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(std::string_view tenant_id,
                                                                std::string_view user_id) = 0;
  // The ids of the user's sessions and API keys usable at `now`: what a ScopesInvalidated
  // event about the user lists.
  virtual absl::StatusOr<std::vector<std::string>> LiveCredentialIds(std::string_view tenant_id,
                                                                     std::string_view user_id,
                                                                     absl::Time now) = 0;

  // --- the login throttle ---

  // The stored counters among `keys` (those never written are left out).
  virtual absl::StatusOr<std::vector<StoredThrottleCounter>> ThrottleCounters(
      std::string_view tenant_id, const std::vector<std::string>& keys) = 0;
};

// What a unit of work reads and writes.
class IdentityTransaction : public IdentityReader {
 public:
  // --- users ---

  // ALREADY_EXISTS for a taken username.
  virtual absl::Status InsertUser(const UserRecord& user) = 0;
  // Writes every mutable column of the row with user.tenant_id and user.user_id.
  virtual absl::Status SaveUser(const UserRecord& user) = 0;
  // Serialises changes of the tenant's reporting lines until the unit of work ends, so that
  // two concurrent changes cannot each pass the cycle check and together make a cycle.
  virtual absl::Status LockReportingLines(std::string_view tenant_id) = 0;

  // --- sessions ---

  virtual absl::Status InsertSession(const SessionRecord& session) = 0;
  // Replaces the refresh hashes of the session.
  virtual absl::Status SaveRefreshHashes(const SessionRecord& session) = 0;
  // Sets revoke_time of the session if it has none.
  virtual absl::Status RevokeSession(std::string_view tenant_id, std::string_view session_id,
                                     absl::Time now) = 0;
  // Revokes the user's sessions that are still usable at `now`; returns their ids.
  virtual absl::StatusOr<std::vector<std::string>> RevokeUserSessions(std::string_view tenant_id,
                                                                      std::string_view user_id,
                                                                      absl::Time now) = 0;

  // --- API keys ---

  virtual absl::Status InsertApiKey(const ApiKeyRecord& key) = 0;
  // Sets revoke_time of the key if it has none.
  virtual absl::Status RevokeApiKey(std::string_view tenant_id, std::string_view api_key_id,
                                    absl::Time now) = 0;
  // Revokes the user's keys that are still usable at `now`; returns their ids.
  virtual absl::StatusOr<std::vector<std::string>> RevokeUserApiKeys(std::string_view tenant_id,
                                                                     std::string_view user_id,
                                                                     absl::Time now) = 0;

  // --- request ids ---

  // Claims `key` for this unit of work (common/idempotency ClaimKey): kNew records `result`
  // (the id of what the request creates); kReplay returns what the first request recorded;
  // kConflict when the id was used for another request. Kept for --idempotency_retention.
  virtual absl::StatusOr<idempotency::Claim> ClaimRequestId(const idempotency::Key& key,
                                                            std::string_view result) = 0;

  // --- the login throttle ---

  // The counter `key` (zero when new), locked until the unit of work ends, so that
  // concurrent failures count twice, not once.
  virtual absl::StatusOr<StoredThrottleCounter> LockThrottleCounter(std::string_view tenant_id,
                                                                    std::string_view key) = 0;
  // Writes failures, last_failure_time and blocked_until of a counter LockThrottleCounter
  // returned.
  virtual absl::Status SaveThrottleCounter(std::string_view tenant_id,
                                           const StoredThrottleCounter& counter) = 0;
  // Zeroes the counter `key`, clears its block and sets its last_success_time to `now`.
  virtual absl::Status RecordThrottleSuccess(std::string_view tenant_id, std::string_view key,
                                             absl::Time now) = 0;
  // Deletes at most `limit` counters of the tenant whose last failure and last success (each
  // when set) are before `before`.
  virtual absl::Status DeleteForgottenThrottleCounters(std::string_view tenant_id,
                                                       absl::Time before, int limit) = 0;

  // --- what commits with the change ---

  // Appends `event` to the tenant's audit chain (audit/audit_log.h AuditLog::Append).
  virtual absl::Status AppendAudit(const std::string& tenant_id, v1::AuditEvent event) = 0;
  // Appends `envelope` to the outbox for `topic`.
  virtual absl::Status Publish(std::string_view topic,
                               const events::v1::EventEnvelope& envelope) = 0;
};

class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  // Runs `work` as one unit of work: commits what it wrote when it returns OK, drops all of it
  // when it returns an error (returned as is). A conflict with a concurrent unit of work
  // (serialization failure, deadlock) runs `work` again from the start, so `work` must reset
  // whatever it captured.
  virtual absl::Status Transact(const std::function<absl::Status(IdentityTransaction&)>& work) = 0;
  // Runs `read` outside a unit of work: each read sees the latest committed data.
  virtual absl::Status Read(const std::function<absl::Status(IdentityReader&)>& read) = 0;

  // Retention: deletes at most `limit` sessions (of any tenant) whose expire_time or
  // revoke_time is before `before`, and returns how many it deleted. A session is useless
  // after either; keeping it until `before` keeps it visible to audits of recent logins.
  virtual absl::StatusOr<int64_t> PurgeSessions(absl::Time before, int limit) = 0;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_STORE_H_
