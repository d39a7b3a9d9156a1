// The callers the task tests act as, one tenant's: an administrator, reps who see the
// customers they own, a team lead whom u-rep reports to, and a member of team t-1 who sees the
// customers shared with the team.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_CALLERS_H_
#define TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_CALLERS_H_

#include <string>
#include <utility>

#include "common/auth/request_context.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::automation::testing {

inline auth::RequestContext Caller(const std::string& tenant, permissions::v1::EffectiveScope proto,
                                   std::string caller_id) {
  return auth::testing::CallerWithScope(std::move(proto), tenant, std::move(caller_id));
}

// u-admin: every customer, every permission.
inline auth::RequestContext Admin(const std::string& tenant) {
  return Caller(tenant, auth::testing::AdminScope(tenant, "u-admin"), "u-admin");
}

// A rep who sees the customers `user` owns; `write`: and may change them.
inline auth::RequestContext Rep(const std::string& tenant, const std::string& user = "u-rep",
                                bool write = true) {
  permissions::v1::EffectiveScope scope = auth::testing::RepScope(user);
  if (write) scope.add_permissions(permissions::v1::PERMISSION_CUSTOMERS_WRITE);
  return Caller(tenant, std::move(scope), user);
}

// u-lead, whom u-rep reports to: sees what both own and may change it.
inline auth::RequestContext Lead(const std::string& tenant) {
  permissions::v1::EffectiveScope scope = auth::testing::RepScope("u-lead");
  scope.set_role_id("lead");
  scope.set_rank(20);
  scope.add_owner_ids("u-rep");
  scope.add_permissions(permissions::v1::PERMISSION_CUSTOMERS_WRITE);
  return Caller(tenant, std::move(scope), "u-lead");
}

// u-team, a member of team t-1 who may change customers: sees those shared with the team.
inline auth::RequestContext TeamMember(const std::string& tenant) {
  permissions::v1::EffectiveScope scope;
  scope.set_principal_kind(permissions::v1::PRINCIPAL_KIND_USER);
  scope.set_role_id("rep");
  scope.set_rank(10);
  scope.add_grantees("team:t-1");
  scope.add_permissions(permissions::v1::PERMISSION_CUSTOMERS_WRITE);
  return Caller(tenant, std::move(scope), "u-team");
}

}  // namespace touchline::automation::testing

#endif  // TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_CALLERS_H_
