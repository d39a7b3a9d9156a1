#include "services/permissions/org/pg_org_store.h"

#include <google/protobuf/util/time_util.h>

#include <pqxx/pqxx>
#include <tuple>
#include <utility>

#include "common/auth/scope.h"
#include "common/events/outbox.h"
#include "common/pg/array.h"
#include "common/status/macros.h"
#include "services/permissions/audit/audit_log.h"
#include "services/permissions/org/sql.h"

namespace touchline::permissions {
namespace {

using ::google::protobuf::util::TimeUtil;
using namespace org_sql;  // NOLINT(build/namespaces): the statements of this store.

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

google::protobuf::Timestamp Timestamp(const pqxx::field& micros) {
  return TimeUtil::MicrosecondsToTimestamp(micros.as<int64_t>());
}

std::string PermissionArray(const google::protobuf::RepeatedField<int>& permissions) {
  std::vector<std::string> numbers;
  for (const int p : permissions) numbers.push_back(std::to_string(p));
  return pg::TextArrayLiteral(numbers);
}

// --- Roles ---

v1::Role RoleOf(const pqxx::row& row) {
  v1::Role role;
  role.set_role_id(row[0].as<std::string>());
  role.set_display_name(row[1].as<std::string>());
  role.set_rank(row[2].as<int>());
  role.set_data_scope(static_cast<v1::DataScope>(row[3].as<int>()));
  for (const std::string& p : pg::ParseTextArray(row[4])) {
    role.add_permissions(static_cast<v1::Permission>(std::stoi(p)));
  }
  *role.mutable_create_time() = Timestamp(row[5]);
  *role.mutable_update_time() = Timestamp(row[6]);
  return role;
}

// --- Territories and teams ---

v1::Territory TerritoryOf(const pqxx::row& row) {
  v1::Territory territory;
  territory.set_territory_id(row[0].as<std::string>());
  territory.set_display_name(row[1].as<std::string>());
  for (std::string& region : pg::ParseTextArray(row[2])) territory.add_regions(std::move(region));
  for (std::string& id : pg::ParseTextArray(row[3])) territory.add_member_user_ids(std::move(id));
  return territory;
}

v1::Team TeamOf(const pqxx::row& row) {
  v1::Team team;
  team.set_team_id(row[0].as<std::string>());
  team.set_display_name(row[1].as<std::string>());
  for (std::string& id : pg::ParseTextArray(row[2])) team.add_member_user_ids(std::move(id));
  return team;
}

// The statements that replace the members of one territory or of one team.
struct MemberStatements {
  const char* remove;
  const char* insert;
};
constexpr MemberStatements kTerritoryMembers{kDeleteTerritoryMembers, kInsertTerritoryMembers};
constexpr MemberStatements kTeamMembers{kDeleteTeamMembers, kInsertTeamMembers};

void ReplaceMembers(pqxx::work& txn, const MemberStatements& statements, const std::string& tenant,
                    const std::string& id,
                    const google::protobuf::RepeatedPtrField<std::string>& members) {
  txn.exec_params(statements.remove, tenant, id);
  if (members.empty()) return;
  txn.exec_params(statements.insert, tenant, id,
                  pg::TextArrayLiteral({members.begin(), members.end()}));
}

// The statement for a row read plain or FOR UPDATE.
const char* Locked(OrgLock lock, const char* plain, const char* for_update) {
  return lock == OrgLock::kForUpdate ? for_update : plain;
}

std::vector<std::string> Column(const pqxx::result& rows) {
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const pqxx::row& row : rows) out.push_back(row[0].as<std::string>());
  return out;
}

// --- Field policies ---

v1::FieldPolicy FieldPolicyOf(const pqxx::row& row) {
  v1::FieldPolicy policy;
  policy.set_role_id(row[0].as<std::string>());
  policy.set_resource(row[1].as<std::string>());
  policy.set_field_path(row[2].as<std::string>());
  policy.set_access(static_cast<v1::FieldAccess>(row[3].as<int>()));
  policy.set_mask(static_cast<v1::MaskPattern>(row[4].as<int>()));
  return policy;
}

constexpr char kTeamPrefix[] = "team:";
constexpr char kPartnerPrefix[] = "partner:";

namespace rows {

bool InsertRole(pqxx::work& txn, const std::string& tenant, const v1::Role& role, absl::Time now) {
  return !txn.exec_params(kInsertRole, tenant, role.role_id(), role.display_name(), role.rank(),
                          static_cast<int>(role.data_scope()), PermissionArray(role.permissions()),
                          Micros(now))
              .empty();
}

std::optional<v1::Role> FindRole(pqxx::transaction_base& txn, const std::string& tenant,
                                 const std::string& role_id, OrgLock lock) {
  const pqxx::result rows =
      txn.exec_params(Locked(lock, kSelectRole, kSelectRoleForUpdate), tenant, role_id);
  if (rows.empty()) return std::nullopt;
  return RoleOf(rows[0]);
}

std::vector<v1::Role> ListRoles(pqxx::transaction_base& txn, const std::string& tenant) {
  std::vector<v1::Role> roles;
  for (const pqxx::row& row : txn.exec_params(kListRoles, tenant)) roles.push_back(RoleOf(row));
  return roles;
}

void UpdateRole(pqxx::work& txn, const std::string& tenant, const v1::Role& role, absl::Time now) {
  txn.exec_params(kUpdateRole, tenant, role.role_id(), role.display_name(), role.rank(),
                  static_cast<int>(role.data_scope()), PermissionArray(role.permissions()),
                  Micros(now));
}

bool InsertPartnerOrganization(pqxx::work& txn, const std::string& tenant,
                               const v1::PartnerOrganization& partner, absl::Time now) {
  return !txn.exec_params(kInsertPartnerOrg, tenant, partner.partner_org_id(),
                          partner.display_name(), Micros(now))
              .empty();
}

bool PartnerOrgExists(pqxx::transaction_base& txn, const std::string& tenant,
                      const std::string& partner_org_id) {
  return !txn.exec_params(kPartnerOrgExists, tenant, partner_org_id).empty();
}

std::vector<v1::PartnerOrganization> ListPartnerOrganizations(pqxx::transaction_base& txn,
                                                              const std::string& tenant) {
  std::vector<v1::PartnerOrganization> partners;
  for (const pqxx::row& row : txn.exec_params(kListPartnerOrgs, tenant)) {
    v1::PartnerOrganization& partner = partners.emplace_back();
    partner.set_partner_org_id(row[0].as<std::string>());
    partner.set_display_name(row[1].as<std::string>());
  }
  return partners;
}

bool InsertTerritory(pqxx::work& txn, const std::string& tenant, const v1::Territory& territory,
                     absl::Time now) {
  const pqxx::result inserted = txn.exec_params(
      kInsertTerritory, tenant, territory.territory_id(), territory.display_name(),
      pg::TextArrayLiteral({territory.regions().begin(), territory.regions().end()}), Micros(now));
  if (inserted.empty()) return false;
  ReplaceMembers(txn, kTerritoryMembers, tenant, territory.territory_id(),
                 territory.member_user_ids());
  return true;
}

std::optional<v1::Territory> FindTerritory(pqxx::transaction_base& txn, const std::string& tenant,
                                           const std::string& territory_id, OrgLock lock) {
  const pqxx::result rows = txn.exec_params(
      Locked(lock, kSelectTerritory, kSelectTerritoryForUpdate), tenant, territory_id);
  if (rows.empty()) return std::nullopt;
  return TerritoryOf(rows[0]);
}

std::vector<v1::Territory> ListTerritories(pqxx::transaction_base& txn, const std::string& tenant) {
  std::vector<v1::Territory> territories;
  for (const pqxx::row& row : txn.exec_params(kListTerritories, tenant)) {
    territories.push_back(TerritoryOf(row));
  }
  return territories;
}

void UpdateTerritory(pqxx::work& txn, const std::string& tenant, const v1::Territory& territory,
                     absl::Time now) {
  txn.exec_params(kUpdateTerritory, tenant, territory.territory_id(), territory.display_name(),
                  pg::TextArrayLiteral({territory.regions().begin(), territory.regions().end()}),
                  Micros(now));
  ReplaceMembers(txn, kTerritoryMembers, tenant, territory.territory_id(),
                 territory.member_user_ids());
}

bool InsertTeam(pqxx::work& txn, const std::string& tenant, const v1::Team& team, absl::Time now) {
  const pqxx::result inserted =
      txn.exec_params(kInsertTeam, tenant, team.team_id(), team.display_name(), Micros(now));
  if (inserted.empty()) return false;
  ReplaceMembers(txn, kTeamMembers, tenant, team.team_id(), team.member_user_ids());
  return true;
}

std::optional<v1::Team> FindTeam(pqxx::transaction_base& txn, const std::string& tenant,
                                 const std::string& team_id, OrgLock lock) {
  const pqxx::result rows =
      txn.exec_params(Locked(lock, kSelectTeam, kSelectTeamForUpdate), tenant, team_id);
  if (rows.empty()) return std::nullopt;
  return TeamOf(rows[0]);
}

std::vector<v1::Team> ListTeams(pqxx::transaction_base& txn, const std::string& tenant) {
  std::vector<v1::Team> teams;
  for (const pqxx::row& row : txn.exec_params(kListTeams, tenant)) teams.push_back(TeamOf(row));
  return teams;
}

void UpdateTeam(pqxx::work& txn, const std::string& tenant, const v1::Team& team, absl::Time now) {
  txn.exec_params(kUpdateTeam, tenant, team.team_id(), team.display_name(), Micros(now));
  ReplaceMembers(txn, kTeamMembers, tenant, team.team_id(), team.member_user_ids());
}

absl::flat_hash_map<std::string, std::string> PartnerOrgsOfUsers(
    pqxx::transaction_base& txn, const std::string& tenant,
    const std::vector<std::string>& user_ids) {
  absl::flat_hash_map<std::string, std::string> users;
  if (user_ids.empty()) return users;
  for (const pqxx::row& row :
       txn.exec_params(kPartnerOrgsOfUsers, tenant, pg::TextArrayLiteral(user_ids))) {
    users.emplace(row[0].as<std::string>(), row[1].as<std::string>());
  }
  return users;
}

RoleHolders CountRoleHolders(pqxx::transaction_base& txn, const std::string& tenant,
                             const std::string& role_id) {
  const pqxx::row row = txn.exec_params1(kCountRoleHolders, tenant, role_id);
  return RoleHolders{.employees = row[0].as<int64_t>(), .partner_users = row[1].as<int64_t>()};
}

std::vector<std::string> UserAndReports(pqxx::transaction_base& txn, const std::string& tenant,
                                        const std::string& user_id) {
  return Column(txn.exec_params(kUserAndReports, tenant, user_id));
}

std::vector<std::string> RegionsOfMember(pqxx::transaction_base& txn, const std::string& tenant,
                                         const std::string& user_id) {
  return Column(txn.exec_params(kRegionsOfMember, tenant, user_id));
}

std::vector<std::string> TeamsOfMember(pqxx::transaction_base& txn, const std::string& tenant,
                                       const std::string& user_id) {
  return Column(txn.exec_params(kTeamsOfMember, tenant, user_id));
}

void UpsertFieldPolicy(pqxx::work& txn, const std::string& tenant, const v1::FieldPolicy& policy) {
  txn.exec_params(kUpsertFieldPolicy, tenant, policy.role_id(), policy.resource(),
                  policy.field_path(), static_cast<int>(policy.access()),
                  static_cast<int>(policy.mask()));
}

bool DeleteFieldPolicy(pqxx::work& txn, const std::string& tenant, const std::string& role_id,
                       const std::string& resource, const std::string& field_path) {
  return !txn.exec_params(kDeleteFieldPolicy, tenant, role_id, resource, field_path).empty();
}

std::vector<v1::FieldPolicy> ListFieldPolicies(pqxx::transaction_base& txn,
                                               const std::string& tenant,
                                               const std::string& role_id) {
  std::vector<v1::FieldPolicy> policies;
  for (const pqxx::row& row : txn.exec_params(kListFieldPolicies, tenant, role_id)) {
    policies.push_back(FieldPolicyOf(row));
  }
  return policies;
}

void UpsertShare(pqxx::work& txn, const std::string& tenant, const v1::CustomerShare& share,
                 const std::string& granted_by, absl::Time now) {
  txn.exec_params(kUpsertShare, tenant, share.customer_id(), auth::GranteeOf(share),
                  share.access() == v1::SHARE_ACCESS_EDIT, granted_by, Micros(now));
}

bool DeleteShare(pqxx::work& txn, const std::string& tenant, const std::string& customer_id,
                 const std::string& grantee) {
  return !txn.exec_params(kDeleteShare, tenant, customer_id, grantee).empty();
}

std::vector<v1::CustomerShare> ListShares(pqxx::transaction_base& txn, const std::string& tenant,
                                          const std::string& customer_id) {
  std::vector<v1::CustomerShare> shares;
  for (const pqxx::row& row : txn.exec_params(kListShares, tenant, customer_id)) {
    v1::CustomerShare& share = shares.emplace_back();
    share.set_customer_id(row[0].as<std::string>());
    const std::string grantee = row[1].as<std::string>();
    if (grantee.starts_with(kTeamPrefix)) {
      share.set_team_id(grantee.substr(sizeof(kTeamPrefix) - 1));
    } else {
      share.set_partner_org_id(grantee.substr(sizeof(kPartnerPrefix) - 1));
    }
    share.set_access(row[2].as<bool>() ? v1::SHARE_ACCESS_EDIT : v1::SHARE_ACCESS_READ);
    share.set_granted_by(row[3].as<std::string>());
    *share.mutable_create_time() = Timestamp(row[4]);
  }
  return shares;
}

int64_t BumpShareVersion(pqxx::work& txn, const std::string& tenant,
                         const std::string& customer_id) {
  return txn.exec_params1(kBumpShareVersion, tenant, customer_id)[0].as<int64_t>();
}

}  // namespace rows
}  // namespace

absl::StatusOr<std::optional<v1::Role>> PgOrgRows::FindRole(const std::string& tenant,
                                                            const std::string& role_id,
                                                            OrgLock lock) {
  return statements_.Run([&] { return rows::FindRole(txn_, tenant, role_id, lock); });
}

absl::StatusOr<std::vector<v1::Role>> PgOrgRows::ListRoles(const std::string& tenant) {
  return statements_.Run([&] { return rows::ListRoles(txn_, tenant); });
}

absl::StatusOr<bool> PgOrgRows::PartnerOrgExists(const std::string& tenant,
                                                 const std::string& partner_org_id) {
  return statements_.Run([&] { return rows::PartnerOrgExists(txn_, tenant, partner_org_id); });
}

absl::StatusOr<std::vector<v1::PartnerOrganization>> PgOrgRows::ListPartnerOrganizations(
    const std::string& tenant) {
  return statements_.Run([&] { return rows::ListPartnerOrganizations(txn_, tenant); });
}

absl::StatusOr<std::optional<v1::Territory>> PgOrgRows::FindTerritory(
    const std::string& tenant, const std::string& territory_id, OrgLock lock) {
  return statements_.Run([&] { return rows::FindTerritory(txn_, tenant, territory_id, lock); });
}

absl::StatusOr<std::vector<v1::Territory>> PgOrgRows::ListTerritories(const std::string& tenant) {
  return statements_.Run([&] { return rows::ListTerritories(txn_, tenant); });
}

absl::StatusOr<std::optional<v1::Team>> PgOrgRows::FindTeam(const std::string& tenant,
                                                            const std::string& team_id,
                                                            OrgLock lock) {
  return statements_.Run([&] { return rows::FindTeam(txn_, tenant, team_id, lock); });
}

absl::StatusOr<std::vector<v1::Team>> PgOrgRows::ListTeams(const std::string& tenant) {
  return statements_.Run([&] { return rows::ListTeams(txn_, tenant); });
}

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> PgOrgRows::PartnerOrgsOfUsers(
    const std::string& tenant, const std::vector<std::string>& user_ids) {
  return statements_.Run([&] { return rows::PartnerOrgsOfUsers(txn_, tenant, user_ids); });
}

absl::StatusOr<RoleHolders> PgOrgRows::CountRoleHolders(const std::string& tenant,
                                                        const std::string& role_id) {
  return statements_.Run([&] { return rows::CountRoleHolders(txn_, tenant, role_id); });
}

absl::StatusOr<std::vector<std::string>> PgOrgRows::UserAndReports(const std::string& tenant,
                                                                   const std::string& user_id) {
  return statements_.Run([&] { return rows::UserAndReports(txn_, tenant, user_id); });
}

absl::StatusOr<std::vector<std::string>> PgOrgRows::RegionsOfMember(const std::string& tenant,
                                                                    const std::string& user_id) {
  return statements_.Run([&] { return rows::RegionsOfMember(txn_, tenant, user_id); });
}

absl::StatusOr<std::vector<std::string>> PgOrgRows::TeamsOfMember(const std::string& tenant,
                                                                  const std::string& user_id) {
  return statements_.Run([&] { return rows::TeamsOfMember(txn_, tenant, user_id); });
}

absl::StatusOr<std::vector<v1::FieldPolicy>> PgOrgRows::ListFieldPolicies(
    const std::string& tenant, const std::string& role_id) {
  return statements_.Run([&] { return rows::ListFieldPolicies(txn_, tenant, role_id); });
}

absl::StatusOr<std::vector<v1::CustomerShare>> PgOrgRows::ListShares(
    const std::string& tenant, const std::string& customer_id) {
  return statements_.Run([&] { return rows::ListShares(txn_, tenant, customer_id); });
}

absl::StatusOr<std::optional<KnownCustomer>> PgOrgRows::FindCustomer(
    const std::string& tenant, const std::string& customer_id) {
  return statements_.Run([&] { return permissions::FindCustomer(txn_, tenant, customer_id); });
}

absl::StatusOr<bool> PgOrgRows::InsertRole(const std::string& tenant, const v1::Role& role,
                                           absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Run([&] { return rows::InsertRole(*work_, tenant, role, now); });
}

absl::Status PgOrgRows::UpdateRole(const std::string& tenant, const v1::Role& role,
                                   absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { rows::UpdateRole(*work_, tenant, role, now); });
}

absl::StatusOr<bool> PgOrgRows::InsertPartnerOrganization(const std::string& tenant,
                                                          const v1::PartnerOrganization& partner,
                                                          absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Run(
      [&] { return rows::InsertPartnerOrganization(*work_, tenant, partner, now); });
}

absl::StatusOr<bool> PgOrgRows::InsertTerritory(const std::string& tenant,
                                                const v1::Territory& territory, absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Run([&] { return rows::InsertTerritory(*work_, tenant, territory, now); });
}

absl::Status PgOrgRows::UpdateTerritory(const std::string& tenant, const v1::Territory& territory,
                                        absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { rows::UpdateTerritory(*work_, tenant, territory, now); });
}

absl::StatusOr<bool> PgOrgRows::InsertTeam(const std::string& tenant, const v1::Team& team,
                                           absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Run([&] { return rows::InsertTeam(*work_, tenant, team, now); });
}

absl::Status PgOrgRows::UpdateTeam(const std::string& tenant, const v1::Team& team,
                                   absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { rows::UpdateTeam(*work_, tenant, team, now); });
}

absl::Status PgOrgRows::UpsertFieldPolicy(const std::string& tenant,
                                          const v1::FieldPolicy& policy) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { rows::UpsertFieldPolicy(*work_, tenant, policy); });
}

absl::StatusOr<bool> PgOrgRows::DeleteFieldPolicy(const std::string& tenant,
                                                  const std::string& role_id,
                                                  const std::string& resource,
                                                  const std::string& field_path) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Run(
      [&] { return rows::DeleteFieldPolicy(*work_, tenant, role_id, resource, field_path); });
}

absl::Status PgOrgRows::UpsertShare(const std::string& tenant, const v1::CustomerShare& share,
                                    const std::string& granted_by, absl::Time now) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { rows::UpsertShare(*work_, tenant, share, granted_by, now); });
}

absl::StatusOr<bool> PgOrgRows::DeleteShare(const std::string& tenant,
                                            const std::string& customer_id,
                                            const std::string& grantee) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Run([&] { return rows::DeleteShare(*work_, tenant, customer_id, grantee); });
}

absl::StatusOr<int64_t> PgOrgRows::BumpShareVersion(const std::string& tenant,
                                                    const std::string& customer_id) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Run([&] { return rows::BumpShareVersion(*work_, tenant, customer_id); });
}

absl::Status PgOrgRows::AppendAudit(const std::string& tenant, v1::AuditEvent event) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { AuditLog::Append(*work_, tenant, std::move(event)); });
}

absl::Status PgOrgRows::Publish(std::string_view topic, const events::v1::EventEnvelope& envelope) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Exec([&] { events::AppendToOutbox(*work_, topic, envelope); });
}

absl::Status PgOrgStore::Transact(const std::function<absl::Status(OrgTransaction&)>& work) {
  return pool_->Transact([&](pqxx::work& txn) {
    PgOrgRows rows(txn);
    return rows.Finish(work(rows));
  });
}

absl::Status PgOrgStore::Read(const std::function<absl::Status(OrgReader&)>& read) {
  return pool_->Query([&](pqxx::nontransaction& txn) {
    PgOrgRows rows(static_cast<pqxx::transaction_base&>(txn));
    return rows.Finish(read(rows));
  });
}

absl::Status PgOrgStore::LearnUnknownCustomer(customers::CustomerDirectory& directory,
                                              const auth::RequestContext& caller,
                                              const std::string& customer_id) {
  return permissions::LearnUnknownCustomer(*pool_, directory, caller, customer_id);
}

}  // namespace touchline::permissions
