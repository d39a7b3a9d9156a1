// Storage of the organisation model (migrations/0001_org.sql): roles, partner organisations,
// territories and teams with their members, field policies and customer shares, plus what the
// model reads elsewhere (the users table's manager, role and partner columns; the customer
// read model). An interface, so OrgManager's rules run against PostgreSQL (pg_org_store.h) or
// an in-memory fake (testing/in_memory_org_store.h).
//
// A unit of work is one OrgStore::Transact call: everything it writes, its audit entry and its
// outbox events commit together or not at all. Every method is scoped to one tenant. Errors
// are absl::Status (the mapped PostgreSQL error: UNAVAILABLE, DEADLINE_EXCEEDED ...).
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_STORE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/customers/customer_directory.h"
#include "services/permissions/customer_read_model.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::permissions {

// Grantees as EffectiveScope.grantees and the shares table spell them.
inline std::string TeamGrantee(const std::string& team_id) {
  return absl::StrCat("team:", team_id);
}
inline std::string PartnerGrantee(const std::string& partner_org_id) {
  return absl::StrCat("partner:", partner_org_id);
}

// How many users hold a role: employees and partner users.
struct RoleHolders {
  int64_t employees = 0;
  int64_t partner_users = 0;
};

// Whether a read locks the rows it returns until the unit of work ends.
enum class OrgLock { kNone, kForUpdate };

// What a unit of work reads. Outside a transaction (OrgStore::Read) each read sees the latest
// committed data.
class OrgReader {
 public:
  virtual ~OrgReader() = default;

  virtual absl::StatusOr<std::optional<v1::Role>> FindRole(const std::string& tenant,
                                                           const std::string& role_id,
                                                           OrgLock lock) = 0;
  // By role_id.
  virtual absl::StatusOr<std::vector<v1::Role>> ListRoles(const std::string& tenant) = 0;

  virtual absl::StatusOr<bool> PartnerOrgExists(const std::string& tenant,
                                                const std::string& partner_org_id) = 0;
  // By partner_org_id.
  virtual absl::StatusOr<std::vector<v1::PartnerOrganization>> ListPartnerOrganizations(
      const std::string& tenant) = 0;

  // Territories and teams with their member user ids (sorted).
  virtual absl::StatusOr<std::optional<v1::Territory>> FindTerritory(
      const std::string& tenant, const std::string& territory_id, OrgLock lock) = 0;
  virtual absl::StatusOr<std::vector<v1::Territory>> ListTerritories(const std::string& tenant) = 0;
  virtual absl::StatusOr<std::optional<v1::Team>> FindTeam(const std::string& tenant,
                                                           const std::string& team_id,
                                                           OrgLock lock) = 0;
  virtual absl::StatusOr<std::vector<v1::Team>> ListTeams(const std::string& tenant) = 0;

  // The users of `user_ids` (lower-case UUIDs) that exist in the tenant, each with its
  // partner organisation (empty for employees).
  virtual absl::StatusOr<absl::flat_hash_map<std::string, std::string>> PartnerOrgsOfUsers(
      const std::string& tenant, const std::vector<std::string>& user_ids) = 0;
  virtual absl::StatusOr<RoleHolders> CountRoleHolders(const std::string& tenant,
                                                       const std::string& role_id) = 0;

  // Of one role (or all when `role_id` is empty), by role, resource and field path.
  virtual absl::StatusOr<std::vector<v1::FieldPolicy>> ListFieldPolicies(
      const std::string& tenant, const std::string& role_id) = 0;

  // The customer's shares, by grantee.
  virtual absl::StatusOr<std::vector<v1::CustomerShare>> ListShares(
      const std::string& tenant, const std::string& customer_id) = 0;
  // The customer of the read model with its shares; nullopt when it has none such.
  virtual absl::StatusOr<std::optional<KnownCustomer>> FindCustomer(
      const std::string& tenant, const std::string& customer_id) = 0;
};

// What a unit of work reads and writes. Inserts return false when the id is taken; creates
// and updates stamp `now`.
class OrgTransaction : public OrgReader {
 public:
  virtual absl::StatusOr<bool> InsertRole(const std::string& tenant, const v1::Role& role,
                                          absl::Time now) = 0;
  // Writes every field of `role` but the id and create time.
  virtual absl::Status UpdateRole(const std::string& tenant, const v1::Role& role,
                                  absl::Time now) = 0;
  virtual absl::StatusOr<bool> InsertPartnerOrganization(const std::string& tenant,
                                                         const v1::PartnerOrganization& partner,
                                                         absl::Time now) = 0;
  virtual absl::StatusOr<bool> InsertTerritory(const std::string& tenant,
                                               const v1::Territory& territory, absl::Time now) = 0;
  // Writes display name, regions and the member set.
  virtual absl::Status UpdateTerritory(const std::string& tenant, const v1::Territory& territory,
                                       absl::Time now) = 0;
  virtual absl::StatusOr<bool> InsertTeam(const std::string& tenant, const v1::Team& team,
                                          absl::Time now) = 0;
  virtual absl::Status UpdateTeam(const std::string& tenant, const v1::Team& team,
                                  absl::Time now) = 0;

  // Inserts or replaces the policy of (role, resource, field path).
  virtual absl::Status UpsertFieldPolicy(const std::string& tenant,
                                         const v1::FieldPolicy& policy) = 0;
  // False when there was none.
  virtual absl::StatusOr<bool> DeleteFieldPolicy(const std::string& tenant,
                                                 const std::string& role_id,
                                                 const std::string& resource,
                                                 const std::string& field_path) = 0;

  // Inserts the share or changes its access (keeping granted_by and create_time of the first
  // grant).
  virtual absl::Status UpsertShare(const std::string& tenant, const v1::CustomerShare& share,
                                   const std::string& granted_by, absl::Time now) = 0;
  // False when there was none.
  virtual absl::StatusOr<bool> DeleteShare(const std::string& tenant,
                                           const std::string& customer_id,
                                           const std::string& grantee) = 0;
  // Raises the version of the customer's share set and returns it (1 for the first change).
  // Serialises concurrent changes of one customer's shares until the unit of work ends.
  virtual absl::StatusOr<int64_t> BumpShareVersion(const std::string& tenant,
                                                   const std::string& customer_id) = 0;

  // Appends `event` to the tenant's audit chain (audit/audit_log.h); occur_time now when
  // unset. Last in a unit of work: it holds the tenant's chain head until the commit.
  virtual absl::Status AppendAudit(const std::string& tenant, v1::AuditEvent event) = 0;
  // Appends `envelope` to the outbox for `topic`.
  virtual absl::Status Publish(std::string_view topic,
                               const events::v1::EventEnvelope& envelope) = 0;
};

class OrgStore {
 public:
  virtual ~OrgStore() = default;

  // Runs `work` as one unit of work: commits when it returns OK, drops everything when it
  // returns an error (returned as is). A conflict with a concurrent unit of work runs `work`
  // again from the start.
  virtual absl::Status Transact(const std::function<absl::Status(OrgTransaction&)>& work) = 0;
  // Runs `read` outside a unit of work.
  virtual absl::Status Read(const std::function<absl::Status(OrgReader&)>& read) = 0;
  // Read-your-writes across services (customer_read_model.h LearnUnknownCustomer): when the
  // read model lacks the customer, asks `directory` on `caller`'s behalf and adds what it
  // says.
  virtual absl::Status LearnUnknownCustomer(customers::CustomerDirectory& directory,
                                            const auth::RequestContext& caller,
                                            const std::string& customer_id) = 0;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_STORE_H_
