// IdentityManager, API keys: creation (at most the user's role permissions), listing,
// revocation, and resolving a key's secret for GetEffectiveScope.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/status/time_fields.h"
#include "common/text/text.h"
#include "common/validation/field_checker.h"
#include "google/protobuf/util/time_util.h"
#include "services/permissions/identity/identity_internal.h"
#include "services/permissions/identity/identity_manager.h"

namespace touchline::permissions {
namespace {

using namespace identity_internal;  // NOLINT(build/namespaces): the parts of this manager.
using ::google::protobuf::util::TimeUtil;

constexpr char kInvalidApiKey[] = "invalid API key";
constexpr char kApiKeyPrefix[] = "tlk_";
// Random characters of an API key kept in secret_prefix, after "tlk_<tenant>_".
constexpr size_t kSecretPrefixRandomChars = 4;

v1::ApiKey ToProto(const ApiKeyRecord& k) {
  v1::ApiKey key;
  key.set_api_key_id(k.api_key_id);
  key.set_display_name(k.display_name);
  key.set_user_id(k.user_id);
  for (const v1::Permission p : k.permissions) key.add_permissions(p);
  if (k.expire_time) *key.mutable_expire_time() = ToProtoTime(*k.expire_time);
  *key.mutable_create_time() = ToProtoTime(k.create_time);
  if (k.revoke_time) *key.mutable_revoke_time() = ToProtoTime(*k.revoke_time);
  key.set_secret_prefix(k.secret_prefix);
  return key;
}

// The tenant named by an API key secret "tlk_<tenant>_<kSecretChars characters>", or "" when
// the secret does not have that form.
std::string ApiKeyTenant(std::string_view secret) {
  const size_t prefix = sizeof(kApiKeyPrefix) - 1;
  if (secret.size() < prefix + 2 + kSecretChars || !secret.starts_with(kApiKeyPrefix)) {
    return "";
  }
  const std::string_view random = secret.substr(secret.size() - kSecretChars);
  const std::string_view tenant = secret.substr(prefix, secret.size() - prefix - kSecretChars - 1);
  if (secret[secret.size() - kSecretChars - 1] != '_' || !IsBase64UrlSecret(random) ||
      !auth::IsValidTenantId(tenant)) {
    return "";
  }
  return std::string(tenant);
}

}  // namespace

absl::StatusOr<v1::CreateApiKeyResponse> IdentityManager::CreateApiKey(
    const auth::RequestContext& caller, const v1::CreateApiKeyRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  const v1::ApiKey& in = request.api_key();
  const absl::Time now = Now();
  status::FieldViolations violations;
  CheckText(text::TrimSpace(in.display_name()), kMaxDisplayNameLength, "api_key.display_name",
            violations);
  validation::FieldChecker(violations).Required(!in.user_id().empty(), "api_key.user_id");
  std::vector<v1::Permission> permissions;
  for (const int p : in.permissions()) {
    const auto permission = static_cast<v1::Permission>(p);
    if (permission == v1::PERMISSION_UNSPECIFIED || !v1::Permission_IsValid(p)) {
      violations.Add("api_key.permissions", absl::StrCat("unknown permission ", p));
    } else if (std::find(permissions.begin(), permissions.end(), permission) != permissions.end()) {
      violations.Add("api_key.permissions",
                     absl::StrCat("duplicate ", v1::Permission_Name(permission)));
    } else {
      permissions.push_back(permission);
    }
  }
  std::optional<absl::Time> expire_time;
  if (in.has_expire_time()) {
    if (status::CheckTimestamp(in.expire_time(), "api_key.expire_time", violations)) {
      expire_time = TruncateToMicros(
          absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(in.expire_time())));
      if (*expire_time <= now) violations.Add("api_key.expire_time", "must be in the future");
    }
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());

  const std::string secret = absl::StrCat(kApiKeyPrefix, caller.tenant_id, "_", NewSecret());
  ApiKeyRecord key{
      .tenant_id = caller.tenant_id,
      .api_key_id = ids::NewUuid(now),
      .user_id = absl::AsciiStrToLower(in.user_id()),
      .display_name = text::TrimSpace(in.display_name()),
      .secret_hash = Sha256Hex(secret),
      .secret_prefix = secret.substr(0, secret.size() - kSecretChars + kSecretPrefixRandomChars),
      .permissions = std::move(permissions),
      .expire_time = expire_time,
      .create_time = now,
      .revoke_time = std::nullopt};
  const Actor actor = ActorOf(caller, now);
  TL_RETURN_IF_ERROR(
      Commit(caller.tenant_id, [&](IdentityTransaction& txn, Invalidations& inv) -> absl::Status {
        TL_ASSIGN_OR_RETURN(const std::optional<UserRecord> user,
                            txn.FindUser(caller.tenant_id, key.user_id, RowLock::kNone));
        if (!user) {
          return status::InvalidArgument("api_key.user_id",
                                         absl::StrCat("no user '", key.user_id, "'"));
        }
        if (user->state != v1::USER_STATE_ACTIVE) return UserDisabled(user->user_id);
        TL_ASSIGN_OR_RETURN(const std::optional<RoleFacts> role,
                            txn.FindRole(caller.tenant_id, user->role_id));
        status::FieldViolations beyond_role;
        for (const v1::Permission p : key.permissions) {
          if (!role || std::find(role->permissions.begin(), role->permissions.end(), p) ==
                           role->permissions.end()) {
            beyond_role.Add("api_key.permissions",
                            absl::StrCat("role '", user->role_id, "' of the user lacks ",
                                         v1::Permission_Name(p)));
          }
        }
        TL_RETURN_IF_ERROR(beyond_role.ToStatus());
        TL_RETURN_IF_ERROR(txn.InsertApiKey(key));
        TL_RETURN_IF_ERROR(
            Audit(txn, actor, "api_key.created", "api_key", key.api_key_id, {},
                  absl::StrCat("for user ", key.user_id, ", prefix ", key.secret_prefix)));
        return InvalidateScopes(txn, actor, "api_key", key.api_key_id, {key.api_key_id}, inv);
      }));
  v1::CreateApiKeyResponse response;
  *response.mutable_api_key() = ToProto(key);
  response.set_secret(secret);
  return response;
}

absl::StatusOr<v1::ListApiKeysResponse> IdentityManager::ListApiKeys(
    const auth::RequestContext& caller, const v1::ListApiKeysRequest& request) {
  if (request.user_id().empty() || request.user_id() != caller.caller_id) {
    TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  }
  std::vector<ApiKeyRecord> keys;
  TL_RETURN_IF_ERROR(store_->Read([&](IdentityReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(keys, txn.ListApiKeys(caller.tenant_id, request.user_id()));
    return absl::OkStatus();
  }));
  v1::ListApiKeysResponse response;
  for (const ApiKeyRecord& key : keys) *response.add_api_keys() = ToProto(key);
  return response;
}

absl::StatusOr<v1::ApiKey> IdentityManager::RevokeApiKey(const auth::RequestContext& caller,
                                                         std::string_view api_key_id) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  const absl::Time now = Now();
  const Actor actor = ActorOf(caller, now);
  std::optional<ApiKeyRecord> revoked;
  TL_RETURN_IF_ERROR(
      Commit(caller.tenant_id, [&](IdentityTransaction& txn, Invalidations& inv) -> absl::Status {
        TL_ASSIGN_OR_RETURN(revoked,
                            txn.FindApiKey(caller.tenant_id, api_key_id, RowLock::kForUpdate));
        if (!revoked) {
          return absl::NotFoundError(absl::StrCat("no API key '", std::string(api_key_id), "'"));
        }
        if (revoked->revoke_time) return absl::OkStatus();
        TL_RETURN_IF_ERROR(txn.RevokeApiKey(caller.tenant_id, revoked->api_key_id, now));
        revoked->revoke_time = now;
        TL_RETURN_IF_ERROR(Audit(txn, actor, "api_key.revoked", "api_key", revoked->api_key_id, {},
                                 absl::StrCat("key of user ", revoked->user_id)));
        return InvalidateScopes(txn, actor, "api_key", revoked->api_key_id, {revoked->api_key_id},
                                inv);
      }));
  return ToProto(*revoked);
}

absl::StatusOr<Principal> IdentityManager::ResolveApiKey(std::string_view secret) {
  const std::string tenant_id = ApiKeyTenant(secret);
  if (tenant_id.empty()) return absl::UnauthenticatedError(kInvalidApiKey);
  std::optional<ApiKeyRecord> key;
  std::optional<UserRecord> user;
  TL_RETURN_IF_ERROR(store_->Read([&](IdentityReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(key, txn.FindApiKeyBySecretHash(tenant_id, Sha256Hex(secret)));
    if (key) {
      TL_ASSIGN_OR_RETURN(user, txn.FindUser(tenant_id, key->user_id, RowLock::kNone));
    }
    return absl::OkStatus();
  }));
  if (!key || !user) return absl::UnauthenticatedError(kInvalidApiKey);
  if (key->revoke_time) return absl::UnauthenticatedError("API key revoked");
  if (key->expire_time && *key->expire_time <= Now()) {
    return absl::UnauthenticatedError("API key expired");
  }
  if (user->state != v1::USER_STATE_ACTIVE) return absl::UnauthenticatedError("user disabled");
  return Principal{.tenant_id = tenant_id,
                   .user_id = user->user_id,
                   .session_id = key->api_key_id,
                   .kind = v1::PRINCIPAL_KIND_API_KEY,
                   .role_id = user->role_id,
                   .partner_org_id = user->partner_org_id,
                   .key_permissions = key->permissions,
                   .is_api_key = true,
                   .expire_time = key->expire_time.value_or(absl::InfiniteFuture())};
}

}  // namespace touchline::permissions
