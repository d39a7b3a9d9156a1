#include "common/auth/testing/trusted_authenticator.h"

#include <utility>

#include "common/auth/scope.h"

namespace touchline::auth::testing {

permissions::v1::FieldRule FieldRuleOf(std::string resource, std::string field_path,
                                       permissions::v1::FieldAccess access,
                                       permissions::v1::MaskPattern mask) {
  permissions::v1::FieldRule rule;
  rule.set_resource(std::move(resource));
  rule.set_field_path(std::move(field_path));
  rule.set_access(access);
  rule.set_mask(mask);
  return rule;
}

permissions::v1::EffectiveScope RepScope(const std::string& owner_id) {
  permissions::v1::EffectiveScope scope;
  scope.set_principal_kind(permissions::v1::PRINCIPAL_KIND_USER);
  scope.set_role_id("rep");
  scope.set_rank(10);
  scope.add_owner_ids(owner_id);
  return scope;
}

permissions::v1::EffectiveScope PartnerScope(const std::string& org) {
  permissions::v1::EffectiveScope scope;
  scope.set_user_id("u-partner");
  scope.set_role_id("partner");
  scope.set_principal_kind(permissions::v1::PRINCIPAL_KIND_PARTNER_USER);
  scope.set_rank(5);
  scope.add_grantees("partner:" + org);
  *scope.add_field_rules() =
      FieldRuleOf("customer", "contact_persons.phones", permissions::v1::FIELD_ACCESS_MASKED,
                  permissions::v1::MASK_PATTERN_PHONE);
  *scope.add_field_rules() =
      FieldRuleOf("customer", "contact_persons.emails", permissions::v1::FIELD_ACCESS_MASKED,
                  permissions::v1::MASK_PATTERN_EMAIL);
  return scope;
}

RequestContext CallerWithScope(permissions::v1::EffectiveScope scope, std::string tenant_id,
                               std::string caller_id) {
  scope.set_tenant_id(tenant_id);
  scope.set_user_id(caller_id);
  RequestContext caller;
  caller.tenant_id = std::move(tenant_id);
  caller.caller_id = std::move(caller_id);
  caller.request_id = "trace-1";
  caller.scope = Scope::Compile(std::move(scope)).value();
  return caller;
}

permissions::v1::EffectiveScope AdminScope(std::string tenant_id, std::string user_id) {
  permissions::v1::EffectiveScope scope;
  scope.set_tenant_id(std::move(tenant_id));
  scope.set_principal_kind(permissions::v1::PRINCIPAL_KIND_USER);
  scope.set_user_id(std::move(user_id));
  scope.set_session_id(kTestSessionId);
  scope.set_role_id("admin");
  scope.set_rank(40);
  for (int permission = permissions::v1::Permission_MIN + 1;
       permission <= permissions::v1::Permission_MAX; ++permission) {
    if (permissions::v1::Permission_IsValid(permission)) {
      scope.add_permissions(static_cast<permissions::v1::Permission>(permission));
    }
  }
  scope.set_all_customers(true);
  scope.set_vip_visible(true);
  return scope;
}

absl::StatusOr<RequestContext> TrustedAuthenticator::Authenticate(
    const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const {
  absl::StatusOr<RequestContext> context = metadata_.Authenticate(client_metadata);
  if (!context.ok()) return context;
  permissions::v1::EffectiveScope scope;
  {
    absl::MutexLock lock(&mu_);
    auto registered = scopes_.find(context->caller_id);
    scope = registered != scopes_.end() ? registered->second
                                        : AdminScope(context->tenant_id, context->caller_id);
  }
  scope.set_tenant_id(context->tenant_id);
  // A caller-less call still needs a user to compile; it acts as an anonymous administrator.
  scope.set_user_id(context->caller_id.empty() ? "test-user" : context->caller_id);
  absl::StatusOr<std::shared_ptr<const Scope>> compiled = Scope::Compile(std::move(scope));
  if (!compiled.ok()) return compiled.status();
  context->scope = *std::move(compiled);
  return context;
}

void TrustedAuthenticator::SetScope(std::string caller_id, permissions::v1::EffectiveScope scope) {
  absl::MutexLock lock(&mu_);
  scopes_[std::move(caller_id)] = std::move(scope);
}

}  // namespace touchline::auth::testing
