// Identity in the permissions service: users and their reporting lines, passwords (argon2id),
// the TOTP second factor, throttling of failed logins, login sessions with rotating refresh
// tokens, and API keys. Every change commits together with its audit entry and, when it can
// make a cached scope stale, a ScopesInvalidated event on the "permissions" topic (naming the
// affected sessions and API keys, or none for the whole tenant), or not at all.
//
// One class, four parts: users.cc (users, reporting lines, TOTP enrolment), sessions.cc
// (login, refresh, sessions and their retention), delegated_sessions.cc (tokens for a
// service acting on a user's behalf) and api_keys.cc. The manager authorises the
// caller too: user administration and API keys need PERMISSION_ADMINISTER in the caller's
// scope (GetUser also allows the user themselves, ListApiKeys a user's own keys), a user may
// end their own sessions and others' only with PERMISSION_ADMINISTER; such refusals are
// PERMISSION_DENIED, INTERNAL "no scope" for a caller without a scope.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_MANAGER_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_MANAGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/auth/token.h"
#include "common/events/topics.h"
#include "common/paging/page_token.h"
#include "services/permissions/identity/identity_store.h"
#include "services/permissions/identity/login_throttle.h"
#include "services/permissions/identity/password.h"
#include "touchline/permissions/v1/delegation_service.pb.h"
#include "touchline/permissions/v1/permissions.pb.h"
#include "touchline/permissions/v1/permissions_service.pb.h"

namespace touchline::permissions {

// The topic of ScopesInvalidated events.
using ::touchline::events::kPermissionsTopic;

// Who a credential is, resolved against the current users, sessions and API keys.
struct Principal {
  std::string tenant_id;
  std::string user_id;
  // The login session, or the API key id for an API key.
  std::string session_id;
  v1::PrincipalKind kind = v1::PRINCIPAL_KIND_UNSPECIFIED;
  std::string role_id;
  // Empty for employees.
  std::string partner_org_id;
  // API keys only: what the key may do (empty = read only). The effective permissions are
  // these intersected with the role's.
  std::vector<v1::Permission> key_permissions;
  bool is_api_key = false;
  // When the session or key stops working; absl::InfiniteFuture() for a key without expiry.
  absl::Time expire_time;
};

struct IdentityOptions {
  // Lifetime of an access token (never beyond its session's end).
  absl::Duration access_token_ttl = absl::Minutes(15);
  // Lifetime of a login session and its refresh tokens, from login (refreshing does not
  // extend it).
  absl::Duration session_ttl = absl::Hours(12);
  // How failed logins slow further attempts (login_throttle.h).
  ThrottlePolicy login_throttle;
  // argon2id cost of new hashes; a stored hash with other costs is rehashed at the next
  // successful login. Tests use PasswordHashCost::Minimum().
  PasswordHashCost hash_cost = PasswordHashCost::Interactive();
  // TOTP codes of this many 30 s steps before and after now are accepted (clock drift).
  int totp_window_steps = 1;
  // Shown by authenticator apps (otpauth:// issuer).
  std::string totp_issuer = "Touchline";
  // How long a session stays stored after it expired or was revoked (PurgeEndedSessions);
  // audits of recent logins can still name it meanwhile.
  absl::Duration session_retention = absl::Hours(24 * 30);
  // Most sessions one PurgeEndedSessions statement deletes, so a purge never holds locks on
  // a large part of the table.
  int session_purge_batch = 1000;
  // The Touchline services that may act on a user's behalf (IssueDelegatedToken), by the
  // names their service credentials carry (common/auth/service_credential.h).
  std::vector<std::string> delegating_services = {"automation"};
  // What "now" is; tests replace it.
  std::function<absl::Time()> clock = &absl::Now;
  // Called after each committed change with what its ScopesInvalidated event says (the
  // tenant, and the affected session and API key ids, or none for the whole tenant), so the
  // service can drop its own cached scopes at once. May be empty.
  std::function<void(const std::string& tenant_id, const std::vector<std::string>& session_ids)>
      on_scopes_invalidated;
};

// Thread-safe.
class IdentityManager {
 public:
  // `store` (not owned, outlives the manager) holds users, sessions, API keys and what
  // commits with them (pg_identity_store.h in production). Preconditions (main validates its
  // flags): login_throttle thresholds >= 1, the durations > 0, totp_window_steps >= 0,
  // session_purge_batch >= 1. `page_tokens` seals ListUsers' page tokens.
  IdentityManager(IdentityStore* store, auth::TokenSigner signer, paging::PageTokens page_tokens,
                  IdentityOptions options = {});

  // --- Users. `caller.tenant_id` scopes every call; caller_id is the actor audited. ---

  // INVALID_ARGUMENT with field violations (user.username, user.display_name, user.email,
  // user.role_id, user.manager_id, user.partner_org_id, password); ALREADY_EXISTS for a
  // username taken in the tenant (case-insensitively) or a request_id reused with another
  // request. A retried request_id returns the user it created. The request's fingerprint
  // leaves the password out (a fast hash of it is never stored), so a retry with another
  // password counts as the same request.
  absl::StatusOr<v1::User> CreateUser(const auth::RequestContext& caller,
                                      const v1::CreateUserRequest& request);
  // NOT_FOUND if the tenant has no such user.
  absl::StatusOr<v1::User> GetUser(const auth::RequestContext& caller, std::string_view user_id);
  // By username; INVALID_ARGUMENT for a bad page size or token.
  absl::StatusOr<v1::ListUsersResponse> ListUsers(const auth::RequestContext& caller,
                                                  const v1::ListUsersRequest& request);
  // update_mask paths: display_name, email, role_id, manager_id, password. INVALID_ARGUMENT
  // for other paths, bad values or a reporting cycle ("would make a reporting cycle: a -> b ->
  // a"); NOT_FOUND for an unknown user; FAILED_PRECONDITION for a disabled one. A new
  // password also ends the user's sessions and clears a lockout.
  absl::StatusOr<v1::User> UpdateUser(const auth::RequestContext& caller,
                                      const v1::UpdateUserRequest& request);
  // Revokes every session and API key of the user. NOT_FOUND for an unknown user; disabling
  // a disabled user returns it unchanged.
  absl::StatusOr<v1::User> DisableUser(const auth::RequestContext& caller,
                                       std::string_view user_id);

  // --- TOTP, for the calling user (caller.caller_id). ---

  // A new pending secret (replacing an unconfirmed one); the enrolled factor, if any, stays
  // in force until ConfirmTotp. NOT_FOUND when the caller is not a user of the tenant,
  // FAILED_PRECONDITION when they are disabled (also for ConfirmTotp).
  absl::StatusOr<v1::EnrollTotpResponse> EnrollTotp(const auth::RequestContext& caller);
  // Makes the pending secret the second factor. FAILED_PRECONDITION without a pending
  // secret; INVALID_ARGUMENT (field "code") for a wrong code.
  absl::StatusOr<v1::User> ConfirmTotp(const auth::RequestContext& caller, std::string_view code);

  // --- Login and sessions. ---

  // UNAUTHENTICATED "invalid credentials" for an unknown user, a wrong password, a wrong or
  // missing TOTP code, or a disabled user. Each such failure counts against `address` (the
  // client address the service trusts) and the username as options.login_throttle says
  // (login_throttle.h); an attempt those counters hold back is RESOURCE_EXHAUSTED "too many
  // failed logins; retry in N s" with a google.rpc.RetryInfo, before the password is
  // checked. Every other attempt is audited; failures, their counts and audit entries commit
  // although the call fails. `client` and `request_id` are recorded in the audit log. A used
  // TOTP step (or an earlier one) never logs in again. Accounts are never locked.
  absl::StatusOr<v1::LoginResponse> Login(std::string_view tenant_id, std::string_view client,
                                          std::string_view address, std::string_view request_id,
                                          const v1::LoginRequest& request);
  // Rotates the refresh token. UNAUTHENTICATED "invalid refresh token" when it is unknown,
  // the session is revoked or expired, or the user is disabled; presenting the previous
  // refresh token again revokes the session (it was stolen or replayed).
  absl::StatusOr<v1::LoginResponse> Refresh(std::string_view tenant_id, std::string_view client,
                                            std::string_view request_id,
                                            const v1::RefreshTokenRequest& request);
  // Ends a session. NOT_FOUND when the tenant has no such session, or it belongs to another
  // user and the caller lacks PERMISSION_ADMINISTER. Revoking a revoked session succeeds.
  absl::Status RevokeSession(const auth::RequestContext& caller, std::string_view session_id);
  // Retention: deletes up to options.session_purge_batch sessions of any tenant that expired
  // or were revoked more than options.session_retention ago; returns how many. Run it
  // periodically; a full batch means more may be waiting.
  absl::StatusOr<int64_t> PurgeEndedSessions();
  // PurgeEndedSessions until a batch comes back short or `stopping` returns true; returns how
  // many it deleted in all.
  absl::StatusOr<int64_t> PurgeAllEndedSessions(const std::function<bool()>& stopping);

  // --- Delegated sessions: a Touchline service acting on a user's behalf. ---

  // An access token of `user_id` for `service` (the name its service credential carries),
  // signed like a login's (tenant, user, session) for options.access_token_ttl. It belongs to
  // the user's session delegated to `service`: the live one that outlasts the token, else a
  // new one of options.session_ttl, audited ("session.delegated", actor "service:<name>",
  // naming the service and `reason`; `request_id` recorded). Such a session is resolved,
  // invalidated, revoked (DisableUser, a new password, RevokeSession) and purged like a login
  // session, but has no refresh token: Refresh never accepts it. PERMISSION_DENIED when
  // `service` is not in options.delegating_services; INVALID_ARGUMENT with field violations
  // (tenant_id, user_id, reason: at most 200 characters, trimmed); NOT_FOUND when the tenant
  // has no such user; FAILED_PRECONDITION when the user is disabled.
  absl::StatusOr<v1::IssueDelegatedTokenResponse> IssueDelegatedToken(std::string_view tenant_id,
                                                                      std::string_view user_id,
                                                                      std::string_view service,
                                                                      std::string_view reason,
                                                                      std::string_view request_id);

  // --- API keys. ---

  // INVALID_ARGUMENT (api_key.display_name, api_key.user_id, api_key.permissions: a
  // permission the user's role lacks, api_key.expire_time in the past); FAILED_PRECONDITION
  // for a disabled user.
  absl::StatusOr<v1::CreateApiKeyResponse> CreateApiKey(const auth::RequestContext& caller,
                                                        const v1::CreateApiKeyRequest& request);
  // Newest first; the revoked ones too.
  absl::StatusOr<v1::ListApiKeysResponse> ListApiKeys(const auth::RequestContext& caller,
                                                      const v1::ListApiKeysRequest& request);
  // NOT_FOUND for an unknown key; revoking a revoked key returns it unchanged.
  absl::StatusOr<v1::ApiKey> RevokeApiKey(const auth::RequestContext& caller,
                                          std::string_view api_key_id);

  // --- For GetEffectiveScope. ---

  // The principal of a verified access token. UNAUTHENTICATED when the session is unknown,
  // belongs to another user, is revoked or expired, or the user is disabled.
  absl::StatusOr<Principal> ResolveSession(std::string_view tenant_id, std::string_view user_id,
                                           std::string_view session_id);
  // The principal of an API key secret ("tlk_<tenant>_<43 base64url characters>": the tenant
  // is part of the key). UNAUTHENTICATED when it is malformed, unknown, revoked or expired,
  // or its user is disabled.
  absl::StatusOr<Principal> ResolveApiKey(std::string_view secret);

 private:
  // options_.clock(), to the microsecond (what PostgreSQL keeps).
  absl::Time Now() const;
  // Runs `change` in one transaction. `change` appends the session id lists of the
  // ScopesInvalidated events it publishes to its second argument; after the commit each goes
  // to options_.on_scopes_invalidated.
  absl::Status Commit(std::string_view tenant_id,
                      const std::function<absl::Status(
                          IdentityTransaction&, std::vector<std::vector<std::string>>&)>& change);
  // Changes the calling user (caller.caller_id) in one transaction: locks the row (NOT_FOUND
  // when missing, FAILED_PRECONDITION when disabled), applies `change` (whose error aborts the
  // transaction), bumps version and update_time, saves, audits `action` with `fields`, and
  // invalidates the user's scopes.
  absl::StatusOr<v1::User> ChangeOwnUser(
      const auth::RequestContext& caller, std::string action, std::vector<std::string> fields,
      const std::function<absl::Status(UserRecord&, absl::Time)>& change);
  // A signed access token and a new refresh token for `session` (whose refresh_hash the
  // caller then sets to the new token's hash).
  absl::StatusOr<v1::LoginResponse> IssueTokens(const SessionRecord& session,
                                                const UserRecord& user, absl::Time now) const;
  // An access token of `session` signed at `now`: options_.access_token_ttl, capped at the
  // session's end.
  struct AccessToken {
    std::string token;
    absl::Time expire_time;
  };
  absl::StatusOr<AccessToken> SignAccessToken(const SessionRecord& session, absl::Time now) const;

  IdentityStore* const store_;
  const auth::TokenSigner signer_;
  const IdentityOptions options_;
  const paging::PageTokens page_tokens_;
  // A hash of a random password with options_.hash_cost: unknown users are verified against
  // it so that they take as long as known ones. An error (out of memory at construction)
  // fails every login.
  const absl::StatusOr<std::string> dummy_hash_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_MANAGER_H_
