#include "services/permissions/scope_source.h"

#include <memory>
#include <utility>

#include "common/status/macros.h"

namespace touchline::permissions {

InProcessScopeSource::InProcessScopeSource(auth::TokenVerifier verifier, IdentityManager* identity,
                                           const ScopeCompiler* compiler,
                                           std::function<absl::Time()> clock)
    : verifier_(std::move(verifier)),
      identity_(identity),
      compiler_(compiler),
      clock_(std::move(clock)) {}

absl::StatusOr<v1::EffectiveScope> InProcessScopeSource::Fetch(const auth::Credential& credential) {
  Principal principal;
  if (credential.kind == auth::Credential::Kind::kApiKey) {
    TL_ASSIGN_OR_RETURN(principal, identity_->ResolveApiKey(credential.secret));
  } else {
    TL_ASSIGN_OR_RETURN(const auth::TokenClaims claims,
                        verifier_.Verify(credential.secret, clock_()));
    TL_ASSIGN_OR_RETURN(
        principal, identity_->ResolveSession(claims.tenant_id, claims.user_id, claims.session_id));
  }
  TL_ASSIGN_OR_RETURN(const std::shared_ptr<const auth::Scope> scope,
                      compiler_->Compile(principal));
  return scope->proto();
}

InProcessScopes::InProcessScopes(const auth::TokenVerifier& verifier, IdentityManager* identity,
                                 const ScopeCompiler* compiler, redis::Pool* redis,
                                 std::string stream_prefix)
    : authenticator_(verifier,
                     std::make_unique<InProcessScopeSource>(verifier, identity, compiler)),
      listener_(redis, std::move(stream_prefix), &authenticator_) {}

InvalidateScopesFn InProcessScopes::invalidator() {
  return [this](const std::string& tenant, const std::vector<std::string>& session_ids) {
    authenticator_.Invalidate(tenant, session_ids);
  };
}

}  // namespace touchline::permissions
