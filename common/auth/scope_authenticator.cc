#include "common/auth/scope_authenticator.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"

namespace touchline::auth {
namespace {

namespace pv1 = ::touchline::permissions::v1;
using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

constexpr char kBearerScheme[] = "bearer";

std::string_view ViewOf(const grpc::string_ref& ref) {
  return std::string_view(ref.data(), ref.size());
}

// The one credential of a call. Only presence and shape are checked here.
absl::StatusOr<Credential> CredentialOf(const Metadata& metadata) {
  auto [auth_first, auth_last] = metadata.equal_range(kAuthorizationHeader);
  auto [key_first, key_last] = metadata.equal_range(kApiKeyHeader);
  const auto count = std::distance(auth_first, auth_last) + std::distance(key_first, key_last);
  if (count == 0) return absl::UnauthenticatedError("missing credential");
  if (count > 1) return absl::UnauthenticatedError("more than one credential");
  // A credential goes on to the permissions service as metadata: only what gRPC can carry.
  const std::string_view presented =
      ViewOf(key_first != key_last ? key_first->second : auth_first->second);
  if (!IsValidMetadataValue(presented)) {
    return absl::UnauthenticatedError("malformed credential: must be printable ASCII");
  }
  if (key_first != key_last) {
    const std::string_view key = ViewOf(key_first->second);
    if (key.empty()) return absl::UnauthenticatedError("missing credential");
    return Credential{.kind = Credential::Kind::kApiKey, .secret = std::string(key)};
  }
  std::string_view value = ViewOf(auth_first->second);
  const size_t space = value.find(' ');
  if (space == std::string_view::npos ||
      !absl::EqualsIgnoreCase(absl::string_view(value.data(), space), kBearerScheme)) {
    return absl::UnauthenticatedError("authorization must be \"Bearer <token>\"");
  }
  value.remove_prefix(space);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (value.empty()) return absl::UnauthenticatedError("missing credential");
  return Credential{.kind = Credential::Kind::kBearer, .secret = std::string(value)};
}

// The tenant the caller claims in metadata, if any.
absl::StatusOr<std::optional<std::string_view>> ClaimedTenant(const Metadata& metadata) {
  auto [first, last] = metadata.equal_range(kTenantHeader);
  if (first == last) return std::nullopt;
  if (std::next(first) != last) {
    return absl::UnauthenticatedError(
        absl::StrCat(kTenantHeader, " metadata given more than once"));
  }
  return ViewOf(first->second);
}

absl::Status TenantMismatch() {
  return absl::UnauthenticatedError(
      absl::StrCat(kTenantHeader, " does not match the tenant of the credential"));
}

// The SHA-256 of an API key: the cache holds no secret.
std::string HashApiKey(const std::string& key) {
  std::string hash(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(hash.data()),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return hash;
}

// The keys of the older half of `entries` (by insertion order).
template <typename Map>
std::vector<std::string> OlderHalf(const Map& entries) {
  std::vector<std::pair<uint64_t, const std::string*>> order;
  order.reserve(entries.size());
  for (const auto& [key, entry] : entries) order.emplace_back(entry.inserted, &key);
  const size_t half = std::max<size_t>(1, order.size() / 2);
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(half - 1),
                   order.end());
  std::vector<std::string> keys;
  keys.reserve(half);
  for (size_t i = 0; i < half; ++i) keys.push_back(*order[i].second);
  return keys;
}

}  // namespace

std::pair<std::string, std::string> CredentialMetadata(const Credential& credential) {
  if (credential.kind == Credential::Kind::kBearer) {
    return {kAuthorizationHeader, absl::StrCat("Bearer ", credential.secret)};
  }
  return {kApiKeyHeader, credential.secret};
}

namespace {

class GrpcScopeSource : public ScopeSource {
 public:
  GrpcScopeSource(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
      : stub_(pv1::PermissionsService::NewStub(std::move(channel))), timeout_(timeout) {}

  absl::StatusOr<pv1::EffectiveScope> Fetch(const Credential& credential) override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(timeout_));
    const auto [name, value] = CredentialMetadata(credential);
    context.AddMetadata(name, value);
    pv1::GetEffectiveScopeResponse response;
    const grpc::Status status =
        stub_->GetEffectiveScope(&context, pv1::GetEffectiveScopeRequest(), &response);
    if (status.ok()) return std::move(*response.mutable_scope());
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
        status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      return absl::UnauthenticatedError(status.error_message());
    }
    return absl::UnavailableError(
        absl::StrCat("permissions service unavailable: ", status.error_message()));
  }

 private:
  std::unique_ptr<pv1::PermissionsService::Stub> stub_;
  absl::Duration timeout_;
};

}  // namespace

std::unique_ptr<ScopeSource> MakeGrpcScopeSource(std::shared_ptr<grpc::Channel> channel,
                                                 absl::Duration timeout) {
  return std::make_unique<GrpcScopeSource>(std::move(channel), timeout);
}

ScopeAuthenticator::ScopeAuthenticator(TokenVerifier verifier, std::unique_ptr<ScopeSource> source,
                                       ScopeAuthenticatorOptions options)
    : verifier_(std::move(verifier)), source_(std::move(source)), options_(std::move(options)) {
  options_.max_entries = std::max<size_t>(options_.max_entries, 2);
}

absl::StatusOr<RequestContext> ScopeAuthenticator::Authenticate(
    const Metadata& client_metadata) const {
  absl::StatusOr<Credential> credential = CredentialOf(client_metadata);
  if (!credential.ok()) return credential.status();
  absl::StatusOr<std::optional<std::string_view>> claimed_tenant = ClaimedTenant(client_metadata);
  if (!claimed_tenant.ok()) return claimed_tenant.status();
  const absl::Time now = options_.clock();

  std::optional<TokenClaims> claims;
  std::string api_key_hash;
  std::shared_ptr<const Scope> scope;
  uint64_t invalidations = 0;
  if (credential->kind == Credential::Kind::kBearer) {
    // The hot path: a token and scope seen before cost one shared lock and no verification.
    {
      absl::ReaderMutexLock lock(&mu_);
      auto token = tokens_.find(credential->secret);
      if (token != tokens_.end() && now < token->second.valid_until) {
        const TokenClaims& cached_claims = token->second.claims;
        auto cached = session_scopes_.find(cached_claims.session_id);
        if (cached != session_scopes_.end() && now < cached->second.valid_until &&
            cached->second.scope->tenant_id() == cached_claims.tenant_id &&
            cached->second.scope->user_id() == cached_claims.user_id) {
          scope = cached->second.scope;
        } else {
          claims = cached_claims;
        }
      }
      invalidations = invalidations_;
    }
    if (scope == nullptr && !claims.has_value()) {
      absl::StatusOr<TokenClaims> verified = VerifyToken(credential->secret, now);
      if (!verified.ok()) return verified.status();
      claims = *std::move(verified);
    }
    if (claims.has_value() && claimed_tenant->has_value() &&
        **claimed_tenant != claims->tenant_id) {
      return TenantMismatch();
    }
  } else {
    api_key_hash = HashApiKey(credential->secret);
    absl::ReaderMutexLock lock(&mu_);
    auto cached = api_key_scopes_.find(api_key_hash);
    if (cached != api_key_scopes_.end() && now < cached->second.valid_until) {
      scope = cached->second.scope;
    }
    invalidations = invalidations_;
  }
  if (scope == nullptr) {
    absl::StatusOr<std::shared_ptr<const Scope>> fetched = FetchScope(
        *credential, claims.has_value() ? &*claims : nullptr, api_key_hash, invalidations, now);
    if (!fetched.ok()) return fetched.status();
    scope = *std::move(fetched);
  }
  if (claimed_tenant->has_value() && **claimed_tenant != scope->tenant_id()) {
    return TenantMismatch();
  }
  RequestContext context;
  context.tenant_id = scope->tenant_id();
  context.caller_id = scope->user_id();
  context.request_id = RequestIdOf(client_metadata);
  context.scope = std::move(scope);
  context.credential = CredentialMetadata(*credential);
  return context;
}

absl::StatusOr<TokenClaims> ScopeAuthenticator::VerifyToken(const std::string& token,
                                                            absl::Time now) const {
  absl::StatusOr<TokenClaims> claims = verifier_.Verify(token, now);
  if (!claims.ok()) return claims.status();
  absl::MutexLock lock(&mu_);
  if (tokens_.size() >= options_.max_entries) {
    for (const std::string& key : OlderHalf(tokens_)) tokens_.erase(key);
  }
  // The verifier accepts a token until its expiry plus leeway; the cache stops at its expiry,
  // after which Verify decides again.
  tokens_[token] =
      CachedToken{.claims = *claims, .valid_until = claims->expire_time, .inserted = ++insertions_};
  return claims;
}

absl::StatusOr<std::shared_ptr<const Scope>> ScopeAuthenticator::FetchScope(
    const Credential& credential, const TokenClaims* claims, const std::string& api_key_hash,
    uint64_t invalidations, absl::Time now) const {
  // Not under the lock: this is a remote call.
  absl::StatusOr<pv1::EffectiveScope> proto = source_->Fetch(credential);
  if (!proto.ok()) {
    if (proto.status().code() == absl::StatusCode::kUnauthenticated) return proto.status();
    return absl::UnavailableError(proto.status().message());
  }
  const bool api_key = claims == nullptr;
  const bool api_key_scope = proto->principal_kind() == pv1::PRINCIPAL_KIND_API_KEY;
  if (api_key != api_key_scope || proto->session_id().empty() ||
      (claims != nullptr &&
       (proto->tenant_id() != claims->tenant_id || proto->user_id() != claims->user_id ||
        proto->session_id() != claims->session_id))) {
    return absl::UnauthenticatedError("the scope does not belong to the credential");
  }
  if (!IsValidTenantId(proto->tenant_id())) {
    return absl::UnauthenticatedError("the scope does not belong to the credential");
  }
  absl::Time valid_until = now + options_.max_scope_age;
  if (proto->has_expire_time()) {
    valid_until = std::min(valid_until, absl::FromUnixSeconds(proto->expire_time().seconds()) +
                                            absl::Nanoseconds(proto->expire_time().nanos()));
  }
  absl::StatusOr<std::shared_ptr<const Scope>> scope = Scope::Compile(*std::move(proto));
  if (!scope.ok()) {
    return absl::InternalError(absl::StrCat(
        "the permissions service sent a scope that does not compile: ", scope.status().message()));
  }
  if (valid_until <= now) return scope;

  absl::MutexLock lock(&mu_);
  TenantEntries& tenant = tenants_[(*scope)->tenant_id()];
  if (tenant.invalidated_at > invalidations) return scope;
  MakeRoomForScope();
  const CachedScope entry{.scope = *scope, .valid_until = valid_until, .inserted = ++insertions_};
  const std::string& session_id = (*scope)->proto().session_id();
  if (api_key) {
    EraseScope(api_key_scopes_, &TenantEntries::api_key_hashes, api_key_hash);
    api_key_scopes_[api_key_hash] = entry;
    tenant.api_key_hashes.insert(api_key_hash);
  } else {
    EraseScope(session_scopes_, &TenantEntries::session_ids, session_id);
    session_scopes_[session_id] = entry;
    tenant.session_ids.insert(session_id);
  }
  return scope;
}

void ScopeAuthenticator::EraseScope(ScopeMap& scopes, KeyIndex index,
                                    const std::string& key) const {
  auto entry = scopes.find(key);
  if (entry == scopes.end()) return;
  auto tenant = tenants_.find(entry->second.scope->tenant_id());
  if (tenant != tenants_.end()) (tenant->second.*index).erase(key);
  scopes.erase(entry);
}

void ScopeAuthenticator::MakeRoomForScope() const {
  if (session_scopes_.size() + api_key_scopes_.size() < options_.max_entries) return;
  if (session_scopes_.size() >= api_key_scopes_.size()) {
    for (const std::string& key : OlderHalf(session_scopes_)) {
      EraseScope(session_scopes_, &TenantEntries::session_ids, key);
    }
  } else {
    for (const std::string& key : OlderHalf(api_key_scopes_)) {
      EraseScope(api_key_scopes_, &TenantEntries::api_key_hashes, key);
    }
  }
}

void ScopeAuthenticator::Invalidate(const std::string& tenant_id,
                                    const std::vector<std::string>& session_ids) {
  absl::MutexLock lock(&mu_);
  TenantEntries& tenant = tenants_[tenant_id];
  tenant.invalidated_at = ++invalidations_;
  if (session_ids.empty()) {
    for (const std::string& key : tenant.session_ids) session_scopes_.erase(key);
    for (const std::string& key : tenant.api_key_hashes) api_key_scopes_.erase(key);
    tenant.session_ids.clear();
    tenant.api_key_hashes.clear();
    return;
  }
  const absl::flat_hash_set<std::string> affected(session_ids.begin(), session_ids.end());
  for (const std::string& session_id : session_ids) {
    if (tenant.session_ids.contains(session_id))
      EraseScope(session_scopes_, &TenantEntries::session_ids, session_id);
  }
  // API keys are cached by the key's hash; their scope names the key's id.
  std::vector<std::string> keys;
  for (const std::string& key : tenant.api_key_hashes) {
    auto entry = api_key_scopes_.find(key);
    if (entry != api_key_scopes_.end() &&
        affected.contains(entry->second.scope->proto().session_id())) {
      keys.push_back(key);
    }
  }
  for (const std::string& key : keys) {
    EraseScope(api_key_scopes_, &TenantEntries::api_key_hashes, key);
  }
}

}  // namespace touchline::auth
