// Which Touchline service is calling, told to another service in a way no outside caller can
// forge: the service's name in metadata with an HMAC-SHA256 over it and a timestamp, keyed by
// the secret the gateway and the services share (--edge_secret_file), bound to this use so
// that a signed client address (edge_address.h) never passes for a service. For the internal
// calls that act for no user, such as contacts' CustomerFeedService, which a service reads to
// build its read model of customers.
#ifndef TOUCHLINE_COMMON_AUTH_SERVICE_CREDENTIAL_H_
#define TOUCHLINE_COMMON_AUTH_SERVICE_CREDENTIAL_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/metadata_signer.h"
#include "common/auth/request_context.h"
#include "grpcpp/support/string_ref.h"

namespace touchline::auth {

// "touchpoints": the calling service's name (lower-case letters, digits, '-' and '_').
inline constexpr char kServiceHeader[] = "x-touchline-service";
// "<unix seconds>.<64 hex digits of HMAC-SHA256>" over the name and those seconds.
inline constexpr char kServiceSignatureHeader[] = "x-touchline-service-signature";
// The RequestContext::caller_id of a call a service made: this prefix and its name.
inline constexpr char kServiceCallerPrefix[] = "service:";

// Signs and verifies service names with one shared secret. Thread-safe (immutable).
class ServiceSigner {
 public:
  static constexpr absl::Duration kDefaultTolerance = absl::Minutes(5);

  // `secret` is the content of the secret file (surrounding whitespace ignored).
  // INVALID_ARGUMENT when it is shorter than EdgeAddressSigner::kMinSecretBytes.
  static absl::StatusOr<ServiceSigner> Create(std::string_view secret,
                                              absl::Duration tolerance = kDefaultTolerance);

  // The metadata that names `service` as the caller, signed at `now`. Empty when the name is
  // empty, longer than 64 bytes or has other characters than those above.
  std::vector<std::pair<std::string, std::string>> Sign(std::string_view service,
                                                        absl::Time now) const;

  // The service named in `metadata` when it is named once, with a signature of this secret
  // made within the tolerance of `now`; nullopt otherwise (absent, forged, altered or stale).
  std::optional<std::string> Verify(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, absl::Time now) const;

 private:
  explicit ServiceSigner(internal::MetadataSigner signer) : signer_(std::move(signer)) {}

  internal::MetadataSigner signer_;
};

// Accepts only calls a service signed: RequestContext with caller_id "service:<name>", no
// tenant and no scope. UNAUTHENTICATED otherwise ("missing or invalid service credential"),
// and for every call when `signer` is nullopt (no secret configured: "this call needs
// --edge_secret_file").
class ServiceAuthenticator final : public Authenticator {
 public:
  explicit ServiceAuthenticator(std::optional<ServiceSigner> signer,
                                std::function<absl::Time()> clock = &absl::Now);

  absl::StatusOr<RequestContext> Authenticate(
      const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const override;

 private:
  std::optional<ServiceSigner> signer_;
  std::function<absl::Time()> clock_;
};

}  // namespace touchline::auth

#endif  // TOUCHLINE_COMMON_AUTH_SERVICE_CREDENTIAL_H_
