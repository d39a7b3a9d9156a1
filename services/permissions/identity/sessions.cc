// IdentityManager, login and sessions: login with throttling and TOTP, refresh token
// rotation, ending sessions, resolving a session for GetEffectiveScope, and the retention of
// ended sessions.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/text/text.h"
#include "services/permissions/identity/identity_internal.h"
#include "services/permissions/identity/identity_manager.h"
#include "services/permissions/identity/login_throttle.h"
#include "services/permissions/identity/totp.h"

namespace touchline::permissions {
namespace {

using namespace identity_internal;  // NOLINT(build/namespaces): the parts of this manager.

// No username is longer (in characters); of up to 4 UTF-8 bytes each.
constexpr size_t kMaxUsernameBytesAudited = 4 * 128;

constexpr char kInvalidCredentials[] = "invalid credentials";
constexpr char kInvalidRefreshToken[] = "invalid refresh token";

// How often Login reads the user again when the password changed while it verified.
constexpr int kLoginAttempts = 3;

v1::PrincipalKind KindOf(const UserRecord& user) {
  return user.partner_org_id.empty() ? v1::PRINCIPAL_KIND_USER : v1::PRINCIPAL_KIND_PARTNER_USER;
}

}  // namespace

absl::StatusOr<v1::LoginResponse> IdentityManager::Login(std::string_view tenant_id,
                                                         std::string_view client,
                                                         std::string_view address,
                                                         std::string_view request_id,
                                                         const v1::LoginRequest& request) {
  const LoginThrottle throttle(options_.login_throttle, tenant_id, address, request.username());
  for (int attempt = 0; attempt < kLoginAttempts; ++attempt) {
    // A throttled attempt costs neither a password verification nor a write.
    std::optional<absl::Time> refused_until;
    TL_RETURN_IF_ERROR(store_->Read([&](IdentityReader& txn) -> absl::Status {
      TL_ASSIGN_OR_RETURN(refused_until, throttle.RefusedUntil(txn, Now()));
      return absl::OkStatus();
    }));
    if (refused_until) return LoginThrottle::Refusal(*refused_until, Now());
    // Read, verify the password outside any transaction (argon2id is slow on purpose), then
    // decide under the row lock: a lock that came meanwhile still refuses.
    std::optional<UserRecord> seen;
    TL_RETURN_IF_ERROR(store_->Read([&](IdentityReader& txn) -> absl::Status {
      // A username PostgreSQL cannot hold names no one: refused as an unknown user is.
      if (text::EncodingProblem(request.username()) == nullptr) {
        TL_ASSIGN_OR_RETURN(seen, txn.FindUserByUsername(tenant_id, request.username()));
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
    Actor actor = UnknownActor(tenant_id, request_id, client, now);
    // Capped: no username is longer, and the audit log should not store whatever was sent.
    const std::string who =
        absl::StrCat("username \"", request.username().substr(0, kMaxUsernameBytesAudited), "\"");
    absl::Status refusal;
    bool changed_meanwhile = false;
    v1::LoginResponse response;
    TL_RETURN_IF_ERROR(
        Commit(tenant_id, [&](IdentityTransaction& txn, Invalidations&) -> absl::Status {
          // A retried transaction starts over.
          refusal = absl::UnauthenticatedError(kInvalidCredentials);
          changed_meanwhile = false;
          actor.actor_id.clear();
          std::optional<UserRecord> user;
          if (seen) {
            TL_ASSIGN_OR_RETURN(user, txn.FindUser(tenant_id, seen->user_id, RowLock::kForUpdate));
          }
          if (!user) {
            TL_RETURN_IF_ERROR(throttle.RecordFailure(txn, now));
            return Audit(txn, actor, "login.failed", "user", "", {},
                         absl::StrCat(who, ": unknown user"));
          }
          if (user->password_hash != seen->password_hash) {
            changed_meanwhile = true;
            return absl::OkStatus();
          }
          if (user->state != v1::USER_STATE_ACTIVE) {
            TL_RETURN_IF_ERROR(throttle.RecordFailure(txn, now));
            return Audit(txn, actor, "login.failed", "user", user->user_id, {},
                         absl::StrCat(who, ": user disabled"));
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
            TL_RETURN_IF_ERROR(throttle.RecordFailure(txn, now));
            return Audit(txn, actor, "login.failed", "user", user->user_id, {},
                         absl::StrCat(who, ": ", reason));
          }

          TL_RETURN_IF_ERROR(throttle.RecordSuccess(txn, now));
          if (step) user->totp_last_step = *step;
          if (!rehashed.empty()) user->password_hash = rehashed;
          TL_RETURN_IF_ERROR(txn.SaveUser(*user));
          const SessionRecord session = {.tenant_id = std::string(tenant_id),
                                         .session_id = ids::NewUuid(now),
                                         .user_id = user->user_id,
                                         .refresh_hash = "",
                                         .previous_refresh_hash = "",
                                         .client = std::string(client),
                                         .create_time = now,
                                         .expire_time = now + options_.session_ttl,
                                         .revoke_time = std::nullopt,
                                         .delegated_to = ""};
          TL_ASSIGN_OR_RETURN(response, IssueTokens(session, *user, now));
          SessionRecord stored = session;
          stored.refresh_hash = Sha256Hex(response.refresh_token());
          TL_RETURN_IF_ERROR(txn.InsertSession(stored));
          actor.actor_id = user->user_id;
          TL_RETURN_IF_ERROR(
              Audit(txn, actor, "login.succeeded", "session", session.session_id, {},
                    absl::StrCat(who, rehashed.empty() ? "" : "; password rehashed")));
          refusal = absl::OkStatus();
          return absl::OkStatus();
        }));
    if (changed_meanwhile) continue;
    if (!refusal.ok()) return refusal;
    return response;
  }
  return absl::AbortedError("the password changed during login; try again");
}

absl::StatusOr<IdentityManager::AccessToken> IdentityManager::SignAccessToken(
    const SessionRecord& session, absl::Time now) const {
  const absl::Time expire_time = std::min(now + options_.access_token_ttl, session.expire_time);
  TL_ASSIGN_OR_RETURN(std::string token, signer_.Sign({.tenant_id = session.tenant_id,
                                                       .user_id = session.user_id,
                                                       .session_id = session.session_id,
                                                       .issue_time = now,
                                                       .expire_time = expire_time}));
  return AccessToken{.token = std::move(token), .expire_time = expire_time};
}

absl::StatusOr<v1::LoginResponse> IdentityManager::IssueTokens(const SessionRecord& session,
                                                               const UserRecord& user,
                                                               absl::Time now) const {
  TL_ASSIGN_OR_RETURN(AccessToken access, SignAccessToken(session, now));
  v1::LoginResponse response;
  response.set_access_token(std::move(access.token));
  *response.mutable_access_token_expire_time() = ToProtoTime(access.expire_time);
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
  Actor actor = UnknownActor(tenant_id, request_id, client, now);
  absl::Status refusal;
  v1::LoginResponse response;
  TL_RETURN_IF_ERROR(
      Commit(tenant_id, [&](IdentityTransaction& txn, Invalidations& inv) -> absl::Status {
        refusal = absl::UnauthenticatedError(kInvalidRefreshToken);
        actor.actor_id.clear();
        TL_ASSIGN_OR_RETURN(std::optional<SessionRecord> session,
                            txn.FindSession(tenant_id, session_id, RowLock::kForUpdate));
        // A delegated session has no refresh token (its refresh_hash matches none); refused
        // by name as well, so that no stored value could ever make one.
        if (!session || session->revoke_time || session->expire_time <= now ||
            !session->delegated_to.empty()) {
          return absl::OkStatus();
        }
        if (!session->previous_refresh_hash.empty() &&
            SameHash(presented_hash, session->previous_refresh_hash)) {
          // A replaced token came back: whoever holds the current one may have stolen it.
          TL_RETURN_IF_ERROR(txn.RevokeSession(tenant_id, session_id, now));
          actor.actor_id = session->user_id;
          TL_RETURN_IF_ERROR(Audit(txn, actor, "session.revoked", "session", session_id, {},
                                   "a replaced refresh token was presented again"));
          return InvalidateScopes(txn, actor, "session", session_id, {session_id}, inv);
        }
        if (!SameHash(presented_hash, session->refresh_hash)) return absl::OkStatus();
        TL_ASSIGN_OR_RETURN(const std::optional<UserRecord> user,
                            txn.FindUser(tenant_id, session->user_id, RowLock::kNone));
        if (!user || user->state != v1::USER_STATE_ACTIVE) return absl::OkStatus();
        TL_ASSIGN_OR_RETURN(response, IssueTokens(*session, *user, now));
        session->previous_refresh_hash = session->refresh_hash;
        session->refresh_hash = Sha256Hex(response.refresh_token());
        TL_RETURN_IF_ERROR(txn.SaveRefreshHashes(*session));
        refusal = absl::OkStatus();
        return absl::OkStatus();
      }));
  if (!refusal.ok()) return refusal;
  return response;
}

absl::Status IdentityManager::RevokeSession(const auth::RequestContext& caller,
                                            std::string_view session_id) {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  const bool may_revoke_others = scope->Has(v1::PERMISSION_ADMINISTER);
  const absl::Time now = Now();
  const Actor actor = ActorOf(caller, now);
  return Commit(
      caller.tenant_id, [&](IdentityTransaction& txn, Invalidations& inv) -> absl::Status {
        TL_ASSIGN_OR_RETURN(const std::optional<SessionRecord> session,
                            txn.FindSession(caller.tenant_id, session_id, RowLock::kForUpdate));
        // Another user's session does not exist for a caller who may not end it.
        if (!session || (session->user_id != caller.caller_id && !may_revoke_others)) {
          return absl::NotFoundError(absl::StrCat("no session '", std::string(session_id), "'"));
        }
        if (session->revoke_time) return absl::OkStatus();
        TL_RETURN_IF_ERROR(txn.RevokeSession(caller.tenant_id, session->session_id, now));
        TL_RETURN_IF_ERROR(Audit(txn, actor, "session.revoked", "session", session->session_id, {},
                                 absl::StrCat("session of user ", session->user_id)));
        return InvalidateScopes(txn, actor, "session", session->session_id, {session->session_id},
                                inv);
      });
}

absl::StatusOr<int64_t> IdentityManager::PurgeEndedSessions() {
  return store_->PurgeSessions(Now() - options_.session_retention, options_.session_purge_batch);
}

absl::StatusOr<int64_t> IdentityManager::PurgeAllEndedSessions(
    const std::function<bool()>& stopping) {
  int64_t deleted = 0;
  while (true) {
    TL_ASSIGN_OR_RETURN(const int64_t batch, PurgeEndedSessions());
    deleted += batch;
    if (batch < options_.session_purge_batch || stopping()) return deleted;
  }
}

absl::StatusOr<Principal> IdentityManager::ResolveSession(std::string_view tenant_id,
                                                          std::string_view user_id,
                                                          std::string_view session_id) {
  std::optional<SessionRecord> session;
  std::optional<UserRecord> user;
  TL_RETURN_IF_ERROR(store_->Read([&](IdentityReader& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(session, txn.FindSession(tenant_id, session_id, RowLock::kNone));
    if (session) {
      TL_ASSIGN_OR_RETURN(user, txn.FindUser(tenant_id, session->user_id, RowLock::kNone));
    }
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

}  // namespace touchline::permissions
