// The permissions service's own auth::ScopeSource: it resolves a credential against the
// sessions and API keys of this service (IdentityManager) and compiles the scope in process,
// where other services ask GetEffectiveScope over gRPC.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_SCOPE_SOURCE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_SCOPE_SOURCE_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/scope_authenticator.h"
#include "common/auth/token.h"
#include "common/enforcement/scope_invalidation.h"
#include "common/redis/pool.h"
#include "services/permissions/identity/identity_manager.h"
#include "services/permissions/org/org_manager.h"
#include "services/permissions/scope_compiler.h"

namespace touchline::permissions {

// Thread-safe.
class InProcessScopeSource : public auth::ScopeSource {
 public:
  // `verifier` reads the claims of a bearer token (the authenticator has verified it before;
  // verifying again costs only on a cache miss and keeps this source safe on its own).
  // `identity` and `compiler` are not owned and must outlive the source.
  InProcessScopeSource(auth::TokenVerifier verifier, IdentityManager* identity,
                       const ScopeCompiler* compiler,
                       std::function<absl::Time()> clock = &absl::Now);

  // UNAUTHENTICATED for a token that does not verify, or a credential IdentityManager
  // refuses (revoked or expired session, disabled user, unknown or revoked API key).
  absl::StatusOr<v1::EffectiveScope> Fetch(const auth::Credential& credential) override;

 private:
  const auth::TokenVerifier verifier_;
  IdentityManager* const identity_;
  const ScopeCompiler* const compiler_;
  const std::function<absl::Time()> clock_;
};

// The scopes of this process: compiled in process (InProcessScopeSource), cached by an
// auth::ScopeAuthenticator, and dropped when this process changes them (invalidator()) or
// another replica does (a ScopeInvalidationListener on the permissions topic, run by
// Start/Stop). Not copyable.
class InProcessScopes {
 public:
  // None owned; all must outlive this.
  InProcessScopes(const auth::TokenVerifier& verifier, IdentityManager* identity,
                  const ScopeCompiler* compiler, redis::Pool* redis, std::string stream_prefix);

  auth::ScopeAuthenticator* authenticator() { return &authenticator_; }
  // Drops this process's cached scopes of a tenant (all of them for an empty list).
  InvalidateScopesFn invalidator();
  void Start() { listener_.Start(); }
  void Stop() { listener_.Stop(); }

 private:
  auth::ScopeAuthenticator authenticator_;
  enforcement::ScopeInvalidationListener listener_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_SCOPE_SOURCE_H_
