// AuditStore on PostgreSQL (the permissions schema, through pg::Pool). PgAuditRows reads and
// writes the audit tables inside a pqxx transaction; AuditLog::Append uses it inside the
// transaction of whoever appends (the identity and org stores, the "audit" consumer).
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_PG_AUDIT_STORE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_PG_AUDIT_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <pqxx/transaction>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "common/pg/pool.h"
#include "services/permissions/audit/audit_store.h"
#include "services/permissions/pg_statements.h"

namespace touchline::permissions {

// The audit tables in one pqxx transaction, errors mapped as pg_statements.h says (call
// Finish last). Writes need a pqxx::work; through a read-only transaction they fail with
// FAILED_PRECONDITION.
class PgAuditRows final : public AuditTransaction, public PgRows {
 public:
  explicit PgAuditRows(pqxx::transaction_base& txn) : PgRows(txn) {}
  explicit PgAuditRows(pqxx::work& work) : PgRows(work) {}

  absl::StatusOr<std::vector<v1::AuditEvent>> ListEntries(const std::string& tenant,
                                                          const AuditEntryFilter& filter) override;
  absl::StatusOr<std::vector<v1::AuditEvent>> EntriesAfter(const std::string& tenant, int64_t after,
                                                           int limit) override;
  absl::StatusOr<std::optional<AuditChainHead>> Head(const std::string& tenant) override;
  absl::StatusOr<std::map<std::string, AuditChainHead>> LockHeads(
      const std::vector<std::string>& tenants) override;
  absl::Status Write(const std::vector<TenantAuditEvent>& entries,
                     const std::map<std::string, AuditChainHead>& heads) override;
};

class PgAuditStore final : public AuditStore {
 public:
  // `pool` (not owned, outlives the store) reaches the permissions schema.
  explicit PgAuditStore(pg::Pool* pool) : pool_(pool) {}

  absl::Status Transact(const std::function<absl::Status(AuditTransaction&)>& work) override;
  absl::Status Read(const std::function<absl::Status(AuditReader&)>& read) override;
  // A REPEATABLE READ, READ ONLY transaction.
  absl::Status ReadSnapshot(const std::function<absl::Status(AuditReader&)>& read) override;

 private:
  pg::Pool* const pool_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_PG_AUDIT_STORE_H_
