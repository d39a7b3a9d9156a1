// Authenticates every call of a service: verifies the bearer token (or hands an API key to
// the permissions service), then attaches the caller's compiled scope, cached per session
// and dropped when a policy-change event says so.
#ifndef TOUCHLINE_COMMON_AUTH_SCOPE_AUTHENTICATOR_H_
#define TOUCHLINE_COMMON_AUTH_SCOPE_AUTHENTICATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "common/auth/token.h"
#include "grpcpp/channel.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::auth {

inline constexpr char kAuthorizationHeader[] = "authorization";
inline constexpr char kApiKeyHeader[] = "x-api-key";

// The credential of one call, as presented.
struct Credential {
  enum class Kind { kBearer, kApiKey };
  Kind kind;
  std::string secret;  // the token or the API key, without the "Bearer " prefix
};

// The metadata (name, value) that presents `credential`: ("authorization", "Bearer <token>")
// or ("x-api-key", "<key>").
std::pair<std::string, std::string> CredentialMetadata(const Credential& credential);

// Where compiled scopes come from. Implementations are thread-safe.
class ScopeSource {
 public:
  virtual ~ScopeSource() = default;
  // The scope of `credential`; UNAUTHENTICATED when the permissions service refuses it
  // (revoked session, disabled user, unknown or revoked API key), UNAVAILABLE when it cannot
  // be asked.
  virtual absl::StatusOr<permissions::v1::EffectiveScope> Fetch(const Credential& credential) = 0;
};

// Asks PermissionsService.GetEffectiveScope over `channel`, forwarding the credential in
// metadata, with `timeout` as deadline. Maps transport failures to UNAVAILABLE.
std::unique_ptr<ScopeSource> MakeGrpcScopeSource(std::shared_ptr<grpc::Channel> channel,
                                                 absl::Duration timeout = absl::Seconds(2));

struct ScopeAuthenticatorOptions {
  // Longest a scope is used without fetching it again, even with no invalidation event (a
  // safety net for lost events). The scope's own expire_time can make it shorter.
  absl::Duration max_scope_age = absl::Minutes(5);
  // Most cached scopes and verified tokens (each); the oldest half is dropped when full.
  size_t max_entries = 100000;
  // What "now" is for token expiry and cache ages; tests replace it.
  std::function<absl::Time()> clock = &absl::Now;
};

// Thread-safe. For every call: exactly one credential ("authorization: Bearer <jwt>" or
// "x-api-key: <secret>"), else UNAUTHENTICATED ("missing credential", "more than one
// credential"). A bearer token is verified locally (results cached by the exact token until
// it expires); if x-touchline-tenant is also sent it must equal the token's tenant. The scope
// comes from the cache or the source; a fetched scope whose tenant or user differs from the
// token's is refused. The RequestContext carries tenant_id = scope tenant, caller_id = user
// id, and the scope.
class ScopeAuthenticator : public Authenticator {
 public:
  ScopeAuthenticator(TokenVerifier verifier, std::unique_ptr<ScopeSource> source,
                     ScopeAuthenticatorOptions options = {});

  absl::StatusOr<RequestContext> Authenticate(
      const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const override;

  // Drops cached scopes of `tenant_id`: those of `session_ids`, or all of the tenant when it
  // is empty. A fetch that was in flight when this ran is not cached. Call it from the
  // consumer of the "permissions" topic (ScopesInvalidated).
  void Invalidate(const std::string& tenant_id, const std::vector<std::string>& session_ids);

 private:
  struct CachedToken {
    TokenClaims claims;
    absl::Time valid_until;
    uint64_t inserted = 0;
  };
  struct CachedScope {
    std::shared_ptr<const Scope> scope;
    absl::Time valid_until;
    uint64_t inserted = 0;
  };
  // The cache keys of one tenant's scopes, so that Invalidate touches only them.
  struct TenantEntries {
    absl::flat_hash_set<std::string> session_ids;     // keys of session_scopes_
    absl::flat_hash_set<std::string> api_key_hashes;  // keys of api_key_scopes_
    // invalidations_ when the tenant was last invalidated: fetches that began before it are
    // not cached.
    uint64_t invalidated_at = 0;
  };

  // The claims of a bearer token, from the cache or verified (and then cached).
  absl::StatusOr<TokenClaims> VerifyToken(const std::string& token, absl::Time now) const;
  // Fetches, checks and compiles the scope of `credential`, and caches it unless the tenant
  // was invalidated after `invalidations` (the count seen before fetching). `claims` is the
  // verified token of a bearer credential, null for an API key.
  absl::StatusOr<std::shared_ptr<const Scope>> FetchScope(const Credential& credential,
                                                          const TokenClaims* claims,
                                                          const std::string& api_key_hash,
                                                          uint64_t invalidations,
                                                          absl::Time now) const;
  using ScopeMap = absl::flat_hash_map<std::string, CachedScope>;
  using KeyIndex = absl::flat_hash_set<std::string> TenantEntries::*;
  // Removes the scope cached under `key` in `scopes` and its key from its tenant's `index`.
  void EraseScope(ScopeMap& scopes, KeyIndex index, const std::string& key) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes room for one more scope when max_entries are cached: drops the older half.
  void MakeRoomForScope() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  TokenVerifier verifier_;
  std::unique_ptr<ScopeSource> source_;
  ScopeAuthenticatorOptions options_;

  mutable absl::Mutex mu_;
  // Counts insertions, so the oldest entries are known when the caches are full.
  mutable uint64_t insertions_ ABSL_GUARDED_BY(mu_) = 0;
  // Counts Invalidate calls.
  uint64_t invalidations_ ABSL_GUARDED_BY(mu_) = 0;
  // Verified tokens by their exact text, until they expire.
  mutable absl::flat_hash_map<std::string, CachedToken> tokens_ ABSL_GUARDED_BY(mu_);
  // Scopes of bearer tokens by session id, and of API keys by the SHA-256 of the key.
  mutable ScopeMap session_scopes_ ABSL_GUARDED_BY(mu_);
  mutable ScopeMap api_key_scopes_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<std::string, TenantEntries> tenants_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::auth

#endif  // TOUCHLINE_COMMON_AUTH_SCOPE_AUTHENTICATOR_H_
