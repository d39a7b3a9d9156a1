#include "services/permissions/org/org_manager.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/events/outbox.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "services/permissions/audit/audit_log.h"
#include "services/permissions/customer_read_model.h"
#include "services/permissions/identity/identity_manager.h"
#include "services/permissions/org/org_store.h"
#include "services/permissions/org/org_validation.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::permissions {
namespace {

namespace ev = ::touchline::events::v1;
namespace cv1 = ::touchline::contacts::v1;
using auth::RequestContext;

// Tells every service to drop the tenant's cached scopes: `aggregate_type` changed.
void PublishScopesInvalidated(pqxx::work& txn, const RequestContext& caller,
                              const std::string& aggregate_type, const std::string& aggregate_id) {
  events::AppendToOutbox(
      txn, kPermissionsTopic,
      events::MakeEnvelope(ev::ScopesInvalidated(), caller.tenant_id, aggregate_type, aggregate_id,
                           caller.request_id, caller.caller_id));
}

// Appends the audit entry of a change by `caller`. Last in a transaction: it holds the
// tenant's chain head until the commit.
void Audit(pqxx::work& txn, const RequestContext& caller, const std::string& action,
           const std::string& resource_type, const std::string& resource_id,
           const std::set<std::string>& fields = {}, const std::string& detail = "") {
  v1::AuditEvent event;
  event.set_action(action);
  event.set_actor_id(caller.caller_id);
  event.set_client(caller.client);
  event.set_resource_type(resource_type);
  event.set_resource_id(resource_id);
  for (const std::string& field : fields) event.add_fields(field);
  event.set_detail(detail);
  event.set_request_id(caller.request_id);
  AuditLog::Append(txn, caller.tenant_id, std::move(event));
}

// The members of a territory or team must be employees of the tenant.
absl::Status CheckMembers(pqxx::transaction_base& txn, const std::string& tenant,
                          const google::protobuf::RepeatedPtrField<std::string>& members,
                          const std::string& path) {
  const auto users = PartnerOrgsOfUsers(txn, tenant, {members.begin(), members.end()});
  status::FieldViolations violations;
  for (int i = 0; i < members.size(); ++i) {
    const std::string field = absl::StrCat(path, "[", i, "]");
    const auto user = users.find(members[i]);
    if (user == users.end()) {
      violations.Add(field, absl::StrCat("no user '", members[i], "'"));
    } else if (!user->second.empty()) {
      violations.Add(
          field, absl::StrCat("user '", members[i], "' is a partner user; members are employees"));
    }
  }
  return violations.ToStatus();
}

absl::Status AlreadyExists(const std::string& kind, const std::string& id) {
  return absl::AlreadyExistsError(absl::StrCat(kind, " '", id, "' already exists"));
}

absl::Status NotFound(const std::string& kind, const std::string& id) {
  return absl::NotFoundError(absl::StrCat(kind, " '", id, "' not found"));
}

// The same for a customer that does not exist and one the caller cannot see.
absl::Status CustomerNotFound(const std::string& customer_id) {
  return NotFound("customer", customer_id);
}

std::string AccessName(v1::ShareAccess access) {
  return access == v1::SHARE_ACCESS_EDIT ? "edit" : "read";
}

}  // namespace

absl::Status RequirePermission(const RequestContext& caller, v1::Permission permission) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  return scope->Require(permission);
}

absl::Status RequireEmployee(const RequestContext& caller) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  for (const std::string& grantee : scope->proto().grantees()) {
    if (grantee.starts_with(PartnerGrantee(""))) {
      return absl::PermissionDeniedError("partner users cannot read the organisation");
    }
  }
  return absl::OkStatus();
}

OrgManager::OrgManager(pg::Pool* pool, OrgOptions options)
    : pool_(pool), options_(std::move(options)) {}

absl::Status OrgManager::Commit(const RequestContext& caller, bool scopes_changed,
                                const std::function<absl::Status(pqxx::work&)>& change) {
  TL_RETURN_IF_ERROR(pool_->Transact(change));
  if (options_.on_events) options_.on_events();
  if (scopes_changed && options_.invalidate_scopes) {
    options_.invalidate_scopes(caller.tenant_id, {});
  }
  return absl::OkStatus();
}

absl::Status OrgManager::Read(const std::function<absl::Status(pqxx::nontransaction&)>& read) {
  return pool_->Query(read);
}

// --- Roles ---

absl::StatusOr<v1::Role> OrgManager::CreateRole(const RequestContext& caller,
                                                const v1::CreateRoleRequest& request) {
  TL_RETURN_IF_ERROR(RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  v1::Role role = request.role();
  TL_RETURN_IF_ERROR(CheckRole(role, {}));
  std::optional<v1::Role> created;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](pqxx::work& txn) {
    if (!InsertRole(txn, caller.tenant_id, role, options_.clock())) {
      return AlreadyExists("role", role.role_id());
    }
    created = RoleById(txn, caller.tenant_id, role.role_id());
    PublishScopesInvalidated(txn, caller, "role", role.role_id());
    Audit(txn, caller, "role.created", "role", role.role_id());
    return absl::OkStatus();
  }));
  return *std::move(created);
}

absl::StatusOr<v1::ListRolesResponse> OrgManager::ListRoles(const RequestContext& caller) {
  TL_RETURN_IF_ERROR(RequireEmployee(caller));
  v1::ListRolesResponse response;
  TL_RETURN_IF_ERROR(Read([&](pqxx::nontransaction& txn) {
    for (v1::Role& role : permissions::ListRoles(txn, caller.tenant_id)) {
      *response.add_roles() = std::move(role);
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<v1::Role> OrgManager::UpdateRole(const RequestContext& caller,
                                                const v1::UpdateRoleRequest& request) {
  TL_RETURN_IF_ERROR(RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  TL_ASSIGN_OR_RETURN(
      const std::set<std::string> fields,
      UpdatedFields(request.update_mask(), {"display_name", "rank", "data_scope", "permissions"}));
  v1::Role change = request.role();
  TL_RETURN_IF_ERROR(CheckRole(change, fields));
  std::optional<v1::Role> updated;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](pqxx::work& txn) -> absl::Status {
    std::optional<v1::Role> role = RoleById(txn, caller.tenant_id, change.role_id(), true);
    if (!role) return NotFound("role", change.role_id());
    if (fields.contains("display_name")) role->set_display_name(change.display_name());
    if (fields.contains("rank")) role->set_rank(change.rank());
    if (fields.contains("permissions")) *role->mutable_permissions() = change.permissions();
    if (fields.contains("data_scope") && change.data_scope() != role->data_scope()) {
      const bool was_shared = role->data_scope() == v1::DATA_SCOPE_SHARED;
      const bool is_shared = change.data_scope() == v1::DATA_SCOPE_SHARED;
      if (was_shared != is_shared) {
        // Partner users need a SHARED role and employees another one (see User.role_id).
        const RoleHolders holders = CountRoleHolders(txn, caller.tenant_id, role->role_id());
        const int64_t mismatched = is_shared ? holders.employees : holders.partner_users;
        if (mismatched > 0) {
          return absl::FailedPreconditionError(
              absl::StrCat("role '", role->role_id(), "' is held by ", mismatched,
                           is_shared ? " employee(s)" : " partner user(s)", ", who need a role ",
                           is_shared ? "of another data scope" : "of DATA_SCOPE_SHARED"));
        }
      }
      role->set_data_scope(change.data_scope());
    }
    permissions::UpdateRole(txn, caller.tenant_id, *role, options_.clock());
    updated = RoleById(txn, caller.tenant_id, role->role_id());
    PublishScopesInvalidated(txn, caller, "role", role->role_id());
    Audit(txn, caller, "role.updated", "role", role->role_id(), fields);
    return absl::OkStatus();
  }));
  return *std::move(updated);
}

// --- Territories ---

absl::StatusOr<v1::Territory> OrgManager::CreateTerritory(
    const RequestContext& caller, const v1::CreateTerritoryRequest& request) {
  TL_RETURN_IF_ERROR(RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  v1::Territory territory = request.territory();
  TL_RETURN_IF_ERROR(CheckTerritory(territory, {}));
  std::optional<v1::Territory> created;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](pqxx::work& txn) {
    TL_RETURN_IF_ERROR(CheckMembers(txn, caller.tenant_id, territory.member_user_ids(),
                                    "territory.member_user_ids"));
    if (!InsertTerritory(txn, caller.tenant_id, territory, options_.clock())) {
      return AlreadyExists("territory", territory.territory_id());
    }
    created = FindTerritory(txn, caller.tenant_id, territory.territory_id());
    PublishScopesInvalidated(txn, caller, "territory", territory.territory_id());
    Audit(txn, caller, "territory.created", "territory", territory.territory_id());
    return absl::OkStatus();
  }));
  return *std::move(created);
}

absl::StatusOr<v1::ListTerritoriesResponse> OrgManager::ListTerritories(
    const RequestContext& caller) {
  TL_RETURN_IF_ERROR(RequireEmployee(caller));
  v1::ListTerritoriesResponse response;
  TL_RETURN_IF_ERROR(Read([&](pqxx::nontransaction& txn) {
    for (v1::Territory& territory : permissions::ListTerritories(txn, caller.tenant_id)) {
      *response.add_territories() = std::move(territory);
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<v1::Territory> OrgManager::UpdateTerritory(
    const RequestContext& caller, const v1::UpdateTerritoryRequest& request) {
  TL_RETURN_IF_ERROR(RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  TL_ASSIGN_OR_RETURN(
      const std::set<std::string> fields,
      UpdatedFields(request.update_mask(), {"display_name", "regions", "member_user_ids"}));
  v1::Territory change = request.territory();
  TL_RETURN_IF_ERROR(CheckTerritory(change, fields));
  std::optional<v1::Territory> updated;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](pqxx::work& txn) -> absl::Status {
    std::optional<v1::Territory> territory =
        FindTerritory(txn, caller.tenant_id, change.territory_id(), true);
    if (!territory) return NotFound("territory", change.territory_id());
    if (fields.contains("display_name")) territory->set_display_name(change.display_name());
    if (fields.contains("regions")) *territory->mutable_regions() = change.regions();
    if (fields.contains("member_user_ids")) {
      TL_RETURN_IF_ERROR(CheckMembers(txn, caller.tenant_id, change.member_user_ids(),
                                      "territory.member_user_ids"));
      *territory->mutable_member_user_ids() = change.member_user_ids();
    }
    permissions::UpdateTerritory(txn, caller.tenant_id, *territory, options_.clock());
    updated = FindTerritory(txn, caller.tenant_id, territory->territory_id());
    PublishScopesInvalidated(txn, caller, "territory", territory->territory_id());
    Audit(txn, caller, "territory.updated", "territory", territory->territory_id(), fields);
    return absl::OkStatus();
  }));
  return *std::move(updated);
}

// --- Teams ---

absl::StatusOr<v1::Team> OrgManager::CreateTeam(const RequestContext& caller,
                                                const v1::CreateTeamRequest& request) {
  TL_RETURN_IF_ERROR(RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  v1::Team team = request.team();
  TL_RETURN_IF_ERROR(CheckTeam(team, {}));
  std::optional<v1::Team> created;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](pqxx::work& txn) {
    TL_RETURN_IF_ERROR(
        CheckMembers(txn, caller.tenant_id, team.member_user_ids(), "team.member_user_ids"));
    if (!InsertTeam(txn, caller.tenant_id, team, options_.clock())) {
      return AlreadyExists("team", team.team_id());
    }
    created = FindTeam(txn, caller.tenant_id, team.team_id());
    PublishScopesInvalidated(txn, caller, "team", team.team_id());
    Audit(txn, caller, "team.created", "team", team.team_id());
    return absl::OkStatus();
  }));
  return *std::move(created);
}

absl::StatusOr<v1::ListTeamsResponse> OrgManager::ListTeams(const RequestContext& caller) {
  TL_RETURN_IF_ERROR(RequireEmployee(caller));
  v1::ListTeamsResponse response;
  TL_RETURN_IF_ERROR(Read([&](pqxx::nontransaction& txn) {
    for (v1::Team& team : permissions::ListTeams(txn, caller.tenant_id)) {
      *response.add_teams() = std::move(team);
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<v1::Team> OrgManager::UpdateTeam(const RequestContext& caller,
                                                const v1::UpdateTeamRequest& request) {
  TL_RETURN_IF_ERROR(RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  TL_ASSIGN_OR_RETURN(const std::set<std::string> fields,
                      UpdatedFields(request.update_mask(), {"display_name", "member_user_ids"}));
  v1::Team change = request.team();
  TL_RETURN_IF_ERROR(CheckTeam(change, fields));
  std::optional<v1::Team> updated;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](pqxx::work& txn) -> absl::Status {
    std::optional<v1::Team> team = FindTeam(txn, caller.tenant_id, change.team_id(), true);
    if (!team) return NotFound("team", change.team_id());
    if (fields.contains("display_name")) team->set_display_name(change.display_name());
    if (fields.contains("member_user_ids")) {
      TL_RETURN_IF_ERROR(
          CheckMembers(txn, caller.tenant_id, change.member_user_ids(), "team.member_user_ids"));
      *team->mutable_member_user_ids() = change.member_user_ids();
    }
    permissions::UpdateTeam(txn, caller.tenant_id, *team, options_.clock());
    updated = FindTeam(txn, caller.tenant_id, team->team_id());
    PublishScopesInvalidated(txn, caller, "team", team->team_id());
    Audit(txn, caller, "team.updated", "team", team->team_id(), fields);
    return absl::OkStatus();
  }));
  return *std::move(updated);
}

// --- Partner organisations ---

absl::StatusOr<v1::PartnerOrganization> OrgManager::CreatePartnerOrganization(
    const RequestContext& caller, const v1::CreatePartnerOrganizationRequest& request) {
  TL_RETURN_IF_ERROR(RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  v1::PartnerOrganization partner = request.partner_organization();
  TL_RETURN_IF_ERROR(CheckPartnerOrganization(partner));
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](pqxx::work& txn) {
    if (!InsertPartnerOrganization(txn, caller.tenant_id, partner, options_.clock())) {
      return AlreadyExists("partner organization", partner.partner_org_id());
    }
    PublishScopesInvalidated(txn, caller, "partner_organization", partner.partner_org_id());
    Audit(txn, caller, "partner_organization.created", "partner_organization",
          partner.partner_org_id());
    return absl::OkStatus();
  }));
  return partner;
}

absl::StatusOr<v1::ListPartnerOrganizationsResponse> OrgManager::ListPartnerOrganizations(
    const RequestContext& caller) {
  TL_RETURN_IF_ERROR(RequireEmployee(caller));
  v1::ListPartnerOrganizationsResponse response;
  TL_RETURN_IF_ERROR(Read([&](pqxx::nontransaction& txn) {
    for (v1::PartnerOrganization& partner :
         permissions::ListPartnerOrganizations(txn, caller.tenant_id)) {
      *response.add_partner_organizations() = std::move(partner);
    }
    return absl::OkStatus();
  }));
  return response;
}

// --- Field policies ---

absl::StatusOr<v1::FieldPolicy> OrgManager::SetFieldPolicy(
    const RequestContext& caller, const v1::SetFieldPolicyRequest& request) {
  TL_RETURN_IF_ERROR(RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  const v1::FieldPolicy& policy = request.policy();
  TL_RETURN_IF_ERROR(CheckFieldPolicy(policy));
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](pqxx::work& txn) {
    if (!RoleById(txn, caller.tenant_id, policy.role_id(), true)) {
      return status::InvalidArgument("policy.role_id",
                                     absl::StrCat("no role '", policy.role_id(), "'"));
    }
    UpsertFieldPolicy(txn, caller.tenant_id, policy);
    PublishScopesInvalidated(txn, caller, "field_policy", policy.role_id());
    Audit(txn, caller, "field_policy.set", "role", policy.role_id(),
          {absl::StrCat(policy.resource(), ".", policy.field_path())},
          absl::StrCat(v1::FieldAccess_Name(policy.access()),
                       policy.mask() == v1::MASK_PATTERN_UNSPECIFIED
                           ? ""
                           : absl::StrCat(" ", v1::MaskPattern_Name(policy.mask()))));
    return absl::OkStatus();
  }));
  return policy;
}

absl::Status OrgManager::DeleteFieldPolicy(const RequestContext& caller,
                                           const v1::DeleteFieldPolicyRequest& request) {
  TL_RETURN_IF_ERROR(RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  TL_RETURN_IF_ERROR(CheckFieldPolicyKey(request));
  return Commit(caller, true, [&](pqxx::work& txn) {
    if (!permissions::DeleteFieldPolicy(txn, caller.tenant_id, request.role_id(),
                                        request.resource(), request.field_path())) {
      return absl::NotFoundError(absl::StrCat("role '", request.role_id(), "' has no policy for ",
                                              request.resource(), " ", request.field_path()));
    }
    PublishScopesInvalidated(txn, caller, "field_policy", request.role_id());
    Audit(txn, caller, "field_policy.deleted", "role", request.role_id(),
          {absl::StrCat(request.resource(), ".", request.field_path())});
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::ListFieldPoliciesResponse> OrgManager::ListFieldPolicies(
    const RequestContext& caller, const v1::ListFieldPoliciesRequest& request) {
  TL_RETURN_IF_ERROR(RequireEmployee(caller));
  v1::ListFieldPoliciesResponse response;
  TL_RETURN_IF_ERROR(Read([&](pqxx::nontransaction& txn) {
    for (v1::FieldPolicy& policy :
         permissions::ListFieldPolicies(txn, caller.tenant_id, request.role_id())) {
      *response.add_policies() = std::move(policy);
    }
    return absl::OkStatus();
  }));
  return response;
}

// --- Shares ---

absl::StatusOr<v1::CustomerShare> OrgManager::ShareCustomer(
    const RequestContext& caller, const v1::ShareCustomerRequest& request) {
  v1::CustomerShare share = request.share();
  TL_RETURN_IF_ERROR(CheckShare(share, true));
  return ChangeShare(caller, std::move(share), true);
}

absl::Status OrgManager::UnshareCustomer(const RequestContext& caller,
                                         const v1::UnshareCustomerRequest& request) {
  v1::CustomerShare share = request.share();
  TL_RETURN_IF_ERROR(CheckShare(share, false));
  return ChangeShare(caller, std::move(share), false).status();
}

absl::StatusOr<v1::CustomerShare> OrgManager::ChangeShare(const RequestContext& caller,
                                                          v1::CustomerShare share, bool grant) {
  TL_RETURN_IF_ERROR(RequirePermission(caller, v1::PERMISSION_CUSTOMERS_WRITE));
  const auth::Scope& scope = **auth::ScopeOf(caller);
  const std::string& tenant = caller.tenant_id;
  const std::string grantee = auth::GranteeOf(share);
  if (options_.customers != nullptr) {
    TL_RETURN_IF_ERROR(
        LearnUnknownCustomer(*pool_, *options_.customers, caller, share.customer_id()));
  }
  v1::CustomerShare stored;
  TL_RETURN_IF_ERROR(Commit(caller, false, [&](pqxx::work& txn) -> absl::Status {
    // First, so changes of one customer's shares queue up here and publish in order.
    const int64_t version = BumpShareVersion(txn, tenant, share.customer_id());
    const std::optional<KnownCustomer> customer = FindCustomer(txn, tenant, share.customer_id());
    if (!customer || !scope.Allows(auth::Access::kRead, customer->attributes)) {
      return CustomerNotFound(share.customer_id());
    }
    if (!scope.Allows(auth::Access::kWrite, customer->attributes)) {
      return absl::PermissionDeniedError(
          absl::StrCat("no write access to customer ", share.customer_id()));
    }
    if (customer->state == cv1::CUSTOMER_STATE_MERGED) {
      return absl::FailedPreconditionError(absl::StrCat(
          "customer ", share.customer_id(), " was merged; share the customer it was merged into"));
    }
    if (grant) {
      if (share.grantee_case() == v1::CustomerShare::kTeamId &&
          !FindTeam(txn, tenant, share.team_id())) {
        return status::InvalidArgument("share.team_id",
                                       absl::StrCat("no team '", share.team_id(), "'"));
      }
      if (share.grantee_case() == v1::CustomerShare::kPartnerOrgId &&
          !PartnerOrgExists(txn, tenant, share.partner_org_id())) {
        return status::InvalidArgument(
            "share.partner_org_id",
            absl::StrCat("no partner organization '", share.partner_org_id(), "'"));
      }
      UpsertShare(txn, tenant, share, caller.caller_id, options_.clock());
    } else if (!permissions::DeleteShare(txn, tenant, share.customer_id(), grantee)) {
      return absl::NotFoundError(
          absl::StrCat("customer ", share.customer_id(), " is not shared with ", grantee));
    }
    ev::CustomerSharesChanged changed;
    changed.set_customer_id(share.customer_id());
    changed.set_version(version);
    for (v1::CustomerShare& current : ListShares(txn, tenant, share.customer_id())) {
      if (auth::GranteeOf(current) == grantee) stored = current;
      *changed.add_shares() = std::move(current);
    }
    events::AppendToOutbox(
        txn, kPermissionsTopic,
        events::MakeEnvelope(changed, tenant, "customer_shares", share.customer_id(),
                             caller.request_id, caller.caller_id));
    Audit(txn, caller, grant ? "customer.shared" : "customer.unshared", "customer",
          share.customer_id(), {},
          grant ? absl::StrCat(grantee, " ", AccessName(share.access())) : grantee);
    return absl::OkStatus();
  }));
  return stored;
}

absl::StatusOr<v1::ListCustomerSharesResponse> OrgManager::ListCustomerShares(
    const RequestContext& caller, const v1::ListCustomerSharesRequest& request) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  std::string customer_id = request.customer_id();
  TL_RETURN_IF_ERROR(CheckCustomerId(customer_id, "customer_id"));
  const bool partner = !RequireEmployee(caller).ok();
  v1::ListCustomerSharesResponse response;
  TL_RETURN_IF_ERROR(Read([&](pqxx::nontransaction& txn) -> absl::Status {
    const std::optional<KnownCustomer> customer = FindCustomer(txn, caller.tenant_id, customer_id);
    if (!customer || !scope->Allows(auth::Access::kRead, customer->attributes)) {
      return CustomerNotFound(customer_id);
    }
    const auto& own = scope->proto().grantees();
    for (v1::CustomerShare& share : ListShares(txn, caller.tenant_id, customer_id)) {
      if (partner && std::find(own.begin(), own.end(), auth::GranteeOf(share)) == own.end())
        continue;
      *response.add_shares() = std::move(share);
    }
    return absl::OkStatus();
  }));
  return response;
}

}  // namespace touchline::permissions
