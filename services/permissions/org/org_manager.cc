#include "services/permissions/org/org_manager.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "services/permissions/customer_read_model.h"
#include "services/permissions/org/org_store.h"
#include "services/permissions/org/org_validation.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::permissions {
namespace {

namespace ev = ::touchline::events::v1;
namespace cv1 = ::touchline::contacts::v1;
using auth::RequestContext;

// Tells every service to drop the tenant's cached scopes: `aggregate_type` changed.
absl::Status PublishScopesInvalidated(OrgTransaction& txn, const RequestContext& caller,
                                      const std::string& aggregate_type,
                                      const std::string& aggregate_id) {
  return txn.Publish(events::kPermissionsTopic,
                     events::MakeEnvelope(ev::ScopesInvalidated(), caller.tenant_id, aggregate_type,
                                          aggregate_id, caller.request_id, caller.caller_id));
}

// Appends the audit entry of a change by `caller`. Last in a transaction: it holds the
// tenant's chain head until the commit.
absl::Status Audit(OrgTransaction& txn, const RequestContext& caller, const std::string& action,
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
  return txn.AppendAudit(caller.tenant_id, std::move(event));
}

// The members of a territory or team must be employees of the tenant.
absl::Status CheckMembers(OrgReader& txn, const std::string& tenant,
                          const google::protobuf::RepeatedPtrField<std::string>& members,
                          const std::string& path) {
  TL_ASSIGN_OR_RETURN(const auto users,
                      txn.PartnerOrgsOfUsers(tenant, {members.begin(), members.end()}));
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

absl::Status RequireEmployee(const RequestContext& caller) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  for (const std::string& grantee : scope->proto().grantees()) {
    if (grantee.starts_with(PartnerGrantee(""))) {
      return absl::PermissionDeniedError("partner users cannot read the organisation");
    }
  }
  return absl::OkStatus();
}

OrgManager::OrgManager(OrgStore* store, OrgOptions options)
    : store_(store), options_(std::move(options)) {}

absl::Status OrgManager::Commit(const RequestContext& caller, bool scopes_changed,
                                const std::function<absl::Status(OrgTransaction&)>& change) {
  TL_RETURN_IF_ERROR(store_->Transact(change));
  if (options_.on_events) options_.on_events();
  if (scopes_changed && options_.invalidate_scopes) {
    options_.invalidate_scopes(caller.tenant_id, {});
  }
  return absl::OkStatus();
}

absl::Status OrgManager::Read(const std::function<absl::Status(OrgReader&)>& read) {
  return store_->Read(read);
}

// --- Roles ---

absl::StatusOr<v1::Role> OrgManager::CreateRole(const RequestContext& caller,
                                                const v1::CreateRoleRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  v1::Role role = request.role();
  TL_RETURN_IF_ERROR(CheckRole(role, {}));
  std::optional<v1::Role> created;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](OrgTransaction& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(const bool inserted,
                        txn.InsertRole(caller.tenant_id, role, options_.clock()));
    if (!inserted) return AlreadyExists("role", role.role_id());
    TL_ASSIGN_OR_RETURN(created, txn.FindRole(caller.tenant_id, role.role_id(), OrgLock::kNone));
    TL_RETURN_IF_ERROR(PublishScopesInvalidated(txn, caller, "role", role.role_id()));
    TL_RETURN_IF_ERROR(Audit(txn, caller, "role.created", "role", role.role_id()));
    return absl::OkStatus();
  }));
  return *std::move(created);
}

absl::StatusOr<v1::ListRolesResponse> OrgManager::ListRoles(const RequestContext& caller) {
  TL_RETURN_IF_ERROR(RequireEmployee(caller));
  v1::ListRolesResponse response;
  TL_RETURN_IF_ERROR(Read([&](OrgReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(std::vector<v1::Role> roles, txn.ListRoles(caller.tenant_id));
    for (v1::Role& role : roles) {
      *response.add_roles() = std::move(role);
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<v1::Role> OrgManager::UpdateRole(const RequestContext& caller,
                                                const v1::UpdateRoleRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  TL_ASSIGN_OR_RETURN(
      const std::set<std::string> fields,
      UpdatedFields(request.update_mask(), {"display_name", "rank", "data_scope", "permissions"}));
  v1::Role change = request.role();
  TL_RETURN_IF_ERROR(CheckRole(change, fields));
  std::optional<v1::Role> updated;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](OrgTransaction& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(std::optional<v1::Role> role,
                        txn.FindRole(caller.tenant_id, change.role_id(), OrgLock::kForUpdate));
    if (!role) return NotFound("role", change.role_id());
    if (fields.contains("display_name")) role->set_display_name(change.display_name());
    if (fields.contains("rank")) role->set_rank(change.rank());
    if (fields.contains("permissions")) *role->mutable_permissions() = change.permissions();
    if (fields.contains("data_scope") && change.data_scope() != role->data_scope()) {
      const bool was_shared = role->data_scope() == v1::DATA_SCOPE_SHARED;
      const bool is_shared = change.data_scope() == v1::DATA_SCOPE_SHARED;
      if (was_shared != is_shared) {
        // Partner users need a SHARED role and employees another one (see User.role_id).
        TL_ASSIGN_OR_RETURN(const RoleHolders holders,
                            txn.CountRoleHolders(caller.tenant_id, role->role_id()));
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
    TL_RETURN_IF_ERROR(txn.UpdateRole(caller.tenant_id, *role, options_.clock()));
    TL_ASSIGN_OR_RETURN(updated, txn.FindRole(caller.tenant_id, role->role_id(), OrgLock::kNone));
    TL_RETURN_IF_ERROR(PublishScopesInvalidated(txn, caller, "role", role->role_id()));
    TL_RETURN_IF_ERROR(Audit(txn, caller, "role.updated", "role", role->role_id(), fields));
    return absl::OkStatus();
  }));
  return *std::move(updated);
}

// --- Territories ---

absl::StatusOr<v1::Territory> OrgManager::CreateTerritory(
    const RequestContext& caller, const v1::CreateTerritoryRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  v1::Territory territory = request.territory();
  TL_RETURN_IF_ERROR(CheckTerritory(territory, {}));
  std::optional<v1::Territory> created;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](OrgTransaction& txn) -> absl::Status {
    TL_RETURN_IF_ERROR(CheckMembers(txn, caller.tenant_id, territory.member_user_ids(),
                                    "territory.member_user_ids"));
    TL_ASSIGN_OR_RETURN(const bool inserted,
                        txn.InsertTerritory(caller.tenant_id, territory, options_.clock()));
    if (!inserted) return AlreadyExists("territory", territory.territory_id());
    TL_ASSIGN_OR_RETURN(
        created, txn.FindTerritory(caller.tenant_id, territory.territory_id(), OrgLock::kNone));
    TL_RETURN_IF_ERROR(
        PublishScopesInvalidated(txn, caller, "territory", territory.territory_id()));
    TL_RETURN_IF_ERROR(
        Audit(txn, caller, "territory.created", "territory", territory.territory_id()));
    return absl::OkStatus();
  }));
  return *std::move(created);
}

absl::StatusOr<v1::ListTerritoriesResponse> OrgManager::ListTerritories(
    const RequestContext& caller) {
  TL_RETURN_IF_ERROR(RequireEmployee(caller));
  v1::ListTerritoriesResponse response;
  TL_RETURN_IF_ERROR(Read([&](OrgReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(std::vector<v1::Territory> territories,
                        txn.ListTerritories(caller.tenant_id));
    for (v1::Territory& territory : territories) {
      *response.add_territories() = std::move(territory);
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<v1::Territory> OrgManager::UpdateTerritory(
    const RequestContext& caller, const v1::UpdateTerritoryRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  TL_ASSIGN_OR_RETURN(
      const std::set<std::string> fields,
      UpdatedFields(request.update_mask(), {"display_name", "regions", "member_user_ids"}));
  v1::Territory change = request.territory();
  TL_RETURN_IF_ERROR(CheckTerritory(change, fields));
  std::optional<v1::Territory> updated;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](OrgTransaction& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(
        std::optional<v1::Territory> territory,
        txn.FindTerritory(caller.tenant_id, change.territory_id(), OrgLock::kForUpdate));
    if (!territory) return NotFound("territory", change.territory_id());
    if (fields.contains("display_name")) territory->set_display_name(change.display_name());
    if (fields.contains("regions")) *territory->mutable_regions() = change.regions();
    if (fields.contains("member_user_ids")) {
      TL_RETURN_IF_ERROR(CheckMembers(txn, caller.tenant_id, change.member_user_ids(),
                                      "territory.member_user_ids"));
      *territory->mutable_member_user_ids() = change.member_user_ids();
    }
    TL_RETURN_IF_ERROR(txn.UpdateTerritory(caller.tenant_id, *territory, options_.clock()));
    TL_ASSIGN_OR_RETURN(
        updated, txn.FindTerritory(caller.tenant_id, territory->territory_id(), OrgLock::kNone));
    TL_RETURN_IF_ERROR(
        PublishScopesInvalidated(txn, caller, "territory", territory->territory_id()));
    TL_RETURN_IF_ERROR(
        Audit(txn, caller, "territory.updated", "territory", territory->territory_id(), fields));
    return absl::OkStatus();
  }));
  return *std::move(updated);
}

// --- Teams ---

absl::StatusOr<v1::Team> OrgManager::CreateTeam(const RequestContext& caller,
                                                const v1::CreateTeamRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  v1::Team team = request.team();
  TL_RETURN_IF_ERROR(CheckTeam(team, {}));
  std::optional<v1::Team> created;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](OrgTransaction& txn) -> absl::Status {
    TL_RETURN_IF_ERROR(
        CheckMembers(txn, caller.tenant_id, team.member_user_ids(), "team.member_user_ids"));
    TL_ASSIGN_OR_RETURN(const bool inserted,
                        txn.InsertTeam(caller.tenant_id, team, options_.clock()));
    if (!inserted) return AlreadyExists("team", team.team_id());
    TL_ASSIGN_OR_RETURN(created, txn.FindTeam(caller.tenant_id, team.team_id(), OrgLock::kNone));
    TL_RETURN_IF_ERROR(PublishScopesInvalidated(txn, caller, "team", team.team_id()));
    TL_RETURN_IF_ERROR(Audit(txn, caller, "team.created", "team", team.team_id()));
    return absl::OkStatus();
  }));
  return *std::move(created);
}

absl::StatusOr<v1::ListTeamsResponse> OrgManager::ListTeams(const RequestContext& caller) {
  TL_RETURN_IF_ERROR(RequireEmployee(caller));
  v1::ListTeamsResponse response;
  TL_RETURN_IF_ERROR(Read([&](OrgReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(std::vector<v1::Team> teams, txn.ListTeams(caller.tenant_id));
    for (v1::Team& team : teams) {
      *response.add_teams() = std::move(team);
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<v1::Team> OrgManager::UpdateTeam(const RequestContext& caller,
                                                const v1::UpdateTeamRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  TL_ASSIGN_OR_RETURN(const std::set<std::string> fields,
                      UpdatedFields(request.update_mask(), {"display_name", "member_user_ids"}));
  v1::Team change = request.team();
  TL_RETURN_IF_ERROR(CheckTeam(change, fields));
  std::optional<v1::Team> updated;
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](OrgTransaction& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(std::optional<v1::Team> team,
                        txn.FindTeam(caller.tenant_id, change.team_id(), OrgLock::kForUpdate));
    if (!team) return NotFound("team", change.team_id());
    if (fields.contains("display_name")) team->set_display_name(change.display_name());
    if (fields.contains("member_user_ids")) {
      TL_RETURN_IF_ERROR(
          CheckMembers(txn, caller.tenant_id, change.member_user_ids(), "team.member_user_ids"));
      *team->mutable_member_user_ids() = change.member_user_ids();
    }
    TL_RETURN_IF_ERROR(txn.UpdateTeam(caller.tenant_id, *team, options_.clock()));
    TL_ASSIGN_OR_RETURN(updated, txn.FindTeam(caller.tenant_id, team->team_id(), OrgLock::kNone));
    TL_RETURN_IF_ERROR(PublishScopesInvalidated(txn, caller, "team", team->team_id()));
    TL_RETURN_IF_ERROR(Audit(txn, caller, "team.updated", "team", team->team_id(), fields));
    return absl::OkStatus();
  }));
  return *std::move(updated);
}

// --- Partner organisations ---

absl::StatusOr<v1::PartnerOrganization> OrgManager::CreatePartnerOrganization(
    const RequestContext& caller, const v1::CreatePartnerOrganizationRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  v1::PartnerOrganization partner = request.partner_organization();
  TL_RETURN_IF_ERROR(CheckPartnerOrganization(partner));
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](OrgTransaction& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(const bool inserted,
                        txn.InsertPartnerOrganization(caller.tenant_id, partner, options_.clock()));
    if (!inserted) return AlreadyExists("partner organization", partner.partner_org_id());
    TL_RETURN_IF_ERROR(
        PublishScopesInvalidated(txn, caller, "partner_organization", partner.partner_org_id()));
    TL_RETURN_IF_ERROR(Audit(txn, caller, "partner_organization.created", "partner_organization",
                             partner.partner_org_id()));
    return absl::OkStatus();
  }));
  return partner;
}

absl::StatusOr<v1::ListPartnerOrganizationsResponse> OrgManager::ListPartnerOrganizations(
    const RequestContext& caller) {
  TL_RETURN_IF_ERROR(RequireEmployee(caller));
  v1::ListPartnerOrganizationsResponse response;
  TL_RETURN_IF_ERROR(Read([&](OrgReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(std::vector<v1::PartnerOrganization> partners,
                        txn.ListPartnerOrganizations(caller.tenant_id));
    for (v1::PartnerOrganization& partner : partners) {
      *response.add_partner_organizations() = std::move(partner);
    }
    return absl::OkStatus();
  }));
  return response;
}

// --- Field policies ---

absl::StatusOr<v1::FieldPolicy> OrgManager::SetFieldPolicy(
    const RequestContext& caller, const v1::SetFieldPolicyRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  const v1::FieldPolicy& policy = request.policy();
  TL_RETURN_IF_ERROR(CheckFieldPolicy(policy));
  TL_RETURN_IF_ERROR(Commit(caller, true, [&](OrgTransaction& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(const std::optional<v1::Role> role,
                        txn.FindRole(caller.tenant_id, policy.role_id(), OrgLock::kForUpdate));
    if (!role) {
      return status::InvalidArgument("policy.role_id",
                                     absl::StrCat("no role '", policy.role_id(), "'"));
    }
    TL_RETURN_IF_ERROR(txn.UpsertFieldPolicy(caller.tenant_id, policy));
    TL_RETURN_IF_ERROR(PublishScopesInvalidated(txn, caller, "field_policy", policy.role_id()));
    TL_RETURN_IF_ERROR(
        Audit(txn, caller, "field_policy.set", "role", policy.role_id(),
              {absl::StrCat(policy.resource(), ".", policy.field_path())},
              absl::StrCat(v1::FieldAccess_Name(policy.access()),
                           policy.mask() == v1::MASK_PATTERN_UNSPECIFIED
                               ? ""
                               : absl::StrCat(" ", v1::MaskPattern_Name(policy.mask())))));
    return absl::OkStatus();
  }));
  return policy;
}

absl::Status OrgManager::DeleteFieldPolicy(const RequestContext& caller,
                                           const v1::DeleteFieldPolicyRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  TL_RETURN_IF_ERROR(CheckFieldPolicyKey(request));
  return Commit(caller, true, [&](OrgTransaction& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(const bool deleted,
                        txn.DeleteFieldPolicy(caller.tenant_id, request.role_id(),
                                              request.resource(), request.field_path()));
    if (!deleted) {
      return absl::NotFoundError(absl::StrCat("role '", request.role_id(), "' has no policy for ",
                                              request.resource(), " ", request.field_path()));
    }
    TL_RETURN_IF_ERROR(PublishScopesInvalidated(txn, caller, "field_policy", request.role_id()));
    TL_RETURN_IF_ERROR(Audit(txn, caller, "field_policy.deleted", "role", request.role_id(),
                             {absl::StrCat(request.resource(), ".", request.field_path())}));
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::ListFieldPoliciesResponse> OrgManager::ListFieldPolicies(
    const RequestContext& caller, const v1::ListFieldPoliciesRequest& request) {
  TL_RETURN_IF_ERROR(RequireEmployee(caller));
  v1::ListFieldPoliciesResponse response;
  TL_RETURN_IF_ERROR(Read([&](OrgReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(std::vector<v1::FieldPolicy> policies,
                        txn.ListFieldPolicies(caller.tenant_id, request.role_id()));
    for (v1::FieldPolicy& policy : policies) {
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
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_CUSTOMERS_WRITE));
  const auth::Scope& scope = **auth::ScopeOf(caller);
  const std::string& tenant = caller.tenant_id;
  const std::string grantee = auth::GranteeOf(share);
  if (options_.customers != nullptr) {
    TL_RETURN_IF_ERROR(
        store_->LearnUnknownCustomer(*options_.customers, caller, share.customer_id()));
  }
  v1::CustomerShare stored;
  TL_RETURN_IF_ERROR(Commit(caller, false, [&](OrgTransaction& txn) -> absl::Status {
    // First, so changes of one customer's shares queue up here and publish in order.
    TL_ASSIGN_OR_RETURN(const int64_t version, txn.BumpShareVersion(tenant, share.customer_id()));
    TL_ASSIGN_OR_RETURN(const std::optional<KnownCustomer> customer,
                        txn.FindCustomer(tenant, share.customer_id()));
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
      if (share.grantee_case() == v1::CustomerShare::kTeamId) {
        TL_ASSIGN_OR_RETURN(const std::optional<v1::Team> team,
                            txn.FindTeam(tenant, share.team_id(), OrgLock::kNone));
        if (!team) {
          return status::InvalidArgument("share.team_id",
                                         absl::StrCat("no team '", share.team_id(), "'"));
        }
      }
      if (share.grantee_case() == v1::CustomerShare::kPartnerOrgId) {
        TL_ASSIGN_OR_RETURN(const bool exists,
                            txn.PartnerOrgExists(tenant, share.partner_org_id()));
        if (!exists) {
          return status::InvalidArgument(
              "share.partner_org_id",
              absl::StrCat("no partner organization '", share.partner_org_id(), "'"));
        }
      }
      TL_RETURN_IF_ERROR(txn.UpsertShare(tenant, share, caller.caller_id, options_.clock()));
    } else {
      TL_ASSIGN_OR_RETURN(const bool deleted,
                          txn.DeleteShare(tenant, share.customer_id(), grantee));
      if (!deleted) {
        return absl::NotFoundError(
            absl::StrCat("customer ", share.customer_id(), " is not shared with ", grantee));
      }
    }
    ev::CustomerSharesChanged changed;
    changed.set_customer_id(share.customer_id());
    changed.set_version(version);
    TL_ASSIGN_OR_RETURN(std::vector<v1::CustomerShare> shares,
                        txn.ListShares(tenant, share.customer_id()));
    for (v1::CustomerShare& current : shares) {
      if (auth::GranteeOf(current) == grantee) stored = current;
      *changed.add_shares() = std::move(current);
    }
    TL_RETURN_IF_ERROR(
        txn.Publish(events::kPermissionsTopic,
                    events::MakeEnvelope(changed, tenant, "customer_shares", share.customer_id(),
                                         caller.request_id, caller.caller_id)));
    TL_RETURN_IF_ERROR(
        Audit(txn, caller, grant ? "customer.shared" : "customer.unshared", "customer",
              share.customer_id(), {},
              grant ? absl::StrCat(grantee, " ", AccessName(share.access())) : grantee));
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
  TL_RETURN_IF_ERROR(Read([&](OrgReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(const std::optional<KnownCustomer> customer,
                        txn.FindCustomer(caller.tenant_id, customer_id));
    if (!customer || !scope->Allows(auth::Access::kRead, customer->attributes)) {
      return CustomerNotFound(customer_id);
    }
    const auto& own = scope->proto().grantees();
    TL_ASSIGN_OR_RETURN(std::vector<v1::CustomerShare> shares,
                        txn.ListShares(caller.tenant_id, customer_id));
    for (v1::CustomerShare& share : shares) {
      if (partner && std::find(own.begin(), own.end(), auth::GranteeOf(share)) == own.end())
        continue;
      *response.add_shares() = std::move(share);
    }
    return absl::OkStatus();
  }));
  return response;
}

}  // namespace touchline::permissions
