// IdentityManager, users: creation (idempotent by request_id), reads, updates with reporting
// line checks, disabling, and the caller's own TOTP enrolment.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/auth/scope.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/paging/page_token.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/text/text.h"
#include "common/validation/field_checker.h"
#include "services/permissions/identity/identity_internal.h"
#include "services/permissions/identity/identity_manager.h"
#include "services/permissions/identity/totp.h"

namespace touchline::permissions {
namespace {

using namespace identity_internal;  // NOLINT(build/namespaces): the parts of this manager.

constexpr size_t kMaxUsernameLength = 128;
constexpr size_t kMaxEmailBytes = 254;
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

// The update_mask paths UpdateUser accepts.
constexpr std::array<const char*, 5> kUpdatablePaths = {"display_name", "email", "role_id",
                                                        "manager_id", "password"};

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
  validation::FieldChecker fields(violations);
  if (paths.contains("role_id")) fields.Required(!user.role_id().empty(), "user.role_id");
  // References are looked up by value: bytes PostgreSQL cannot hold are refused first.
  for (const auto& [name, value] :
       {std::pair{"role_id", &user.role_id()}, std::pair{"manager_id", &user.manager_id()},
        std::pair{"partner_org_id", &user.partner_org_id()}}) {
    if (paths.contains(name)) fields.Encoding(*value, absl::StrCat("user.", name));
  }
}

// Checks what `user` refers to: its role (and that it suits an employee or a partner user)
// and its partner organisation; and its manager, unless `check_manager` is false.
absl::Status CheckReferences(IdentityReader& txn, const UserRecord& user, bool check_role,
                             bool check_manager, status::FieldViolations& violations) {
  if (check_role) {
    TL_ASSIGN_OR_RETURN(const std::optional<RoleFacts> role,
                        txn.FindRole(user.tenant_id, user.role_id));
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
  if (!check_manager || user.manager_id.empty()) return absl::OkStatus();
  if (!user.partner_org_id.empty()) {
    violations.Add("user.manager_id", "partner users have no manager");
    return absl::OkStatus();
  }
  if (user.manager_id == user.user_id) {
    violations.Add("user.manager_id", "a user cannot be their own manager");
    return absl::OkStatus();
  }
  TL_ASSIGN_OR_RETURN(const std::optional<UserRecord> manager,
                      txn.FindUser(user.tenant_id, user.manager_id, RowLock::kNone));
  if (!manager) {
    violations.Add("user.manager_id", absl::StrCat("no user '", user.manager_id, "'"));
    return absl::OkStatus();
  }
  if (!manager->partner_org_id.empty()) {
    violations.Add("user.manager_id",
                   absl::StrCat("user '", user.manager_id, "' is a partner user"));
    return absl::OkStatus();
  }
  // The new line user -> manager closes a cycle when the user is above the manager already.
  TL_ASSIGN_OR_RETURN(std::vector<std::string> chain,
                      txn.ManagerChain(user.tenant_id, user.manager_id));
  std::vector<std::string> cycle = {user.user_id, user.manager_id};
  for (std::string& above : chain) {
    const bool closes = above == user.user_id;
    cycle.push_back(std::move(above));
    if (closes) {
      violations.Add("user.manager_id",
                     absl::StrCat("would make a reporting cycle: ", absl::StrJoin(cycle, " -> ")));
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
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

}  // namespace

absl::StatusOr<v1::User> IdentityManager::CreateUser(const auth::RequestContext& caller,
                                                     const v1::CreateUserRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  const v1::User& in = request.user();
  status::FieldViolations violations;
  CheckUserFields(in,
                  {"username", "display_name", "email", "role_id", "manager_id", "partner_org_id"},
                  violations);
  if (std::optional<std::string> problem = CheckPassword(request.password())) {
    violations.Add("password", std::move(*problem));
  }
  if (std::optional<std::string> problem = idempotency::RequestIdProblem(request.request_id())) {
    violations.Add("request_id", *std::move(problem));
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
  TL_RETURN_IF_ERROR(
      Commit(caller.tenant_id, [&](IdentityTransaction& txn, Invalidations& inv) -> absl::Status {
        created.reset();
        if (!request.request_id().empty()) {
          TL_ASSIGN_OR_RETURN(const idempotency::Claim claim,
                              txn.ClaimRequestId({.tenant_id = caller.tenant_id,
                                                  .request_id = request.request_id(),
                                                  .method = "CreateUser",
                                                  .fingerprint = fingerprint},
                                                 user.user_id));
          if (claim.decision == idempotency::Decision::kConflict) {
            return absl::AlreadyExistsError(absl::StrCat("request_id '", request.request_id(),
                                                         "' was used for another request"));
          }
          if (claim.decision == idempotency::Decision::kReplay) {
            TL_ASSIGN_OR_RETURN(created,
                                txn.FindUser(caller.tenant_id, claim.result, RowLock::kNone));
            if (!created) return UserNotFound(claim.result);
            return absl::OkStatus();
          }
        }
        status::FieldViolations references;
        if (!user.partner_org_id.empty()) {
          TL_ASSIGN_OR_RETURN(const bool exists,
                              txn.PartnerOrgExists(caller.tenant_id, user.partner_org_id));
          if (!exists) {
            references.Add("user.partner_org_id",
                           absl::StrCat("no partner organisation '", user.partner_org_id, "'"));
          }
        }
        TL_RETURN_IF_ERROR(
            CheckReferences(txn, user, /*check_role=*/true, /*check_manager=*/true, references));
        TL_RETURN_IF_ERROR(references.ToStatus());
        TL_ASSIGN_OR_RETURN(const std::optional<UserRecord> taken,
                            txn.FindUserByUsername(caller.tenant_id, user.username));
        if (taken) {
          return absl::AlreadyExistsError(absl::StrCat("username '", user.username, "' is taken"));
        }
        TL_RETURN_IF_ERROR(txn.InsertUser(user));
        std::vector<std::string> fields = {"username", "display_name", "role_id"};
        if (!user.email.empty()) fields.push_back("email");
        if (!user.manager_id.empty()) fields.push_back("manager_id");
        if (!user.partner_org_id.empty()) fields.push_back("partner_org_id");
        TL_RETURN_IF_ERROR(
            Audit(txn, actor, "user.created", "user", user.user_id, std::move(fields),
                  absl::StrCat("username \"", user.username, "\", role ", user.role_id)));
        // Only the managers' scopes grow (their owner_ids gain the user); a user at the top of
        // the hierarchy changes no existing scope.
        if (!user.manager_id.empty()) {
          TL_RETURN_IF_ERROR(InvalidateScopes(txn, actor, "user", user.user_id, {}, inv));
        }
        TL_ASSIGN_OR_RETURN(created, txn.FindUser(caller.tenant_id, user.user_id, RowLock::kNone));
        if (!created) return UserNotFound(user.user_id);
        return absl::OkStatus();
      }));
  return ToProto(*created, now);
}

absl::StatusOr<v1::User> IdentityManager::GetUser(const auth::RequestContext& caller,
                                                  std::string_view user_id) {
  if (user_id != caller.caller_id) TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  std::optional<UserRecord> user;
  TL_RETURN_IF_ERROR(store_->Read([&](IdentityReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(user, txn.FindUser(caller.tenant_id, user_id, RowLock::kNone));
    return absl::OkStatus();
  }));
  if (!user) return UserNotFound(user_id);
  return ToProto(*user, Now());
}

absl::StatusOr<v1::ListUsersResponse> IdentityManager::ListUsers(
    const auth::RequestContext& caller, const v1::ListUsersRequest& request) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  TL_ASSIGN_OR_RETURN(const int page_size, PageSize(request.page_size()));
  status::FieldViolations violations;
  for (const auto& [field, value] :
       {std::pair{"partner_org_id", &request.partner_org_id()},
        std::pair{"username", &request.username()}, std::pair{"email", &request.email()}}) {
    validation::FieldChecker(violations).Encoding(*value, field);
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
  TL_RETURN_IF_ERROR(store_->Read([&](IdentityReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(users, txn.ListUsers(caller.tenant_id,
                                             UserFilter{.partner_org_id = request.partner_org_id(),
                                                        .username = request.username(),
                                                        .email = request.email()},
                                             after, page_size + 1));
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
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  const v1::User& in = request.user();
  status::FieldViolations violations;
  validation::FieldChecker(violations).Required(!in.user_id().empty(), "user.user_id");
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
  TL_RETURN_IF_ERROR(
      Commit(caller.tenant_id, [&](IdentityTransaction& txn, Invalidations& inv) -> absl::Status {
        // Reporting lines change one at a time per tenant, or two concurrent changes could each
        // pass the cycle check and together close a cycle.
        if (paths.contains("manager_id"))
          TL_RETURN_IF_ERROR(txn.LockReportingLines(caller.tenant_id));
        TL_ASSIGN_OR_RETURN(std::optional<UserRecord> user,
                            txn.FindUser(caller.tenant_id, in.user_id(), RowLock::kForUpdate));
        if (!user) return UserNotFound(in.user_id());
        if (user->state != v1::USER_STATE_ACTIVE) return UserDisabled(user->user_id);
        const std::string old_manager = user->manager_id;
        if (paths.contains("display_name")) user->display_name = text::TrimSpace(in.display_name());
        if (paths.contains("email")) user->email = text::TrimSpace(in.email());
        if (paths.contains("role_id")) user->role_id = in.role_id();
        if (paths.contains("manager_id")) user->manager_id = absl::AsciiStrToLower(in.manager_id());
        status::FieldViolations references;
        TL_RETURN_IF_ERROR(CheckReferences(
            txn, *user, paths.contains("role_id"),
            paths.contains("manager_id") && user->manager_id != old_manager, references));
        TL_RETURN_IF_ERROR(references.ToStatus());

        std::vector<std::string> revoked;
        if (paths.contains("password")) {
          user->password_hash = password_hash;
          // A new password ends the sessions opened with the old one, and unlocks the account.
          user->failed_logins = 0;
          user->locked_until.reset();
          TL_ASSIGN_OR_RETURN(revoked,
                              txn.RevokeUserSessions(caller.tenant_id, user->user_id, now));
        }
        user->update_time = now;
        ++user->version;
        TL_RETURN_IF_ERROR(txn.SaveUser(*user));

        std::vector<std::string> fields;
        for (const char* path : kUpdatablePaths) {
          if (paths.contains(path)) fields.emplace_back(path);
        }
        TL_RETURN_IF_ERROR(
            Audit(txn, actor, "user.updated", "user", user->user_id, std::move(fields),
                  revoked.empty() ? "" : absl::StrCat(revoked.size(), " sessions ended")));
        if (user->manager_id != old_manager) {
          // Every manager above the old and the new position sees other owners now.
          TL_RETURN_IF_ERROR(InvalidateScopes(txn, actor, "user", user->user_id, {}, inv));
        } else {
          TL_ASSIGN_OR_RETURN(std::vector<std::string> affected,
                              txn.LiveCredentialIds(caller.tenant_id, user->user_id, now));
          affected.insert(affected.end(), revoked.begin(), revoked.end());
          TL_RETURN_IF_ERROR(
              InvalidateUserScopes(txn, actor, user->user_id, std::move(affected), inv));
        }
        updated = std::move(user);
        return absl::OkStatus();
      }));
  return ToProto(*updated, now);
}

absl::StatusOr<v1::User> IdentityManager::DisableUser(const auth::RequestContext& caller,
                                                      std::string_view user_id) {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, v1::PERMISSION_ADMINISTER));
  const absl::Time now = Now();
  const Actor actor = ActorOf(caller, now);
  std::optional<UserRecord> disabled;
  TL_RETURN_IF_ERROR(
      Commit(caller.tenant_id, [&](IdentityTransaction& txn, Invalidations& inv) -> absl::Status {
        TL_ASSIGN_OR_RETURN(std::optional<UserRecord> user,
                            txn.FindUser(caller.tenant_id, user_id, RowLock::kForUpdate));
        if (!user) return UserNotFound(user_id);
        if (user->state != v1::USER_STATE_DISABLED) {
          user->state = v1::USER_STATE_DISABLED;
          user->update_time = now;
          ++user->version;
          TL_RETURN_IF_ERROR(txn.SaveUser(*user));
          TL_ASSIGN_OR_RETURN(std::vector<std::string> ended,
                              txn.RevokeUserSessions(caller.tenant_id, user->user_id, now));
          TL_ASSIGN_OR_RETURN(const std::vector<std::string> keys,
                              txn.RevokeUserApiKeys(caller.tenant_id, user->user_id, now));
          TL_RETURN_IF_ERROR(Audit(
              txn, actor, "user.disabled", "user", user->user_id, {"state"},
              absl::StrCat(ended.size(), " sessions and ", keys.size(), " API keys revoked")));
          ended.insert(ended.end(), keys.begin(), keys.end());
          TL_RETURN_IF_ERROR(
              InvalidateUserScopes(txn, actor, user->user_id, std::move(ended), inv));
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
  TL_RETURN_IF_ERROR(
      Commit(caller.tenant_id, [&](IdentityTransaction& txn, Invalidations& inv) -> absl::Status {
        TL_ASSIGN_OR_RETURN(std::optional<UserRecord> user,
                            txn.FindUser(caller.tenant_id, caller.caller_id, RowLock::kForUpdate));
        if (!user) return UserNotFound(caller.caller_id);
        if (user->state != v1::USER_STATE_ACTIVE) return UserDisabled(user->user_id);
        TL_RETURN_IF_ERROR(change(*user, now));
        user->update_time = now;
        ++user->version;
        TL_RETURN_IF_ERROR(txn.SaveUser(*user));
        TL_RETURN_IF_ERROR(Audit(txn, actor, action, "user", user->user_id, fields));
        TL_ASSIGN_OR_RETURN(std::vector<std::string> live,
                            txn.LiveCredentialIds(caller.tenant_id, user->user_id, now));
        TL_RETURN_IF_ERROR(InvalidateUserScopes(txn, actor, user->user_id, std::move(live), inv));
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

}  // namespace touchline::permissions
