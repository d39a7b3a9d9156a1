// OrgStore on PostgreSQL (the permissions schema, through pg::Pool). PgOrgRows reads and
// writes the organisation tables inside a pqxx transaction; scope compilation uses it too,
// inside the transaction it compiles in.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_ORG_PG_ORG_STORE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_ORG_PG_ORG_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <pqxx/transaction>
#include <pqxx/transaction_base>
#include <string>
#include <string_view>
#include <vector>

#include "common/pg/pool.h"
#include "services/permissions/org/org_store.h"
#include "services/permissions/pg_statements.h"

namespace touchline::permissions {

// The organisation tables in one pqxx transaction, errors mapped as pg_statements.h says
// (call Finish last). Writes need a pqxx::work; through a read-only transaction they fail with
// FAILED_PRECONDITION.
class PgOrgRows final : public OrgTransaction, public PgRows {
 public:
  explicit PgOrgRows(pqxx::transaction_base& txn) : PgRows(txn) {}
  explicit PgOrgRows(pqxx::work& work) : PgRows(work) {}

  // --- Scope compilation (scope_compiler.h), PostgreSQL only ---

  // `user_id` and everyone reporting to them at any depth (disabled users included): the
  // user first, then by depth and id. Terminates on a cycle, should one ever be stored.
  absl::StatusOr<std::vector<std::string>> UserAndReports(const std::string& tenant,
                                                          const std::string& user_id);
  // The distinct regions of the territories `user_id` is a member of, sorted.
  absl::StatusOr<std::vector<std::string>> RegionsOfMember(const std::string& tenant,
                                                           const std::string& user_id);
  // The teams `user_id` is a member of, sorted.
  absl::StatusOr<std::vector<std::string>> TeamsOfMember(const std::string& tenant,
                                                         const std::string& user_id);

  // --- OrgTransaction ---

  absl::StatusOr<std::optional<v1::Role>> FindRole(const std::string& tenant,
                                                   const std::string& role_id,
                                                   OrgLock lock) override;
  absl::StatusOr<std::vector<v1::Role>> ListRoles(const std::string& tenant) override;
  absl::StatusOr<bool> PartnerOrgExists(const std::string& tenant,
                                        const std::string& partner_org_id) override;
  absl::StatusOr<std::vector<v1::PartnerOrganization>> ListPartnerOrganizations(
      const std::string& tenant) override;
  absl::StatusOr<std::optional<v1::Territory>> FindTerritory(const std::string& tenant,
                                                             const std::string& territory_id,
                                                             OrgLock lock) override;
  absl::StatusOr<std::vector<v1::Territory>> ListTerritories(const std::string& tenant) override;
  absl::StatusOr<std::optional<v1::Team>> FindTeam(const std::string& tenant,
                                                   const std::string& team_id,
                                                   OrgLock lock) override;
  absl::StatusOr<std::vector<v1::Team>> ListTeams(const std::string& tenant) override;
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> PartnerOrgsOfUsers(
      const std::string& tenant, const std::vector<std::string>& user_ids) override;
  absl::StatusOr<RoleHolders> CountRoleHolders(const std::string& tenant,
                                               const std::string& role_id) override;
  absl::StatusOr<std::vector<v1::FieldPolicy>> ListFieldPolicies(
      const std::string& tenant, const std::string& role_id) override;
  absl::StatusOr<std::vector<v1::CustomerShare>> ListShares(
      const std::string& tenant, const std::string& customer_id) override;
  absl::StatusOr<std::optional<KnownCustomer>> FindCustomer(
      const std::string& tenant, const std::string& customer_id) override;

  absl::StatusOr<bool> InsertRole(const std::string& tenant, const v1::Role& role,
                                  absl::Time now) override;
  absl::Status UpdateRole(const std::string& tenant, const v1::Role& role, absl::Time now) override;
  absl::StatusOr<bool> InsertPartnerOrganization(const std::string& tenant,
                                                 const v1::PartnerOrganization& partner,
                                                 absl::Time now) override;
  absl::StatusOr<bool> InsertTerritory(const std::string& tenant, const v1::Territory& territory,
                                       absl::Time now) override;
  absl::Status UpdateTerritory(const std::string& tenant, const v1::Territory& territory,
                               absl::Time now) override;
  absl::StatusOr<bool> InsertTeam(const std::string& tenant, const v1::Team& team,
                                  absl::Time now) override;
  absl::Status UpdateTeam(const std::string& tenant, const v1::Team& team, absl::Time now) override;
  absl::Status UpsertFieldPolicy(const std::string& tenant, const v1::FieldPolicy& policy) override;
  absl::StatusOr<bool> DeleteFieldPolicy(const std::string& tenant, const std::string& role_id,
                                         const std::string& resource,
                                         const std::string& field_path) override;
  absl::Status UpsertShare(const std::string& tenant, const v1::CustomerShare& share,
                           const std::string& granted_by, absl::Time now) override;
  absl::StatusOr<bool> DeleteShare(const std::string& tenant, const std::string& customer_id,
                                   const std::string& grantee) override;
  absl::StatusOr<int64_t> BumpShareVersion(const std::string& tenant,
                                           const std::string& customer_id) override;
  absl::Status AppendAudit(const std::string& tenant, v1::AuditEvent event) override;
  absl::Status Publish(std::string_view topic, const events::v1::EventEnvelope& envelope) override;
};

class PgOrgStore final : public OrgStore {
 public:
  // `pool` (not owned, outlives the store) reaches the permissions schema.
  explicit PgOrgStore(pg::Pool* pool) : pool_(pool) {}

  absl::Status Transact(const std::function<absl::Status(OrgTransaction&)>& work) override;
  absl::Status Read(const std::function<absl::Status(OrgReader&)>& read) override;
  absl::Status LearnUnknownCustomer(customers::CustomerDirectory& directory,
                                    const auth::RequestContext& caller,
                                    const std::string& customer_id) override;

 private:
  pg::Pool* const pool_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_ORG_PG_ORG_STORE_H_
