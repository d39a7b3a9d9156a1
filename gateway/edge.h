// The door of both fronts: who is calling, and whether they are over their rate limit.
#ifndef TOUCHLINE_GATEWAY_EDGE_H_
#define TOUCHLINE_GATEWAY_EDGE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/edge_address.h"
#include "common/auth/request_context.h"
#include "common/ratelimit/rate_limiter.h"
#include "grpcpp/support/string_ref.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::gateway {

// Header name and value pairs sent with a call to a service.
using Headers = std::vector<std::pair<std::string, std::string>>;

// The rate limits the gateway enforces; an absent limit is not enforced.
struct RateLimitPolicy {
  // Per API key, over every replica.
  std::optional<ratelimit::RateLimit> per_api_key;
  // Per partner organisation: all its users and keys together.
  std::optional<ratelimit::RateLimit> per_partner;
};

// Thread-safe.
class EdgeGuard {
 public:
  using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

  // `authenticator` verifies credentials and attaches scopes (auth::ScopeAuthenticator in
  // production); `limiter` may be null when no limit is set; `addresses` signs the client
  // address passed on to the services, null to pass on none. None is owned.
  EdgeGuard(const auth::Authenticator* authenticator, ratelimit::RateLimiter* limiter,
            RateLimitPolicy policy, const auth::EdgeAddressSigner* addresses = nullptr);

  // The caller of one call. A credential-free call (Login, RefreshToken) needs only the
  // tenant (x-touchline-tenant); any other needs one valid credential and gets the caller's
  // scope: UNAUTHENTICATED otherwise, as every service would answer. Then Limit().
  absl::StatusOr<auth::RequestContext> Admit(bool credential_free, const Metadata& metadata) const;

  // RESOURCE_EXHAUSTED when the caller's API key or partner organisation is over its limit,
  // with a google.rpc.RetryInfo saying when to retry and ErrorInfo reason RATE_LIMITED. When
  // Redis cannot be asked the call is let through (logged): the limits protect the services,
  // and refusing every call while Redis is away would protect them from everyone.
  absl::Status Limit(const auth::RequestContext& caller) const;
  // Whether Limit has a limit to check for `caller` (and so a Redis round trip to make).
  bool Limits(const auth::RequestContext& caller) const;

  // The metadata of the call the gateway makes for an admitted `caller`: an allow-list, never
  // whatever else the client sent. x-touchline-tenant (the caller's tenant), x-request-id
  // (caller.request_id: the client's when it was 1 to 128 bytes of printable ASCII, else a
  // fresh one), the client's credential header as received unless `credential_free`, and,
  // with a signer, `client_address` signed (auth/edge_address.h). UNAUTHENTICATED when a
  // credential header is not printable ASCII: gRPC cannot carry it.
  absl::StatusOr<Headers> ForwardedMetadata(const Metadata& client_metadata,
                                            const auth::RequestContext& caller,
                                            bool credential_free,
                                            std::string_view client_address) const;

 private:
  absl::Status Take(const auth::RequestContext& caller, std::string_view kind, std::string_view id,
                    const ratelimit::RateLimit& limit) const;
  // The partner organisation `scope` acts for, or "" for an employee.
  static std::string_view PartnerOf(const permissions::v1::EffectiveScope& scope);

  const auth::Authenticator* const authenticator_;
  const auth::MetadataAuthenticator tenant_only_;
  ratelimit::RateLimiter* const limiter_;
  const RateLimitPolicy policy_;
  const auth::EdgeAddressSigner* const addresses_;
};

// Logs one finished call as the services' UnaryRunner does: errors for server faults
// (INTERNAL, UNKNOWN, DATA_LOSS), warnings for other failures, successes only with
// `access_log`. `front` is "grpc" or "http", `method` the full gRPC method path.
void LogFinished(std::string_view front, std::string_view method, std::string_view request_id,
                 std::string_view tenant_id, const absl::Status& status, absl::Duration latency,
                 bool access_log);

// The seconds a client should wait before retrying a RESOURCE_EXHAUSTED `status`, from its
// RetryInfo, rounded up; nullopt when it has none. For the HTTP Retry-After header.
std::optional<int64_t> RetryAfterSeconds(const absl::Status& status);

}  // namespace touchline::gateway

#endif  // TOUCHLINE_GATEWAY_EDGE_H_
