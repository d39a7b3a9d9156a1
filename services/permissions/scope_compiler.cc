#include "services/permissions/scope_compiler.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "services/permissions/org/pg_org_store.h"

namespace touchline::permissions {
namespace {

using ::google::protobuf::util::TimeUtil;

// What partner users see masked unless a policy of their role names the path: every contact
// point of a customer (touchline.type.v1 PhoneNumber, EmailAddress, PostalAddress,
// MessagingAccount). Touchpoints hold none (participants are users, contact persons ids).
struct PartnerDefault {
  const char* field_path;
  v1::MaskPattern mask;
};
constexpr PartnerDefault kPartnerMasks[] = {
    {"contact_persons.phones", v1::MASK_PATTERN_PHONE},
    {"contact_persons.emails", v1::MASK_PATTERN_EMAIL},
    {"contact_persons.addresses", v1::MASK_PATTERN_PARTIAL},
    {"contact_persons.messaging_accounts", v1::MASK_PATTERN_PARTIAL},
    {"addresses", v1::MASK_PATTERN_PARTIAL},
};

void AddRule(v1::EffectiveScope& scope, const std::string& resource, const std::string& field_path,
             v1::FieldAccess access, v1::MaskPattern mask) {
  v1::FieldRule* rule = scope.add_field_rules();
  rule->set_resource(resource);
  rule->set_field_path(field_path);
  rule->set_access(access);
  rule->set_mask(mask);
}

absl::Status FieldRules(PgOrgRows& org, const Principal& principal, v1::EffectiveScope& scope) {
  absl::flat_hash_set<std::string> customer_policies;
  TL_ASSIGN_OR_RETURN(const std::vector<v1::FieldPolicy> policies,
                      org.ListFieldPolicies(principal.tenant_id, principal.role_id));
  for (const v1::FieldPolicy& policy : policies) {
    if (policy.resource() == auth::kCustomerResource) {
      customer_policies.insert(policy.field_path());
    }
    if (policy.access() == v1::FIELD_ACCESS_EDITABLE) continue;
    AddRule(scope, policy.resource(), policy.field_path(), policy.access(), policy.mask());
  }
  if (!principal.partner_org_id.empty()) {
    for (const PartnerDefault& masked : kPartnerMasks) {
      if (customer_policies.contains(masked.field_path)) continue;
      AddRule(scope, auth::kCustomerResource, masked.field_path, v1::FIELD_ACCESS_MASKED,
              masked.mask);
    }
  }
  std::sort(scope.mutable_field_rules()->begin(), scope.mutable_field_rules()->end(),
            [](const v1::FieldRule& a, const v1::FieldRule& b) {
              return std::tie(a.resource(), a.field_path()) <
                     std::tie(b.resource(), b.field_path());
            });
  return absl::OkStatus();
}

}  // namespace

ScopeCompiler::ScopeCompiler(pg::Pool* pool, ScopeCompilerOptions options)
    : pool_(pool), options_(std::move(options)) {}

absl::StatusOr<std::shared_ptr<const auth::Scope>> ScopeCompiler::Compile(
    const Principal& principal) const {
  std::shared_ptr<const auth::Scope> scope;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(scope, Compile(txn, principal));
    return absl::OkStatus();
  }));
  return scope;
}

absl::StatusOr<std::shared_ptr<const auth::Scope>> ScopeCompiler::Compile(
    pqxx::transaction_base& txn, const Principal& principal) const {
  PgOrgRows org(txn);
  absl::StatusOr<std::shared_ptr<const auth::Scope>> scope = Compile(org, principal);
  TL_RETURN_IF_ERROR(org.Finish(scope.status()));
  return scope;
}

absl::StatusOr<std::shared_ptr<const auth::Scope>> ScopeCompiler::Compile(
    PgOrgRows& org, const Principal& principal) const {
  TL_ASSIGN_OR_RETURN(const std::optional<v1::Role> role,
                      org.FindRole(principal.tenant_id, principal.role_id, OrgLock::kNone));
  if (!role) {
    return absl::FailedPreconditionError(absl::StrCat("role '", principal.role_id, "' of user ",
                                                      principal.user_id, " does not exist"));
  }
  v1::EffectiveScope scope;
  scope.set_tenant_id(principal.tenant_id);
  scope.set_principal_kind(principal.kind);
  scope.set_user_id(principal.user_id);
  scope.set_session_id(principal.session_id);
  scope.set_role_id(role->role_id());
  scope.set_rank(role->rank());
  for (const int permission : role->permissions()) {
    if (principal.is_api_key &&
        std::find(principal.key_permissions.begin(), principal.key_permissions.end(), permission) ==
            principal.key_permissions.end()) {
      continue;
    }
    scope.add_permissions(static_cast<v1::Permission>(permission));
  }
  switch (role->data_scope()) {
    case v1::DATA_SCOPE_TENANT:
      scope.set_all_customers(true);
      // Below the VIP rank, the tenant is every customer but the VIP ones: those the user's
      // reporting line owns it still sees.
      if (role->rank() < auth::kVipMinRank) {
        TL_ASSIGN_OR_RETURN(std::vector<std::string> owners,
                            org.UserAndReports(principal.tenant_id, principal.user_id));
        for (std::string& owner : owners) scope.add_owner_ids(std::move(owner));
      }
      break;
    case v1::DATA_SCOPE_TERRITORY: {
      TL_ASSIGN_OR_RETURN(std::vector<std::string> regions,
                          org.RegionsOfMember(principal.tenant_id, principal.user_id));
      for (std::string& region : regions) scope.add_regions(std::move(region));
    }
      [[fallthrough]];
    case v1::DATA_SCOPE_OWNED: {
      TL_ASSIGN_OR_RETURN(std::vector<std::string> owners,
                          org.UserAndReports(principal.tenant_id, principal.user_id));
      for (std::string& owner : owners) scope.add_owner_ids(std::move(owner));
      break;
    }
    default:  // DATA_SCOPE_SHARED: only what is shared.
      break;
  }
  TL_ASSIGN_OR_RETURN(const std::vector<std::string> teams,
                      org.TeamsOfMember(principal.tenant_id, principal.user_id));
  for (const std::string& team : teams) {
    scope.add_grantees(TeamGrantee(team));
  }
  if (!principal.partner_org_id.empty()) {
    scope.add_grantees(PartnerGrantee(principal.partner_org_id));
  }
  scope.set_vip_visible(role->rank() >= auth::kVipMinRank);
  TL_RETURN_IF_ERROR(FieldRules(org, principal, scope));
  const absl::Time expire =
      std::min(options_.clock() + options_.max_scope_age, principal.expire_time);
  *scope.mutable_expire_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(expire));
  // Resolves default masks and checks every rule, so what is handed out always compiles.
  return auth::Scope::Compile(std::move(scope));
}

}  // namespace touchline::permissions
