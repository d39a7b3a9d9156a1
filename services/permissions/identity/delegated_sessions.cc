// IdentityManager, delegated sessions: access tokens of a user for a Touchline service acting
// on the user's behalf (the automation service, for a rule's owner). The token is a login's
// token of a session kept for that service, so every service checks it, caches its scope and
// drops that scope exactly as it does for the user's own logins.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/auth/request_context.h"
#include "common/auth/service_credential.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/validation/field_checker.h"
#include "services/permissions/identity/identity_internal.h"
#include "services/permissions/identity/identity_manager.h"

namespace touchline::permissions {
namespace {

using namespace identity_internal;  // NOLINT(build/namespaces): the parts of this manager.

constexpr size_t kMaxReasonLength = 200;

// The refresh_hash of a delegated session: not the hex SHA-256 of anything (64 hex digits), so
// no refresh token matches it (Refresh also refuses a delegated session by name).
constexpr char kNoRefreshHash[] = "none: delegated session";

absl::Status CheckRequest(std::string_view tenant_id, std::string_view user_id,
                          std::string& reason) {
  status::FieldViolations violations;
  validation::FieldChecker check(violations);
  if (check.Required(!tenant_id.empty(), "tenant_id") && !auth::IsValidTenantId(tenant_id)) {
    check.Add("tenant_id", "must match [a-z0-9][a-z0-9_-]{0,62}");
  }
  check.Uuid(user_id, "user_id");
  check.Text(reason, "reason", kMaxReasonLength);
  return violations.ToStatus();
}

}  // namespace

absl::StatusOr<v1::IssueDelegatedTokenResponse> IdentityManager::IssueDelegatedToken(
    std::string_view tenant_id, std::string_view user_id, std::string_view service,
    std::string_view reason, std::string_view request_id) {
  const std::vector<std::string>& allowed = options_.delegating_services;
  if (service.empty() || std::find(allowed.begin(), allowed.end(), service) == allowed.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("service \"", std::string(service),
                     "\" may not act on a user's behalf (not in --delegating_services)"));
  }
  std::string trimmed_reason(reason);
  TL_RETURN_IF_ERROR(CheckRequest(tenant_id, user_id, trimmed_reason));
  const std::string user_key = absl::AsciiStrToLower(std::string(user_id));
  const absl::Time now = Now();
  // A session that ends before a whole access token would is not reused: the new token would
  // be cut short.
  const absl::Time usable_until = now + options_.access_token_ttl;
  const auto check_user = [&](const std::optional<UserRecord>& user) -> absl::Status {
    if (!user) return UserNotFound(user_id);
    if (user->state != v1::USER_STATE_ACTIVE) return UserDisabled(user->user_id);
    return absl::OkStatus();
  };

  // Usually the session exists: a read, no write.
  std::optional<SessionRecord> session;
  TL_RETURN_IF_ERROR(store_->Read([&](IdentityReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(const std::optional<UserRecord> user,
                        txn.FindUser(tenant_id, user_key, RowLock::kNone));
    TL_RETURN_IF_ERROR(check_user(user));
    TL_ASSIGN_OR_RETURN(session,
                        txn.FindDelegatedSession(tenant_id, user_key, service, usable_until));
    return absl::OkStatus();
  }));

  if (!session) {
    const Actor actor = {.tenant_id = std::string(tenant_id),
                         .actor_id = absl::StrCat(auth::kServiceCallerPrefix, std::string(service)),
                         .request_id = std::string(request_id),
                         .client = "",
                         .now = now};
    TL_RETURN_IF_ERROR(
        Commit(tenant_id, [&](IdentityTransaction& txn, Invalidations&) -> absl::Status {
          // The user's row lock orders this against DisableUser (no session made for a user
          // being disabled survives it) and against a concurrent issue for the same user:
          // the later one waits, then finds the earlier one's session and reuses it, so two
          // concurrent first calls make one session. (Were they ever to make two, as on a
          // store without row locks, each would still be a valid session of the user, revoked
          // and purged with the others; the next calls reuse the one that expires last.)
          session.reset();
          TL_ASSIGN_OR_RETURN(const std::optional<UserRecord> user,
                              txn.FindUser(tenant_id, user_key, RowLock::kForUpdate));
          TL_RETURN_IF_ERROR(check_user(user));
          TL_ASSIGN_OR_RETURN(session,
                              txn.FindDelegatedSession(tenant_id, user_key, service, usable_until));
          if (session) return absl::OkStatus();
          session = SessionRecord{.tenant_id = std::string(tenant_id),
                                  .session_id = ids::NewUuid(now),
                                  .user_id = user->user_id,
                                  .refresh_hash = kNoRefreshHash,
                                  .previous_refresh_hash = "",
                                  .client = actor.actor_id,
                                  .create_time = now,
                                  .expire_time = now + options_.session_ttl,
                                  .revoke_time = std::nullopt,
                                  .delegated_to = std::string(service)};
          TL_RETURN_IF_ERROR(txn.InsertSession(*session));
          return Audit(
              txn, actor, "session.delegated", "session", session->session_id, {},
              absl::StrCat("user ", user->user_id, " delegated to service \"", std::string(service),
                           "\"", trimmed_reason.empty() ? "" : ": ", trimmed_reason));
        }));
  }

  TL_ASSIGN_OR_RETURN(AccessToken access, SignAccessToken(*session, now));
  v1::IssueDelegatedTokenResponse response;
  response.set_access_token(std::move(access.token));
  *response.mutable_expire_time() = ToProtoTime(access.expire_time);
  response.set_session_id(session->session_id);
  return response;
}

}  // namespace touchline::permissions
