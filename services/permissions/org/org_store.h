// The organisation model's tables (migrations/0001_org.sql) and the columns of users that
// scope compilation and membership checks read. Every function runs inside the caller's
// transaction, so a change, its outbox events and its audit entry commit together; libpqxx
// exceptions propagate (pg::Pool::Transact maps them).
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_STORE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_STORE_H_

#include <cstdint>
#include <optional>
#include <pqxx/transaction>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::permissions {

// --- Roles -------------------------------------------------------------------------------

// Inserts `role` with create and update time `now`; false when the id is taken.
bool InsertRole(pqxx::work& txn, const std::string& tenant, const v1::Role& role, absl::Time now);
// The role, locked against concurrent changes with `for_update`.
std::optional<v1::Role> RoleById(pqxx::transaction_base& txn, const std::string& tenant,
                                 const std::string& role_id, bool for_update = false);
// By role_id.
std::vector<v1::Role> ListRoles(pqxx::transaction_base& txn, const std::string& tenant);
// Writes every field of `role` but the id and create time, with update time `now`.
void UpdateRole(pqxx::work& txn, const std::string& tenant, const v1::Role& role, absl::Time now);

// --- Partner organisations ---------------------------------------------------------------

bool InsertPartnerOrganization(pqxx::work& txn, const std::string& tenant,
                               const v1::PartnerOrganization& partner, absl::Time now);
bool PartnerOrgExists(pqxx::transaction_base& txn, const std::string& tenant,
                      const std::string& partner_org_id);
std::vector<v1::PartnerOrganization> ListPartnerOrganizations(pqxx::transaction_base& txn,
                                                              const std::string& tenant);

// --- Territories and teams (members by user id) -----------------------------------------

bool InsertTerritory(pqxx::work& txn, const std::string& tenant, const v1::Territory& territory,
                     absl::Time now);
std::optional<v1::Territory> FindTerritory(pqxx::transaction_base& txn, const std::string& tenant,
                                           const std::string& territory_id,
                                           bool for_update = false);
std::vector<v1::Territory> ListTerritories(pqxx::transaction_base& txn, const std::string& tenant);
// Writes display name, regions and the member set.
void UpdateTerritory(pqxx::work& txn, const std::string& tenant, const v1::Territory& territory,
                     absl::Time now);

bool InsertTeam(pqxx::work& txn, const std::string& tenant, const v1::Team& team, absl::Time now);
std::optional<v1::Team> FindTeam(pqxx::transaction_base& txn, const std::string& tenant,
                                 const std::string& team_id, bool for_update = false);
std::vector<v1::Team> ListTeams(pqxx::transaction_base& txn, const std::string& tenant);
void UpdateTeam(pqxx::work& txn, const std::string& tenant, const v1::Team& team, absl::Time now);

// --- Users (identity's table; single users through identity_store.h) --------------------

// The users of `user_ids` (lower-case UUIDs) that exist in the tenant, each with its partner
// organisation (empty for employees).
absl::flat_hash_map<std::string, std::string> PartnerOrgsOfUsers(
    pqxx::transaction_base& txn, const std::string& tenant,
    const std::vector<std::string>& user_ids);
// How many users hold `role_id`: employees and partner users.
struct RoleHolders {
  int64_t employees = 0;
  int64_t partner_users = 0;
};
RoleHolders CountRoleHolders(pqxx::transaction_base& txn, const std::string& tenant,
                             const std::string& role_id);

// --- Scope compilation -------------------------------------------------------------------

// `user_id` and everyone reporting to them at any depth (disabled users included): the user
// first, then by depth and id. Terminates on a cycle, should one ever be stored.
std::vector<std::string> UserAndReports(pqxx::transaction_base& txn, const std::string& tenant,
                                        const std::string& user_id);
// The distinct regions of the territories `user_id` is a member of, sorted.
std::vector<std::string> RegionsOfMember(pqxx::transaction_base& txn, const std::string& tenant,
                                         const std::string& user_id);
// The teams `user_id` is a member of, sorted.
std::vector<std::string> TeamsOfMember(pqxx::transaction_base& txn, const std::string& tenant,
                                       const std::string& user_id);

// --- Field policies ----------------------------------------------------------------------

// Inserts or replaces the policy of (role, resource, field path).
void UpsertFieldPolicy(pqxx::work& txn, const std::string& tenant, const v1::FieldPolicy& policy);
// False when there was none.
bool DeleteFieldPolicy(pqxx::work& txn, const std::string& tenant, const std::string& role_id,
                       const std::string& resource, const std::string& field_path);
// Of one role (or all when `role_id` is empty), by role, resource and field path.
std::vector<v1::FieldPolicy> ListFieldPolicies(pqxx::transaction_base& txn,
                                               const std::string& tenant,
                                               const std::string& role_id);

// --- Customer shares ---------------------------------------------------------------------

// Grantees as EffectiveScope.grantees and the shares table spell them.
std::string TeamGrantee(const std::string& team_id);            // "team:<id>"
std::string PartnerGrantee(const std::string& partner_org_id);  // "partner:<id>"

// Inserts the share or changes its access (keeping granted_by and create_time of the first
// grant).
void UpsertShare(pqxx::work& txn, const std::string& tenant, const v1::CustomerShare& share,
                 const std::string& granted_by, absl::Time now);
// False when there was none.
bool DeleteShare(pqxx::work& txn, const std::string& tenant, const std::string& customer_id,
                 const std::string& grantee);
// The customer's shares, by grantee.
std::vector<v1::CustomerShare> ListShares(pqxx::transaction_base& txn, const std::string& tenant,
                                          const std::string& customer_id);
// Raises the version of the customer's share set and returns it (1 for the first change).
// Serialises concurrent changes of one customer's shares until the transaction ends.
int64_t BumpShareVersion(pqxx::work& txn, const std::string& tenant,
                         const std::string& customer_id);

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_STORE_H_
