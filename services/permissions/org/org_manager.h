// The organisation model's rules: roles, territories, teams, partner organisations, field
// policies and customer shares. Each change runs in one transaction together with its audit
// entry and its events (ScopesInvalidated; CustomerSharesChanged for shares), or not at all.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_MANAGER_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_MANAGER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "common/customers/customer_directory.h"
#include "services/permissions/org/org_store.h"
#include "touchline/permissions/v1/permissions.pb.h"
#include "touchline/permissions/v1/permissions_service.pb.h"

namespace touchline::permissions {

// PERMISSION_DENIED for partner users (and their API keys): the organisation is read by
// employees only. INTERNAL "no scope" without a scope (auth::ScopeOf).
absl::Status RequireEmployee(const auth::RequestContext& caller);

// Drops cached scopes of a tenant: of `session_ids`, or all of them when it is empty.
using InvalidateScopesFn =
    std::function<void(const std::string& tenant_id, const std::vector<std::string>& session_ids)>;

struct OrgOptions {
  // What "now" is for create and update times; tests replace it.
  std::function<absl::Time()> clock = &absl::Now;
  // Called after every committed change that can alter compiled scopes, so this process
  // stops using them at once (other processes learn it from ScopesInvalidated). Optional.
  InvalidateScopesFn invalidate_scopes;
  // Called after every commit that wrote events, e.g. to wake the outbox relay. Optional.
  std::function<void()> on_events;
  // Asked, on the caller's behalf, for a customer the read model does not know yet before a
  // share of it is refused (customer_read_model.h LearnUnknownCustomer). Optional; not owned.
  customers::CustomerDirectory* customers = nullptr;
};

// Thread-safe. Changes need PERMISSION_ADMINISTER (shares: PERMISSION_CUSTOMERS_WRITE and
// write access to the customer); lists need an employee caller. Errors besides those
// documented: INVALID_ARGUMENT with field violations for bad input (org_validation.h),
// PERMISSION_DENIED as above, the mapped PostgreSQL error.
class OrgManager {
 public:
  // `store` (not owned, outlives the manager) holds the organisation model (pg_org_store.h
  // in production).
  OrgManager(OrgStore* store, OrgOptions options = {});

  // ALREADY_EXISTS for a taken role_id.
  absl::StatusOr<v1::Role> CreateRole(const auth::RequestContext& caller,
                                      const v1::CreateRoleRequest& request);
  absl::StatusOr<v1::ListRolesResponse> ListRoles(const auth::RequestContext& caller);
  // NOT_FOUND for an unknown role; FAILED_PRECONDITION when data_scope would change between
  // DATA_SCOPE_SHARED and another scope while employees (or partner users) hold the role.
  absl::StatusOr<v1::Role> UpdateRole(const auth::RequestContext& caller,
                                      const v1::UpdateRoleRequest& request);

  // Members must be employees of the tenant (INVALID_ARGUMENT naming each one that is not).
  // ALREADY_EXISTS for a taken id; NOT_FOUND updating an unknown one.
  absl::StatusOr<v1::Territory> CreateTerritory(const auth::RequestContext& caller,
                                                const v1::CreateTerritoryRequest& request);
  absl::StatusOr<v1::ListTerritoriesResponse> ListTerritories(const auth::RequestContext& caller);
  absl::StatusOr<v1::Territory> UpdateTerritory(const auth::RequestContext& caller,
                                                const v1::UpdateTerritoryRequest& request);

  absl::StatusOr<v1::Team> CreateTeam(const auth::RequestContext& caller,
                                      const v1::CreateTeamRequest& request);
  absl::StatusOr<v1::ListTeamsResponse> ListTeams(const auth::RequestContext& caller);
  absl::StatusOr<v1::Team> UpdateTeam(const auth::RequestContext& caller,
                                      const v1::UpdateTeamRequest& request);

  // ALREADY_EXISTS for a taken id.
  absl::StatusOr<v1::PartnerOrganization> CreatePartnerOrganization(
      const auth::RequestContext& caller, const v1::CreatePartnerOrganizationRequest& request);
  absl::StatusOr<v1::ListPartnerOrganizationsResponse> ListPartnerOrganizations(
      const auth::RequestContext& caller);

  // INVALID_ARGUMENT ("policy.role_id") for an unknown role.
  absl::StatusOr<v1::FieldPolicy> SetFieldPolicy(const auth::RequestContext& caller,
                                                 const v1::SetFieldPolicyRequest& request);
  // NOT_FOUND when the role has no policy for the field.
  absl::Status DeleteFieldPolicy(const auth::RequestContext& caller,
                                 const v1::DeleteFieldPolicyRequest& request);
  absl::StatusOr<v1::ListFieldPoliciesResponse> ListFieldPolicies(
      const auth::RequestContext& caller, const v1::ListFieldPoliciesRequest& request);

  // NOT_FOUND for a customer the read model does not have or the caller cannot see (the same
  // message: no existence leak); PERMISSION_DENIED without write access to it;
  // FAILED_PRECONDITION for a merged customer; INVALID_ARGUMENT for an unknown team or
  // partner organisation. Sharing again changes the access. Publishes CustomerSharesChanged
  // with every current share of the customer and a raised version.
  absl::StatusOr<v1::CustomerShare> ShareCustomer(const auth::RequestContext& caller,
                                                  const v1::ShareCustomerRequest& request);
  // As ShareCustomer; NOT_FOUND when the customer is not shared with the grantee.
  absl::Status UnshareCustomer(const auth::RequestContext& caller,
                               const v1::UnshareCustomerRequest& request);
  // The shares of a customer the caller can see (NOT_FOUND otherwise); partner users see only
  // those granted to their own organisation.
  absl::StatusOr<v1::ListCustomerSharesResponse> ListCustomerShares(
      const auth::RequestContext& caller, const v1::ListCustomerSharesRequest& request);

 private:
  // Runs `change` in one transaction. After a commit: on_events, and invalidate_scopes for
  // the tenant when `scopes_changed`.
  absl::Status Commit(const auth::RequestContext& caller, bool scopes_changed,
                      const std::function<absl::Status(OrgTransaction&)>& change);
  // Runs `read` outside a transaction (single statements, or ones that need no snapshot).
  absl::Status Read(const std::function<absl::Status(OrgReader&)>& read);
  // Changes a share (`grant` true: upsert, false: delete) and publishes the customer's shares.
  absl::StatusOr<v1::CustomerShare> ChangeShare(const auth::RequestContext& caller,
                                                v1::CustomerShare share, bool grant);

  OrgStore* const store_;
  const OrgOptions options_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_MANAGER_H_
