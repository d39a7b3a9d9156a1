#include "services/permissions/identity/identity_manager.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/events/outbox.h"
#include "common/ids/ids.h"
#include "common/paging/page_token.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/status/time_fields.h"
#include "common/text/text.h"
#include "google/protobuf/util/time_util.h"
#include "services/permissions/audit/audit_log.h"
#include "services/permissions/identity/identity_store.h"
#include "services/permissions/identity/login_throttle.h"
#include "services/permissions/identity/totp.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::permissions {
namespace {

using ::google::protobuf::util::TimeUtil;

constexpr size_t kMaxUsernameLength = 128;
constexpr size_t kMaxDisplayNameLength = 100;
constexpr size_t kMaxEmailBytes = 254;
// kMaxUsernameLength characters of up to 4 UTF-8 bytes each.
constexpr size_t kMaxUsernameBytesAudited = 4 * kMaxUsernameLength;
constexpr size_t kMaxRequestIdBytes = 128;
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

constexpr char kInvalidCredentials[] = "invalid credentials";
constexpr char kInvalidRefreshToken[] = "invalid refresh token";
constexpr char kInvalidApiKey[] = "invalid API key";

// Secrets: 32 random bytes, base64url without padding.
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;
constexpr char kApiKeyPrefix[] = "tlk_";
// Random characters of an API key kept in secret_prefix, after "tlk_<tenant>_".
constexpr size_t kSecretPrefixRandomChars = 4;

// How often Login reads the user again when the password changed while it verified.
constexpr int kLoginAttempts = 3;

// The update_mask paths UpdateUser accepts.
constexpr std::array<const char*, 5> kUpdatablePaths = {"display_name", "email", "role_id",
                                                        "manager_id", "password"};

absl::Time TruncateToMicros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

std::string Sha256Hex(std::string_view text) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest;
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()),
                     text.size());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

// Compares two hashes in constant time.
bool SameHash(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// kSecretBytes random bytes (libsodium), base64url without padding: kSecretChars characters.
std::string NewSecret() {
  std::array<unsigned char, kSecretBytes> bytes;
  randombytes_buf(bytes.data(), bytes.size());
  char encoded[sodium_base64_ENCODED_LEN(kSecretBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(encoded, sizeof(encoded), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return std::string(encoded, kSecretChars);
}

bool IsBase64UrlSecret(std::string_view text) {
  return text.size() == kSecretChars && std::all_of(text.begin(), text.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
         });
}

// Who performs a change, and when: what its audit entry and event record.
struct Actor {
  std::string tenant_id;
  std::string actor_id;
  std::string request_id;
  std::string client;
  absl::Time now;
};

Actor ActorOf(const auth::RequestContext& caller, absl::Time now) {
  return Actor{.tenant_id = caller.tenant_id,
               .actor_id = caller.caller_id,
               .request_id = caller.request_id,
               .client = caller.client,
               .now = now};
}

void Audit(pqxx::work& txn, const Actor& actor, std::string action, std::string resource_type,
           std::string resource_id, std::vector<std::string> fields = {}, std::string detail = "") {
  v1::AuditEvent event;
  *event.mutable_occur_time() = ToProtoTime(actor.now);
  event.set_action(std::move(action));
  event.set_actor_id(actor.actor_id);
  event.set_client(actor.client);
  event.set_resource_type(std::move(resource_type));
  event.set_resource_id(std::move(resource_id));
  for (std::string& field : fields) event.add_fields(std::move(field));
  event.set_detail(std::move(detail));
  event.set_request_id(actor.request_id);
  AuditLog::Append(txn, actor.tenant_id, std::move(event));
}

// The ScopesInvalidated events of one transaction, for the hook once it has committed.
using Invalidations = std::vector<std::vector<std::string>>;

// Appends ScopesInvalidated{session_ids} to the outbox; empty `session_ids` means every scope
// of the tenant.
void InvalidateScopes(pqxx::work& txn, const Actor& actor, std::string_view aggregate_type,
                      std::string_view aggregate_id, std::vector<std::string> session_ids,
                      Invalidations& invalidations) {
  events::v1::ScopesInvalidated payload;
  for (const std::string& id : session_ids) payload.add_session_ids(id);
  events::AppendToOutbox(txn, kPermissionsTopic,
                         events::MakeEnvelope(payload, actor.tenant_id, aggregate_type,
                                              aggregate_id, actor.request_id, actor.actor_id));
  invalidations.push_back(std::move(session_ids));
}

// For a change that affects only `user_id`'s own scopes: invalidates those of its usable
// sessions and API keys. With none, no cached scope can be stale, and an empty list would
// mean the whole tenant, so nothing is published.
void InvalidateUserScopes(pqxx::work& txn, const Actor& actor, const std::string& user_id,
                          std::vector<std::string> credential_ids, Invalidations& invalidations) {
  if (credential_ids.empty()) return;
  InvalidateScopes(txn, actor, "user", user_id, std::move(credential_ids), invalidations);
}

v1::User ToProto(const UserRecord& u, absl::Time now) {
  v1::User user;
  user.set_user_id(u.user_id);
  user.set_username(u.username);
  user.set_display_name(u.display_name);
  user.set_email(u.email);
  user.set_role_id(u.role_id);
  user.set_manager_id(u.manager_id);
  user.set_partner_org_id(u.partner_org_id);
  user.set_state(u.state);
  user.set_totp_enabled(u.totp_enabled);
  *user.mutable_create_time() = ToProtoTime(u.create_time);
  *user.mutable_update_time() = ToProtoTime(u.update_time);
  if (u.locked_until && *u.locked_until > now) {
    *user.mutable_locked_until() = ToProtoTime(*u.locked_until);
  }
  return user;
}

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

// 1 to `max` code points of valid UTF-8 without NUL, after trimming.
void CheckText(std::string_view value, size_t max, std::string field,
               status::FieldViolations& violations) {
  if (const char* problem = text::EncodingProblem(value)) {
    violations.Add(std::move(field), problem);
    return;
  }
  const size_t length = text::CodePointCount(value);
  if (length == 0) {
    violations.Add(std::move(field), "must not be empty");
  } else if (length > max) {
    violations.Add(std::move(field), absl::StrCat("must be at most ", max, " characters"));
  }
}

void CheckUsername(std::string_view username, status::FieldViolations& violations) {
  CheckText(username, kMaxUsernameLength, "user.username", violations);
  if (!text::IsValidUtf8(username)) return;
  for (const char c : username) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      violations.Add("user.username", "must not contain white space or control characters");
      return;
    }
  }
  if (text::TrimSpace(username) != username) {
    violations.Add("user.username", "must not contain white space or control characters");
  }
}

// A plausible address: one '@', a non-empty local part, a dotted domain, no white space.
void CheckEmail(std::string_view email, status::FieldViolations& violations) {
  if (email.empty()) return;
  const size_t at = email.find('@');
  const bool ok = email.size() <= kMaxEmailBytes && text::IsValidUtf8(email) && at != 0 &&
                  at != std::string_view::npos &&
                  email.find('@', at + 1) == std::string_view::npos &&
                  email.find('.', at) != std::string_view::npos && email.back() != '.' &&
                  email[at + 1] != '.' && std::none_of(email.begin(), email.end(), [](char c) {
                    return absl::ascii_isspace(static_cast<unsigned char>(c)) ||
                           absl::ascii_iscntrl(static_cast<unsigned char>(c));
                  });
  if (!ok) violations.Add("user.email", "must be a valid email address");
}

// The checks of the user's own fields that need no database, for the fields in `paths`.
void CheckUserFields(const v1::User& user, const absl::flat_hash_set<std::string>& paths,
                     status::FieldViolations& violations) {
  if (paths.contains("username")) CheckUsername(user.username(), violations);
  if (paths.contains("display_name")) {
    CheckText(text::TrimSpace(user.display_name()), kMaxDisplayNameLength, "user.display_name",
              violations);
  }
  if (paths.contains("email")) CheckEmail(text::TrimSpace(user.email()), violations);
  if (paths.contains("role_id") && user.role_id().empty()) {
    violations.Add("user.role_id", "must not be empty");
  }
  // References are looked up by value: bytes PostgreSQL cannot hold are refused first.
  for (const auto& [name, value] : {std::pair{"role_id", &user.role_id()},
                                    std::pair{"manager_id", &user.manager_id()},
                                    std::pair{"partner_org_id", &user.partner_org_id()}}) {
    if (const char* problem = text::EncodingProblem(*value); problem && paths.contains(name)) {
      violations.Add(absl::StrCat("user.", name), problem);
    }
  }
}

// Checks what `user` refers to: its role (and that it suits an employee or a partner user)
// and its partner organisation; and its manager, unless `check_manager` is false.
void CheckReferences(pqxx::work& txn, const UserRecord& user, bool check_role, bool check_manager,
                     status::FieldViolations& violations) {
  if (check_role) {
    const std::optional<RoleFacts> role = FindRole(txn, user.tenant_id, user.role_id);
    if (!role) {
      violations.Add("user.role_id", absl::StrCat("no role '", user.role_id, "'"));
    } else if (!user.partner_org_id.empty() && role->data_scope != v1::DATA_SCOPE_SHARED) {
      violations.Add("user.role_id", absl::StrCat("role '", user.role_id,
                                                  "' is not a partner role: a partner user "
                                                  "needs a role of DATA_SCOPE_SHARED"));
    } else if (user.partner_org_id.empty() && role->data_scope == v1::DATA_SCOPE_SHARED) {
      violations.Add("user.role_id", absl::StrCat("role '", user.role_id,
                                                  "' is a partner role (DATA_SCOPE_SHARED): "
                                                  "an employee needs another role"));
    }
  }
  if (!check_manager || user.manager_id.empty()) return;
  if (!user.partner_org_id.empty()) {
    violations.Add("user.manager_id", "partner users have no manager");
    return;
  }
  if (user.manager_id == user.user_id) {
    violations.Add("user.manager_id", "a user cannot be their own manager");
    return;
  }
  const std::optional<UserRecord> manager = FindUser(txn, user.tenant_id, user.manager_id);
  if (!manager) {
    violations.Add("user.manager_id", absl::StrCat("no user '", user.manager_id, "'"));
    return;
  }
  if (!manager->partner_org_id.empty()) {
    violations.Add("user.manager_id",
                   absl::StrCat("user '", user.manager_id, "' is a partner user"));
    return;
  }
  // The new line user -> manager closes a cycle when the user is above the manager already.
  std::vector<std::string> cycle = {user.user_id, user.manager_id};
  for (std::string& above : ManagerChain(txn, user.tenant_id, user.manager_id)) {
    const bool closes = above == user.user_id;
    cycle.push_back(std::move(above));
    if (closes) {
      violations.Add("user.manager_id",
                     absl::StrCat("would make a reporting cycle: ", absl::StrJoin(cycle, " -> ")));
      return;
    }
  }
}

// The page token of ListUsers is bound to its filter (lengths keep the parts apart).
std::string UsersQueryHash(const v1::ListUsersRequest& request) {
  return paging::QueryHash(absl::StrCat("users|", request.partner_org_id().size(), ":",
                                        request.partner_org_id(), request.username().size(), ":",
                                        request.username(), request.email()));
}

absl::StatusOr<int> PageSize(int requested) {
  if (requested < 0 || requested > kMaxPageSize) {
    return status::InvalidArgument("page_size", absl::StrCat("must be 0 to ", kMaxPageSize));
  }
  return requested == 0 ? kDefaultPageSize : requested;
}

absl::Status UserNotFound(std::string_view user_id) {
  return absl::NotFoundError(absl::StrCat("no user '", std::string(user_id), "'"));
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

v1::PrincipalKind KindOf(const UserRecord& user) {
  return user.partner_org_id.empty() ? v1::PRINCIPAL_KIND_USER : v1::PRINCIPAL_KIND_PARTNER_USER;
}

}  // namespace

IdentityManager::IdentityManager(pg::Pool* pool, auth::TokenSigner signer,
                                 paging::PageTokens page_tokens, IdentityOptions options)
    : pool_(pool),
      signer_(std::move(signer)),
      options_(std::move(options)),
      page_tokens_(std::move(page_tokens)),
      dummy_hash_(HashPassword(NewSecret(), options_.hash_cost)) {}

absl::Time IdentityManager::Now() const { return TruncateToMicros(options_.clock()); }

absl::Status IdentityManager::Commit(
    std::string_view tenant_id,
    const std::function<absl::Status(pqxx::work&, Invalidations&)>& change) {
  Invalidations invalidations;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) {
    invalidations.clear();  // A retried transaction starts over.
    return change(txn, invalidations);
  }));
  if (options_.on_scopes_invalidated) {
    const std::string tenant(tenant_id);
    for (const std::vector<std::string>& session_ids : invalidations) {
      options_.on_scopes_invalidated(tenant, session_ids);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::User> IdentityManager::CreateUser(const auth::RequestContext& caller,
                                                     const v1::CreateUserRequest& request) {
  const v1::User& in = request.user();
  status::FieldViolations violations;
  CheckUserFields(
      in, {"username", "display_name", "email", "role_id", "manager_id", "partner_org_id"},
      violations);
  if (std::optional<std::string> problem = CheckPassword(request.password())) {
    violations.Add("password", std::move(*problem));
  }
  if (request.request_id().size() > kMaxRequestIdBytes) {
    violations.Add("request_id", absl::StrCat("must be at most ", kMaxRequestIdBytes, " bytes"));
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());

  // Slow on purpose (argon2id): done before the transaction, not while holding a connection.
  TL_ASSIGN_OR_RETURN(std::string password_hash,
                      HashPassword(request.password(), options_.hash_cost));
  // The password stays out of the fingerprint: a fast hash of it must never be stored.
  v1::CreateUserRequest fingerprinted = request;
  fingerprinted.clear_password();
  const std::string fingerprint = ids::Fingerprint(fingerprinted);

  const absl::Time now = Now();
  const Actor actor = ActorOf(caller, now);
  UserRecord user{.tenant_id = caller.tenant_id,
                  .user_id = ids::NewUuid(now),
                  .username = in.username(),
                  .username_key = "",
                  .display_name = text::TrimSpace(in.display_name()),
                  .email = text::TrimSpace(in.email()),
                  .role_id = in.role_id(),
                  .manager_id = absl::AsciiStrToLower(in.manager_id()),
                  .partner_org_id = in.partner_org_id(),
                  .state = v1::USER_STATE_ACTIVE,
                  .password_hash = std::move(password_hash),
                  .totp_secret = "",
                  .totp_pending_secret = "",
                  .totp_enabled = false,
                  .totp_last_step = 0,
                  .failed_logins = 0,
                  .locked_until = std::nullopt,
                  .create_time = now,
                  .update_time = now,
                  .version = 1};
  std::optional<UserRecord> created;
  TL_RETURN_IF_ERROR(Commit(caller.tenant_id, [&](pqxx::work& txn, Invalidations& inv) {
    created.reset();
    if (!request.request_id().empty() &&
        !ClaimRequest(
            txn, caller.tenant_id, request.request_id(),
            {.method = "CreateUser", .fingerprint = fingerprint, .resource_id = user.user_id})) {
      const std::optional<RequestRecord> earlier =
          FindRequest(txn, caller.tenant_id, request.request_id());
      if (!earlier || earlier->method != "CreateUser" || earlier->fingerprint != fingerprint) {
        return absl::AlreadyExistsError(
            absl::StrCat("request_id '", request.request_id(), "' was used for another request"));
      }
      created = FindUser(txn, caller.tenant_id, earlier->resource_id);
      if (!created) return UserNotFound(earlier->resource_id);
      return absl::OkStatus();
    }
    status::FieldViolations references;
    if (!user.partner_org_id.empty() &&
        !PartnerOrgExists(txn, caller.tenant_id, user.partner_org_id)) {
      references.Add("user.partner_org_id",
                     absl::StrCat("no partner organisation '", user.partner_org_id, "'"));
    }
    CheckReferences(txn, user, /*check_role=*/true, /*check_manager=*/true, references);
    TL_RETURN_IF_ERROR(references.ToStatus());
    if (FindUserByUsername(txn, caller.tenant_id, user.username)) {
      return absl::AlreadyExistsError(absl::StrCat("username '", user.username, "' is taken"));
    }
    InsertUser(txn, user);
    std::vector<std::string> fields = {"username", "display_name", "role_id"};
    if (!user.email.empty()) fields.push_back("email");
    if (!user.manager_id.empty()) fields.push_back("manager_id");
    if (!user.partner_org_id.empty()) fields.push_back("partner_org_id");
    Audit(txn, actor, "user.created", "user", user.user_id, std::move(fields),
          absl::StrCat("username \"", user.username, "\", role ", user.role_id));
    // Only the managers' scopes grow (their owner_ids gain the user); a user at the top of
    // the hierarchy changes no existing scope.
    if (!user.manager_id.empty()) InvalidateScopes(txn, actor, "user", user.user_id, {}, inv);
    created = FindUser(txn, caller.tenant_id, user.user_id);
    if (!created) return UserNotFound(user.user_id);
    return absl::OkStatus();
  }));
  return ToProto(*created, now);
}

absl::StatusOr<v1::User> IdentityManager::GetUser(const auth::RequestContext& caller,
                                                  std::string_view user_id) {
  std::optional<UserRecord> user;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    user = FindUser(txn, caller.tenant_id, user_id);
    return absl::OkStatus();
  }));
  if (!user) return UserNotFound(user_id);
  return ToProto(*user, Now());
}

absl::StatusOr<v1::ListUsersResponse> IdentityManager::ListUsers(
    const auth::RequestContext& caller, const v1::ListUsersRequest& request) {
  TL_ASSIGN_OR_RETURN(const int page_size, PageSize(request.page_size()));
  status::FieldViolations violations;
  for (const auto& [field, value] :
       {std::pair{"partner_org_id", &request.partner_org_id()},
        std::pair{"username", &request.username()}, std::pair{"email", &request.email()}}) {
    if (const char* problem = text::EncodingProblem(*value)) violations.Add(field, problem);
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  const std::string query_hash = UsersQueryHash(request);
  std::string after;
  if (!request.page_token().empty()) {
    TL_ASSIGN_OR_RETURN(const nlohmann::json cursor,
                        page_tokens_.Decode(request.page_token(), query_hash));
    if (!cursor.is_object() || !cursor.contains("after") || !cursor["after"].is_string()) {
      return status::InvalidArgument("page_token", "is malformed");
    }
    after = cursor["after"].get<std::string>();
  }
  std::vector<UserRecord> users;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    users = permissions::ListUsers(txn, caller.tenant_id,
                                   UserFilter{.partner_org_id = request.partner_org_id(),
                                              .username = request.username(),
                                              .email = request.email()},
                                   after, page_size + 1);
    return absl::OkStatus();
  }));
  v1::ListUsersResponse response;
  const absl::Time now = Now();
  const bool more = users.size() > static_cast<size_t>(page_size);
  if (more) users.resize(static_cast<size_t>(page_size));
  for (const UserRecord& user : users) *response.add_users() = ToProto(user, now);
  if (more) {
    response.set_next_page_token(
        page_tokens_.Encode(nlohmann::json{{"after", users.back().username_key}}, query_hash));
  }
  return response;
}

absl::StatusOr<v1::User> IdentityManager::UpdateUser(const auth::RequestContext& caller,
                                                     const v1::UpdateUserRequest& request) {
  const v1::User& in = request.user();
  status::FieldViolations violations;
  if (in.user_id().empty()) violations.Add("user.user_id", "must not be empty");
  absl::flat_hash_set<std::string> paths;
  for (const std::string& path : request.update_mask().paths()) {
    if (std::find(kUpdatablePaths.begin(), kUpdatablePaths.end(), std::string_view(path)) ==
        kUpdatablePaths.end()) {
      violations.Add("update_mask.paths", absl::StrCat("cannot update '", path, "'; updatable: ",
                                                       absl::StrJoin(kUpdatablePaths, ", ")));
    } else {
      paths.insert(path);
    }
  }
  if (request.update_mask().paths().empty()) {
    violations.Add("update_mask.paths", "must name at least one field");
  }
  CheckUserFields(in, paths, violations);
  if (paths.contains("password")) {
    if (std::optional<std::string> problem = CheckPassword(request.password())) {
      violations.Add("password", std::move(*problem));
    }
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());

  std::string password_hash;
  if (paths.contains("password")) {
    TL_ASSIGN_OR_RETURN(password_hash, HashPassword(request.password(), options_.hash_cost));
  }
  const absl::Time now = Now();
  const Actor actor = ActorOf(caller, now);
  std::optional<UserRecord> updated;
  TL_RETURN_IF_ERROR(Commit(caller.tenant_id, [&](pqxx::work& txn, Invalidations& inv) {
    // Reporting lines change one at a time per tenant, or two concurrent changes could each
    // pass the cycle check and together close a cycle.
    if (paths.contains("manager_id")) LockReportingLines(txn, caller.tenant_id);
    std::optional<UserRecord> user =
        FindUser(txn, caller.tenant_id, in.user_id(), RowLock::kForUpdate);
    if (!user) return UserNotFound(in.user_id());
    if (user->state != v1::USER_STATE_ACTIVE) {
      return absl::FailedPreconditionError(absl::StrCat("user '", user->user_id, "' is disabled"));
    }
    const std::string old_manager = user->manager_id;
    const std::string old_role = user->role_id;
    if (paths.contains("display_name")) user->display_name = text::TrimSpace(in.display_name());
    if (paths.contains("email")) user->email = text::TrimSpace(in.email());
    if (paths.contains("role_id")) user->role_id = in.role_id();
    if (paths.contains("manager_id")) user->manager_id = absl::AsciiStrToLower(in.manager_id());
    status::FieldViolations references;
    CheckReferences(txn, *user, paths.contains("role_id"),
                    paths.contains("manager_id") && user->manager_id != old_manager, references);
    TL_RETURN_IF_ERROR(references.ToStatus());

    std::vector<std::string> revoked;
    if (paths.contains("password")) {
      user->password_hash = password_hash;
      // A new password ends the sessions opened with the old one, and unlocks the account.
      user->failed_logins = 0;
      user->locked_until.reset();
      revoked = RevokeUserSessions(txn, caller.tenant_id, user->user_id, now);
    }
    user->update_time = now;
    ++user->version;
    SaveUser(txn, *user);

    std::vector<std::string> fields;
    for (const char* path : kUpdatablePaths) {
      if (paths.contains(path)) fields.emplace_back(path);
    }
    Audit(txn, actor, "user.updated", "user", user->user_id, std::move(fields),
          revoked.empty() ? "" : absl::StrCat(revoked.size(), " sessions ended"));
    if (user->manager_id != old_manager) {
      // Every manager above the old and the new position sees other owners now.
      InvalidateScopes(txn, actor, "user", user->user_id, {}, inv);
    } else {
      std::vector<std::string> affected =
          LiveCredentialIds(txn, caller.tenant_id, user->user_id, now);
      affected.insert(affected.end(), revoked.begin(), revoked.end());
      InvalidateUserScopes(txn, actor, user->user_id, std::move(affected), inv);
    }
    updated = std::move(user);
    return absl::OkStatus();
  }));
  return ToProto(*updated, now);
}

absl::StatusOr<v1::User> IdentityManager::DisableUser(const auth::RequestContext& caller,
                                                      std::string_view user_id) {
  const absl::Time now = Now();
  const Actor actor = ActorOf(caller, now);
  std::optional<UserRecord> disabled;
  TL_RETURN_IF_ERROR(Commit(caller.tenant_id, [&](pqxx::work& txn, Invalidations& inv) {
    std::optional<UserRecord> user = FindUser(txn, caller.tenant_id, user_id, RowLock::kForUpdate);
    if (!user) return UserNotFound(user_id);
    if (user->state != v1::USER_STATE_DISABLED) {
      user->state = v1::USER_STATE_DISABLED;
      user->update_time = now;
      ++user->version;
      SaveUser(txn, *user);
      std::vector<std::string> ended =
          RevokeUserSessions(txn, caller.tenant_id, user->user_id, now);
      const std::vector<std::string> keys =
          RevokeUserApiKeys(txn, caller.tenant_id, user->user_id, now);
      Audit(txn, actor, "user.disabled", "user", user->user_id, {"state"},
            absl::StrCat(ended.size(), " sessions and ", keys.size(), " API keys revoked"));
      ended.insert(ended.end(), keys.begin(), keys.end());
      InvalidateUserScopes(txn, actor, user->user_id, std::move(ended), inv);
    }
    disabled = std::move(user);
    return absl::OkStatus();
  }));
  return ToProto(*disabled, now);
}

absl::StatusOr<v1::User> IdentityManager::ChangeOwnUser(
    const auth::RequestContext& caller, std::string action, std::vector<std::string> fields,
    const std::function<absl::Status(UserRecord&, absl::Time)>& change) {
  const absl::Time now = Now();
  const Actor actor = ActorOf(caller, now);
  std::optional<UserRecord> changed;
  TL_RETURN_IF_ERROR(Commit(caller.tenant_id, [&](pqxx::work& txn, Invalidations& inv) {
    std::optional<UserRecord> user =
        FindUser(txn, caller.tenant_id, caller.caller_id, RowLock::kForUpdate);
    if (!user) return UserNotFound(caller.caller_id);
    if (user->state != v1::USER_STATE_ACTIVE) {
      return absl::FailedPreconditionError(absl::StrCat("user '", user->user_id, "' is disabled"));
    }
    TL_RETURN_IF_ERROR(change(*user, now));
    user->update_time = now;
    ++user->version;
    SaveUser(txn, *user);
    Audit(txn, actor, action, "user", user->user_id, fields);
    InvalidateUserScopes(txn, actor, user->user_id,
                         LiveCredentialIds(txn, caller.tenant_id, user->user_id, now), inv);
    changed = std::move(user);
    return absl::OkStatus();
  }));
  return ToProto(*changed, now);
}

absl::StatusOr<v1::EnrollTotpResponse> IdentityManager::EnrollTotp(
    const auth::RequestContext& caller) {
  const std::string secret = NewTotpSecret();
  TL_ASSIGN_OR_RETURN(const v1::User user, ChangeOwnUser(caller, "user.totp_enrollment_started", {},
                                                         [&](UserRecord& u, absl::Time) {
                                                           u.totp_pending_secret = secret;
                                                           return absl::OkStatus();
                                                         }));
  v1::EnrollTotpResponse response;
  response.set_secret_base32(Base32Encode(secret));
  response.set_otpauth_uri(OtpauthUri(options_.totp_issuer,
                                      absl::StrCat(user.username(), "@", caller.tenant_id),
                                      response.secret_base32()));
  return response;
}

absl::StatusOr<v1::User> IdentityManager::ConfirmTotp(const auth::RequestContext& caller,
                                                      std::string_view code) {
  return ChangeOwnUser(
      caller, "user.totp_enabled", {"totp_enabled"}, [&](UserRecord& user, absl::Time now) {
        if (user.totp_pending_secret.empty()) {
          return absl::FailedPreconditionError("no TOTP enrolment pending: call EnrollTotp first");
        }
        const std::optional<int64_t> step =
            MatchTotpCode(user.totp_pending_secret, code, now, options_.totp_window_steps,
                          std::numeric_limits<int64_t>::min());
        if (!step) return status::InvalidArgument("code", "does not match the pending secret");
        user.totp_secret = std::move(user.totp_pending_secret);
        user.totp_pending_secret.clear();
        user.totp_enabled = true;
        // The confirming code counts as used: it cannot log in as well.
        user.totp_last_step = *step;
        return absl::OkStatus();
      });
}

absl::StatusOr<v1::LoginResponse> IdentityManager::Login(std::string_view tenant_id,
                                                         std::string_view client,
                                                         std::string_view address,
                                                         std::string_view request_id,
                                                         const v1::LoginRequest& request) {
  const LoginThrottle throttle(options_.login_throttle, tenant_id, address, request.username());
  for (int attempt = 0; attempt < kLoginAttempts; ++attempt) {
    // A throttled attempt costs neither a password verification nor a write.
    std::optional<absl::Time> refused_until;
    TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
      refused_until = throttle.RefusedUntil(txn, Now());
      return absl::OkStatus();
    }));
    if (refused_until) return LoginThrottle::Refusal(*refused_until, Now());
    // Read, verify the password outside any transaction (argon2id is slow on purpose), then
    // decide under the row lock: a lock that came meanwhile still refuses.
    std::optional<UserRecord> seen;
    TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
      // A username PostgreSQL cannot hold names no one: refused as an unknown user is.
      if (text::EncodingProblem(request.username()) == nullptr) {
        seen = FindUserByUsername(txn, tenant_id, request.username());
      }
      return absl::OkStatus();
    }));
    // Unknown users cost one verification too, so timing does not tell who exists.
    if (!dummy_hash_.ok()) return dummy_hash_.status();
    const bool password_ok =
        VerifyPassword(seen ? seen->password_hash : *dummy_hash_, request.password()) &&
        seen.has_value();
    std::string rehashed;
    if (password_ok && PasswordNeedsRehash(seen->password_hash, options_.hash_cost)) {
      TL_ASSIGN_OR_RETURN(rehashed, HashPassword(request.password(), options_.hash_cost));
    }

    const absl::Time now = Now();
    Actor actor{.tenant_id = std::string(tenant_id),
                .actor_id = "",
                .request_id = std::string(request_id),
                .client = std::string(client),
                .now = now};
    // Capped: no username is longer, and the audit log should not store whatever was sent.
    const std::string who =
        absl::StrCat("username \"", request.username().substr(0, kMaxUsernameBytesAudited), "\"");
    absl::Status refusal;
    bool changed_meanwhile = false;
    v1::LoginResponse response;
    TL_RETURN_IF_ERROR(Commit(tenant_id, [&](pqxx::work& txn, Invalidations&) {
      // A retried transaction starts over.
      refusal = absl::UnauthenticatedError(kInvalidCredentials);
      changed_meanwhile = false;
      actor.actor_id.clear();
      std::optional<UserRecord> user =
          seen ? FindUser(txn, tenant_id, seen->user_id, RowLock::kForUpdate) : std::nullopt;
      if (!user) {
        throttle.RecordFailure(txn, now);
        Audit(txn, actor, "login.failed", "user", "", {}, absl::StrCat(who, ": unknown user"));
        return absl::OkStatus();
      }
      if (user->password_hash != seen->password_hash) {
        changed_meanwhile = true;
        return absl::OkStatus();
      }
      if (user->state != v1::USER_STATE_ACTIVE) {
        throttle.RecordFailure(txn, now);
        Audit(txn, actor, "login.failed", "user", user->user_id, {},
              absl::StrCat(who, ": user disabled"));
        return absl::OkStatus();
      }
      std::string reason;
      std::optional<int64_t> step;
      if (!password_ok) {
        reason = "wrong password";
      } else if (user->totp_enabled) {
        if (request.totp_code().empty()) {
          reason = "missing TOTP code";
        } else {
          step = MatchTotpCode(user->totp_secret, request.totp_code(), now,
                               options_.totp_window_steps, user->totp_last_step);
          if (!step) {
            const bool replayed =
                MatchTotpCode(user->totp_secret, request.totp_code(), now,
                              options_.totp_window_steps, std::numeric_limits<int64_t>::min())
                    .has_value();
            reason = replayed ? "TOTP code already used" : "wrong TOTP code";
          }
        }
      }
      if (!reason.empty()) {
        throttle.RecordFailure(txn, now);
        Audit(txn, actor, "login.failed", "user", user->user_id, {},
              absl::StrCat(who, ": ", reason));
        return absl::OkStatus();
      }

      throttle.RecordSuccess(txn, now);
      if (step) user->totp_last_step = *step;
      if (!rehashed.empty()) user->password_hash = rehashed;
      SaveUser(txn, *user);
      const SessionRecord session = {.tenant_id = std::string(tenant_id),
                                     .session_id = ids::NewUuid(now),
                                     .user_id = user->user_id,
                                     .refresh_hash = "",
                                     .previous_refresh_hash = "",
                                     .client = std::string(client),
                                     .create_time = now,
                                     .expire_time = now + options_.session_ttl,
                                     .revoke_time = std::nullopt};
      TL_ASSIGN_OR_RETURN(response, IssueTokens(session, *user, now));
      SessionRecord stored = session;
      stored.refresh_hash = Sha256Hex(response.refresh_token());
      InsertSession(txn, stored);
      actor.actor_id = user->user_id;
      Audit(txn, actor, "login.succeeded", "session", session.session_id, {},
            absl::StrCat(who, rehashed.empty() ? "" : "; password rehashed"));
      refusal = absl::OkStatus();
      return absl::OkStatus();
    }));
    if (changed_meanwhile) continue;
    if (!refusal.ok()) return refusal;
    return response;
  }
  return absl::AbortedError("the password changed during login; try again");
}

absl::StatusOr<v1::LoginResponse> IdentityManager::IssueTokens(const SessionRecord& session,
                                                               const UserRecord& user,
                                                               absl::Time now) const {
  const absl::Time access_expiry = std::min(now + options_.access_token_ttl, session.expire_time);
  TL_ASSIGN_OR_RETURN(std::string access_token, signer_.Sign({.tenant_id = session.tenant_id,
                                                              .user_id = session.user_id,
                                                              .session_id = session.session_id,
                                                              .issue_time = now,
                                                              .expire_time = access_expiry}));
  v1::LoginResponse response;
  response.set_access_token(std::move(access_token));
  *response.mutable_access_token_expire_time() = ToProtoTime(access_expiry);
  response.set_refresh_token(absl::StrCat(session.session_id, ".", NewSecret()));
  *response.mutable_refresh_token_expire_time() = ToProtoTime(session.expire_time);
  response.set_session_id(session.session_id);
  *response.mutable_user() = ToProto(user, now);
  return response;
}

absl::StatusOr<v1::LoginResponse> IdentityManager::Refresh(std::string_view tenant_id,
                                                           std::string_view client,
                                                           std::string_view request_id,
                                                           const v1::RefreshTokenRequest& request) {
  // "<session_id>.<secret>": the session is found by its key, the secret by its hash.
  const std::string_view token = request.refresh_token();
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos || !ids::IsUuid(token.substr(0, dot)) ||
      !IsBase64UrlSecret(token.substr(dot + 1))) {
    return absl::UnauthenticatedError(kInvalidRefreshToken);
  }
  const std::string session_id = absl::AsciiStrToLower(std::string(token.substr(0, dot)));
  const std::string presented_hash = Sha256Hex(token);
  const absl::Time now = Now();
  Actor actor{.tenant_id = std::string(tenant_id),
              .actor_id = "",
              .request_id = std::string(request_id),
              .client = std::string(client),
              .now = now};
  absl::Status refusal;
  v1::LoginResponse response;
  TL_RETURN_IF_ERROR(Commit(tenant_id, [&](pqxx::work& txn, Invalidations& inv) {
    refusal = absl::UnauthenticatedError(kInvalidRefreshToken);
    actor.actor_id.clear();
    std::optional<SessionRecord> session =
        FindSession(txn, tenant_id, session_id, RowLock::kForUpdate);
    if (!session || session->revoke_time || session->expire_time <= now) return absl::OkStatus();
    if (!session->previous_refresh_hash.empty() &&
        SameHash(presented_hash, session->previous_refresh_hash)) {
      // A replaced token came back: whoever holds the current one may have stolen it.
      RevokeSessionRow(txn, tenant_id, session_id, now);
      actor.actor_id = session->user_id;
      Audit(txn, actor, "session.revoked", "session", session_id, {},
            "a replaced refresh token was presented again");
      InvalidateScopes(txn, actor, "session", session_id, {session_id}, inv);
      return absl::OkStatus();
    }
    if (!SameHash(presented_hash, session->refresh_hash)) return absl::OkStatus();
    const std::optional<UserRecord> user = FindUser(txn, tenant_id, session->user_id);
    if (!user || user->state != v1::USER_STATE_ACTIVE) return absl::OkStatus();
    TL_ASSIGN_OR_RETURN(response, IssueTokens(*session, *user, now));
    session->previous_refresh_hash = session->refresh_hash;
    session->refresh_hash = Sha256Hex(response.refresh_token());
    SaveRefreshHashes(txn, *session);
    refusal = absl::OkStatus();
    return absl::OkStatus();
  }));
  if (!refusal.ok()) return refusal;
  return response;
}

absl::Status IdentityManager::RevokeSession(const auth::RequestContext& caller,
                                            std::string_view session_id, bool may_revoke_others) {
  const absl::Time now = Now();
  const Actor actor = ActorOf(caller, now);
  return Commit(caller.tenant_id, [&](pqxx::work& txn, Invalidations& inv) {
    const std::optional<SessionRecord> session =
        FindSession(txn, caller.tenant_id, session_id, RowLock::kForUpdate);
    // Another user's session does not exist for a caller who may not end it.
    if (!session || (session->user_id != caller.caller_id && !may_revoke_others)) {
      return absl::NotFoundError(absl::StrCat("no session '", std::string(session_id), "'"));
    }
    if (session->revoke_time) return absl::OkStatus();
    RevokeSessionRow(txn, caller.tenant_id, session->session_id, now);
    Audit(txn, actor, "session.revoked", "session", session->session_id, {},
          absl::StrCat("session of user ", session->user_id));
    InvalidateScopes(txn, actor, "session", session->session_id, {session->session_id}, inv);
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::CreateApiKeyResponse> IdentityManager::CreateApiKey(
    const auth::RequestContext& caller, const v1::CreateApiKeyRequest& request) {
  const v1::ApiKey& in = request.api_key();
  const absl::Time now = Now();
  status::FieldViolations violations;
  CheckText(text::TrimSpace(in.display_name()), kMaxDisplayNameLength, "api_key.display_name",
            violations);
  if (in.user_id().empty()) violations.Add("api_key.user_id", "must not be empty");
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
  TL_RETURN_IF_ERROR(Commit(caller.tenant_id, [&](pqxx::work& txn, Invalidations& inv) {
    const std::optional<UserRecord> user = FindUser(txn, caller.tenant_id, key.user_id);
    if (!user) {
      return status::InvalidArgument("api_key.user_id",
                                     absl::StrCat("no user '", key.user_id, "'"));
    }
    if (user->state != v1::USER_STATE_ACTIVE) {
      return absl::FailedPreconditionError(absl::StrCat("user '", user->user_id, "' is disabled"));
    }
    const std::optional<RoleFacts> role = FindRole(txn, caller.tenant_id, user->role_id);
    status::FieldViolations beyond_role;
    for (const v1::Permission p : key.permissions) {
      if (!role || std::find(role->permissions.begin(), role->permissions.end(), p) ==
                       role->permissions.end()) {
        beyond_role.Add(
            "api_key.permissions",
            absl::StrCat("role '", user->role_id, "' of the user lacks ", v1::Permission_Name(p)));
      }
    }
    TL_RETURN_IF_ERROR(beyond_role.ToStatus());
    InsertApiKey(txn, key);
    Audit(txn, actor, "api_key.created", "api_key", key.api_key_id, {},
          absl::StrCat("for user ", key.user_id, ", prefix ", key.secret_prefix));
    InvalidateScopes(txn, actor, "api_key", key.api_key_id, {key.api_key_id}, inv);
    return absl::OkStatus();
  }));
  v1::CreateApiKeyResponse response;
  *response.mutable_api_key() = ToProto(key);
  response.set_secret(secret);
  return response;
}

absl::StatusOr<v1::ListApiKeysResponse> IdentityManager::ListApiKeys(
    const auth::RequestContext& caller, const v1::ListApiKeysRequest& request) {
  std::vector<ApiKeyRecord> keys;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    keys = permissions::ListApiKeys(txn, caller.tenant_id, request.user_id());
    return absl::OkStatus();
  }));
  v1::ListApiKeysResponse response;
  for (const ApiKeyRecord& key : keys) *response.add_api_keys() = ToProto(key);
  return response;
}

absl::StatusOr<v1::ApiKey> IdentityManager::RevokeApiKey(const auth::RequestContext& caller,
                                                         std::string_view api_key_id) {
  const absl::Time now = Now();
  const Actor actor = ActorOf(caller, now);
  std::optional<ApiKeyRecord> revoked;
  TL_RETURN_IF_ERROR(Commit(caller.tenant_id, [&](pqxx::work& txn, Invalidations& inv) {
    revoked = FindApiKey(txn, caller.tenant_id, api_key_id, RowLock::kForUpdate);
    if (!revoked) {
      return absl::NotFoundError(absl::StrCat("no API key '", std::string(api_key_id), "'"));
    }
    if (revoked->revoke_time) return absl::OkStatus();
    RevokeApiKeyRow(txn, caller.tenant_id, revoked->api_key_id, now);
    revoked->revoke_time = now;
    Audit(txn, actor, "api_key.revoked", "api_key", revoked->api_key_id, {},
          absl::StrCat("key of user ", revoked->user_id));
    InvalidateScopes(txn, actor, "api_key", revoked->api_key_id, {revoked->api_key_id}, inv);
    return absl::OkStatus();
  }));
  return ToProto(*revoked);
}

absl::StatusOr<Principal> IdentityManager::ResolveSession(std::string_view tenant_id,
                                                          std::string_view user_id,
                                                          std::string_view session_id) {
  std::optional<SessionRecord> session;
  std::optional<UserRecord> user;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    session = FindSession(txn, tenant_id, session_id);
    if (session) user = FindUser(txn, tenant_id, session->user_id);
    return absl::OkStatus();
  }));
  if (!session || !user || session->user_id != absl::AsciiStrToLower(std::string(user_id))) {
    return absl::UnauthenticatedError("unknown session");
  }
  if (session->revoke_time) return absl::UnauthenticatedError("session revoked");
  if (session->expire_time <= Now()) return absl::UnauthenticatedError("session expired");
  if (user->state != v1::USER_STATE_ACTIVE) return absl::UnauthenticatedError("user disabled");
  return Principal{.tenant_id = std::string(tenant_id),
                   .user_id = user->user_id,
                   .session_id = session->session_id,
                   .kind = KindOf(*user),
                   .role_id = user->role_id,
                   .partner_org_id = user->partner_org_id,
                   .key_permissions = {},
                   .is_api_key = false,
                   .expire_time = session->expire_time};
}

absl::StatusOr<Principal> IdentityManager::ResolveApiKey(std::string_view secret) {
  const std::string tenant_id = ApiKeyTenant(secret);
  if (tenant_id.empty()) return absl::UnauthenticatedError(kInvalidApiKey);
  std::optional<ApiKeyRecord> key;
  std::optional<UserRecord> user;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    key = FindApiKeyBySecretHash(txn, tenant_id, Sha256Hex(secret));
    if (key) user = FindUser(txn, tenant_id, key->user_id);
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
