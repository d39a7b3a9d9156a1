// Who is calling: the tenant, the caller and the request id of an RPC, taken from its
// metadata by the server wrapper before any handler runs.
#ifndef TOUCHLINE_COMMON_AUTH_REQUEST_CONTEXT_H_
#define TOUCHLINE_COMMON_AUTH_REQUEST_CONTEXT_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "grpcpp/support/string_ref.h"

namespace touchline::auth {

class Scope;

inline constexpr char kTenantHeader[] = "x-touchline-tenant";
inline constexpr char kCallerHeader[] = "x-touchline-caller";
inline constexpr char kRequestIdHeader[] = "x-request-id";

// Identity and correlation of one request. Every store query is scoped by tenant_id.
struct RequestContext {
  // Matches [a-z0-9][a-z0-9_-]{0,62}; never empty.
  std::string tenant_id;
  // The end user or service acting, as the edge reported it; empty when not given.
  std::string caller_id;
  // Correlates log lines of one request across services; never empty.
  std::string request_id;
  // What the caller may see and change (scope.h). Set by every production authenticator;
  // handlers enforce it on every read and write.
  std::shared_ptr<const Scope> scope;
  // Where the call came from, for the audit log: the peer address and user agent, set by the
  // server wrapper.
  std::string client;
  // The credential the call presented, as metadata (name, value), so that a call made on the
  // caller's behalf presents the same and the callee applies the caller's own scope. Set by
  // ScopeAuthenticator; empty without one.
  std::pair<std::string, std::string> credential = {};
};

// Identifies the caller of an RPC from its client metadata. Implementations are thread-safe.
class Authenticator {
 public:
  virtual ~Authenticator() = default;

  // UNAUTHENTICATED when the metadata does not identify a tenant acceptably.
  virtual absl::StatusOr<RequestContext> Authenticate(
      const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const = 0;
};

// Identifies only the tenant, from metadata, and attaches no scope: for the calls that come
// before any credential exists (PermissionsService.Login and RefreshToken) and for tests of
// the server plumbing. Every other call goes through ScopeAuthenticator
// (scope_authenticator.h), which verifies a token and attaches the caller's scope; handlers
// refuse a call without a scope.
//
// Authenticate returns UNAUTHENTICATED when x-touchline-tenant is missing or empty ("missing
// x-touchline-tenant metadata"), does not match [a-z0-9][a-z0-9_-]{0,62}, or is given more than
// once; and when x-touchline-caller is longer than 128 bytes, not printable ASCII, or given
// more than once. The request id is RequestIdOf(client_metadata).
class MetadataAuthenticator : public Authenticator {
 public:
  absl::StatusOr<RequestContext> Authenticate(
      const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const override;
};

// The x-request-id of `client_metadata` when it is 1 to 128 bytes of printable ASCII, else a
// new UUID. Usable before (or without) authentication, so even rejected calls are traceable.
std::string RequestIdOf(const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata);

// Whether `tenant_id` matches [a-z0-9][a-z0-9_-]{0,62}.
bool IsValidTenantId(std::string_view tenant_id);

// Whether `value` may be sent as the value of ASCII (not "-bin") gRPC metadata: printable
// ASCII only (0x20 to 0x7e). gRPC aborts the process that adds any other value to a call, so
// whatever comes from outside (an HTTP header) is checked with this before it goes on.
bool IsValidMetadataValue(std::string_view value);

}  // namespace touchline::auth

#endif  // TOUCHLINE_COMMON_AUTH_REQUEST_CONTEXT_H_
