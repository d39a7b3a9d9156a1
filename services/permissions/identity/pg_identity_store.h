// IdentityStore on PostgreSQL (the permissions schema, through pg::Pool). PgIdentityRows reads
// and writes the identity tables inside a pqxx transaction another component runs (the access
// check reads a user in the transaction that compiles its scope).
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_PG_IDENTITY_STORE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_PG_IDENTITY_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <pqxx/transaction>
#include <pqxx/transaction_base>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/pg/pool.h"
#include "services/permissions/identity/identity_store.h"
#include "services/permissions/pg_statements.h"

namespace touchline::permissions {

// The identity tables in one pqxx transaction, errors mapped as pg_statements.h says (call
// Finish last). Writes need a pqxx::work (the constructor with `work`); through a read-only
// one they fail with FAILED_PRECONDITION.
class PgIdentityRows final : public IdentityTransaction, public PgRows {
 public:
  explicit PgIdentityRows(pqxx::transaction_base& txn) : PgRows(txn) {}
  explicit PgIdentityRows(pqxx::work& work) : PgRows(work) {}

  absl::StatusOr<std::optional<UserRecord>> FindUser(std::string_view tenant_id,
                                                     std::string_view user_id,
                                                     RowLock lock) override;
  absl::StatusOr<std::optional<UserRecord>> FindUserByUsername(std::string_view tenant_id,
                                                               std::string_view username) override;
  absl::StatusOr<std::vector<UserRecord>> ListUsers(std::string_view tenant_id,
                                                    const UserFilter& filter,
                                                    std::string_view after_username_key,
                                                    int limit) override;
  absl::StatusOr<std::vector<std::string>> ManagerChain(std::string_view tenant_id,
                                                        std::string_view user_id) override;
  absl::StatusOr<std::optional<RoleFacts>> FindRole(std::string_view tenant_id,
                                                    std::string_view role_id) override;
  absl::StatusOr<bool> PartnerOrgExists(std::string_view tenant_id,
                                        std::string_view partner_org_id) override;
  absl::StatusOr<std::optional<SessionRecord>> FindSession(std::string_view tenant_id,
                                                           std::string_view session_id,
                                                           RowLock lock) override;
  absl::StatusOr<std::optional<SessionRecord>> FindDelegatedSession(
      std::string_view tenant_id, std::string_view user_id, std::string_view service,
      absl::Time expire_after) override;
  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKey(std::string_view tenant_id,
                                                         std::string_view api_key_id,
                                                         RowLock lock) override;
  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyBySecretHash(
      std::string_view tenant_id, std::string_view secret_hash) override;
  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(std::string_view tenant_id,
                                                        std::string_view user_id) override;
  absl::StatusOr<std::vector<std::string>> LiveCredentialIds(std::string_view tenant_id,
                                                             std::string_view user_id,
                                                             absl::Time now) override;
  absl::StatusOr<std::vector<StoredThrottleCounter>> ThrottleCounters(
      std::string_view tenant_id, const std::vector<std::string>& keys) override;

  absl::Status InsertUser(const UserRecord& user) override;
  absl::Status SaveUser(const UserRecord& user) override;
  absl::Status LockReportingLines(std::string_view tenant_id) override;
  absl::Status InsertSession(const SessionRecord& session) override;
  absl::Status SaveRefreshHashes(const SessionRecord& session) override;
  absl::Status RevokeSession(std::string_view tenant_id, std::string_view session_id,
                             absl::Time now) override;
  absl::StatusOr<std::vector<std::string>> RevokeUserSessions(std::string_view tenant_id,
                                                              std::string_view user_id,
                                                              absl::Time now) override;
  absl::Status InsertApiKey(const ApiKeyRecord& key) override;
  absl::Status RevokeApiKey(std::string_view tenant_id, std::string_view api_key_id,
                            absl::Time now) override;
  absl::StatusOr<std::vector<std::string>> RevokeUserApiKeys(std::string_view tenant_id,
                                                             std::string_view user_id,
                                                             absl::Time now) override;
  absl::StatusOr<idempotency::Claim> ClaimRequestId(const idempotency::Key& key,
                                                    std::string_view result) override;
  absl::StatusOr<StoredThrottleCounter> LockThrottleCounter(std::string_view tenant_id,
                                                            std::string_view key) override;
  absl::Status SaveThrottleCounter(std::string_view tenant_id,
                                   const StoredThrottleCounter& counter) override;
  absl::Status RecordThrottleSuccess(std::string_view tenant_id, std::string_view key,
                                     absl::Time now) override;
  absl::Status DeleteForgottenThrottleCounters(std::string_view tenant_id, absl::Time before,
                                               int limit) override;
  absl::Status AppendAudit(const std::string& tenant_id, v1::AuditEvent event) override;
  absl::Status Publish(std::string_view topic, const events::v1::EventEnvelope& envelope) override;
};

class PgIdentityStore final : public IdentityStore {
 public:
  // `pool` (not owned, outlives the store) reaches the permissions schema: its tables, the
  // outbox and the audit log.
  explicit PgIdentityStore(pg::Pool* pool) : pool_(pool) {}

  absl::Status Transact(const std::function<absl::Status(IdentityTransaction&)>& work) override;
  absl::Status Read(const std::function<absl::Status(IdentityReader&)>& read) override;
  absl::StatusOr<int64_t> PurgeSessions(absl::Time before, int limit) override;

 private:
  pg::Pool* const pool_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_PG_IDENTITY_STORE_H_
