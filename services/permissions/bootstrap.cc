#include "services/permissions/bootstrap.h"

#include <sodium.h>

#include <optional>
#include <utility>

#include "common/auth/scope.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "services/permissions/identity/password.h"
#include "services/permissions/identity/pg_identity_store.h"

namespace touchline::permissions {
namespace {

// Who the audit log names for what bootstrap does.
constexpr char kBootstrapActor[] = "bootstrap";
// The gateway's service role and user (CreateGatewayServiceKey).
constexpr char kGatewayRole[] = "gateway";
constexpr char kGatewayUser[] = "touchline-gateway";

v1::Role MakeRole(std::string id, std::string name, int rank, v1::DataScope data_scope,
                  std::vector<v1::Permission> permissions) {
  v1::Role role;
  role.set_role_id(std::move(id));
  role.set_display_name(std::move(name));
  role.set_rank(rank);
  role.set_data_scope(data_scope);
  for (const v1::Permission p : permissions) role.add_permissions(p);
  return role;
}

// The user `username` of the tenant (case-insensitively), if any.
absl::StatusOr<std::optional<UserRecord>> UserByUsername(pg::Pool* pool, const std::string& tenant,
                                                         std::string_view username) {
  PgIdentityStore store(pool);
  std::optional<UserRecord> user;
  TL_RETURN_IF_ERROR(store.Read([&](IdentityReader& rows) -> absl::Status {
    TL_ASSIGN_OR_RETURN(user, rows.FindUserByUsername(tenant, username));
    return absl::OkStatus();
  }));
  return user;
}

// Acts as an administrator of `tenant`, before any user exists.
absl::StatusOr<auth::RequestContext> BootstrapCaller(const std::string& tenant) {
  v1::EffectiveScope admin;
  admin.set_tenant_id(tenant);
  admin.set_principal_kind(v1::PRINCIPAL_KIND_USER);
  admin.set_user_id(kBootstrapActor);
  admin.set_role_id("admin");
  admin.set_rank(40);
  admin.add_permissions(v1::PERMISSION_ADMINISTER);
  admin.set_all_customers(true);
  admin.set_vip_visible(true);
  TL_ASSIGN_OR_RETURN(std::shared_ptr<const auth::Scope> scope,
                      auth::Scope::Compile(std::move(admin)));
  return auth::RequestContext{.tenant_id = tenant,
                              .caller_id = kBootstrapActor,
                              .request_id = ids::NewUuid(),
                              .scope = std::move(scope),
                              .client = "touchline-permissions --bootstrap_tenant"};
}

}  // namespace

std::vector<v1::Role> ConventionalRoles() {
  using v1::PERMISSION_CUSTOMERS_MERGE;
  using v1::PERMISSION_CUSTOMERS_WRITE;
  using v1::PERMISSION_TOUCHPOINTS_WRITE;
  return {
      MakeRole("rep", "销售代表", 10, v1::DATA_SCOPE_OWNED,
               {PERMISSION_CUSTOMERS_WRITE, PERMISSION_TOUCHPOINTS_WRITE}),
      MakeRole(
          "team_lead", "销售主管", 20, v1::DATA_SCOPE_OWNED,
          {PERMISSION_CUSTOMERS_WRITE, PERMISSION_TOUCHPOINTS_WRITE, PERMISSION_CUSTOMERS_MERGE}),
      MakeRole(
          "regional_manager", "大区经理", 30, v1::DATA_SCOPE_TERRITORY,
          {PERMISSION_CUSTOMERS_WRITE, PERMISSION_TOUCHPOINTS_WRITE, PERMISSION_CUSTOMERS_MERGE}),
      MakeRole(
          "admin", "管理员", 40, v1::DATA_SCOPE_TENANT,
          {PERMISSION_CUSTOMERS_WRITE, PERMISSION_CUSTOMERS_MERGE, PERMISSION_TOUCHPOINTS_WRITE,
           v1::PERMISSION_ADMINISTER, v1::PERMISSION_AUDIT_READ}),
      MakeRole("partner", "渠道伙伴", 5, v1::DATA_SCOPE_SHARED, {PERMISSION_TOUCHPOINTS_WRITE}),
  };
}

absl::StatusOr<BootstrapResult> Bootstrap(pg::Pool* pool, OrgManager* org,
                                          IdentityManager* identity, const std::string& tenant,
                                          const std::string& admin_username,
                                          const std::string& admin_password) {
  if (!auth::IsValidTenantId(tenant)) {
    return status::InvalidArgument("tenant", "must match [a-z0-9][a-z0-9_-]{0,62}");
  }
  // Checked before anything is written; identity checks it again with the username.
  if (const std::optional<std::string> problem = CheckPassword(admin_password)) {
    return status::InvalidArgument("password", *problem);
  }
  TL_ASSIGN_OR_RETURN(const auth::RequestContext caller, BootstrapCaller(tenant));
  BootstrapResult result;
  for (v1::Role& role : ConventionalRoles()) {
    v1::CreateRoleRequest request;
    *request.mutable_role() = std::move(role);
    absl::StatusOr<v1::Role> created = org->CreateRole(caller, request);
    if (created.ok()) {
      result.roles_created.push_back(created->role_id());
    } else if (!absl::IsAlreadyExists(created.status())) {
      return created.status();
    }
  }
  TL_ASSIGN_OR_RETURN(const std::optional<UserRecord> admin,
                      UserByUsername(pool, tenant, admin_username));
  if (admin) {
    result.admin_user_id = admin->user_id;
    return result;
  }
  v1::CreateUserRequest request;
  request.mutable_user()->set_username(admin_username);
  request.mutable_user()->set_display_name(admin_username);
  request.mutable_user()->set_role_id("admin");
  request.set_password(admin_password);
  TL_ASSIGN_OR_RETURN(const v1::User user, identity->CreateUser(caller, request));
  result.admin_user_id = user.user_id();
  result.admin_created = true;
  return result;
}

absl::StatusOr<std::string> CreateGatewayServiceKey(pg::Pool* pool, OrgManager* org,
                                                    IdentityManager* identity,
                                                    const std::string& tenant) {
  if (!auth::IsValidTenantId(tenant)) {
    return status::InvalidArgument("tenant", "must match [a-z0-9][a-z0-9_-]{0,62}");
  }
  TL_ASSIGN_OR_RETURN(const auth::RequestContext caller, BootstrapCaller(tenant));
  v1::CreateRoleRequest role;
  *role.mutable_role() =
      MakeRole(kGatewayRole, "网关服务 (gateway service)", 100, v1::DATA_SCOPE_TENANT, {});
  if (absl::StatusOr<v1::Role> created = org->CreateRole(caller, role);
      !created.ok() && !absl::IsAlreadyExists(created.status())) {
    return created.status();
  }
  TL_ASSIGN_OR_RETURN(const std::optional<UserRecord> user,
                      UserByUsername(pool, tenant, kGatewayUser));
  std::string user_id;
  if (user) {
    user_id = user->user_id;
  } else {
    // Nobody is meant to log in as this user: its password is random and thrown away.
    unsigned char random[32];
    randombytes_buf(random, sizeof(random));
    char password[sodium_base64_ENCODED_LEN(sizeof(random), sodium_base64_VARIANT_URLSAFE)];
    sodium_bin2base64(password, sizeof(password), random, sizeof(random),
                      sodium_base64_VARIANT_URLSAFE);
    v1::CreateUserRequest request;
    request.mutable_user()->set_username(kGatewayUser);
    request.mutable_user()->set_display_name("Touchline gateway");
    request.mutable_user()->set_role_id(kGatewayRole);
    request.set_password(password);
    TL_ASSIGN_OR_RETURN(const v1::User created, identity->CreateUser(caller, request));
    user_id = created.user_id();
  }
  v1::CreateApiKeyRequest request;
  request.mutable_api_key()->set_display_name("gateway cache");
  request.mutable_api_key()->set_user_id(user_id);
  TL_ASSIGN_OR_RETURN(const v1::CreateApiKeyResponse key, identity->CreateApiKey(caller, request));
  return key.secret();
}

}  // namespace touchline::permissions
