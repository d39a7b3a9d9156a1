#include "services/permissions/identity/testing/callers.h"

#include <cstdlib>
#include <iostream>
#include <memory>
#include <utility>

#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"

namespace touchline::permissions::testing {
namespace {

auth::RequestContext Caller(v1::EffectiveScope proto) {
  absl::StatusOr<std::shared_ptr<const auth::Scope>> scope = auth::Scope::Compile(proto);
  if (!scope.ok()) {
    // The scopes above are fixed: one that does not compile is a broken test setup.
    std::cerr << "test scope does not compile: " << scope.status() << "\n";
    std::abort();
  }
  return auth::RequestContext{.tenant_id = proto.tenant_id(),
                              .caller_id = proto.user_id(),
                              .request_id = "req-1",
                              .scope = *std::move(scope),
                              .client = "ipv4:10.0.0.1 admin-console"};
}

}  // namespace

auth::RequestContext AdminCaller(const std::string& tenant, const std::string& user_id) {
  return Caller(auth::testing::AdminScope(tenant, user_id));
}

auth::RequestContext UserCaller(const std::string& tenant, const std::string& user_id) {
  const v1::EffectiveScope admin = auth::testing::AdminScope(tenant, user_id);
  v1::EffectiveScope proto = admin;
  proto.set_role_id("rep");
  proto.clear_permissions();
  for (const int p : admin.permissions()) {
    if (p != v1::PERMISSION_ADMINISTER) proto.add_permissions(static_cast<v1::Permission>(p));
  }
  return Caller(std::move(proto));
}

}  // namespace touchline::permissions::testing
