// First start of a tenant: the five conventional roles and an administrator, so someone can
// log in and set up the rest through the API.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_BOOTSTRAP_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_BOOTSTRAP_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pg/pool.h"
#include "services/permissions/identity/identity_manager.h"
#include "services/permissions/org/org_manager.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::permissions {

// rep (10, OWNED: CUSTOMERS_WRITE, TOUCHPOINTS_WRITE), team_lead (20, OWNED: + MERGE),
// regional_manager (30, TERRITORY: + MERGE), admin (40, TENANT: every permission) and
// partner (5, SHARED: TOUCHPOINTS_WRITE).
std::vector<v1::Role> ConventionalRoles();

// What Bootstrap did.
struct BootstrapResult {
  // The conventional roles it created (those the tenant lacked), by role_id.
  std::vector<std::string> roles_created;
  // The administrator's user id, and whether Bootstrap created it.
  std::string admin_user_id;
  bool admin_created = false;
};

// Creates in `tenant` every conventional role it lacks (through `org`, so each is audited
// and published like any change) and, unless a user is called `admin_username`, that user
// with role admin and `admin_password`. Idempotent: a second run changes nothing. Errors:
// INVALID_ARGUMENT for a bad tenant id, username or password; what the managers return.
absl::StatusOr<BootstrapResult> Bootstrap(pg::Pool* pool, OrgManager* org,
                                          IdentityManager* identity, const std::string& tenant,
                                          const std::string& admin_username,
                                          const std::string& admin_password);

// What the gateway reads a tenant's customer 360 views with, for the cache it shares among
// all callers: the role "gateway" (rank 100, DATA_SCOPE_TENANT, no permission beyond reading:
// it sees every customer and, with no field policy of its own, every field), the user
// "touchline-gateway" with that role (a random password nobody knows: it never logs in),
// both created when missing, and a new read-only API key of that user. Returns the key's
// secret. Errors: what the managers return.
absl::StatusOr<std::string> CreateGatewayServiceKey(pg::Pool* pool, OrgManager* org,
                                                    IdentityManager* identity,
                                                    const std::string& tenant);

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_BOOTSTRAP_H_
