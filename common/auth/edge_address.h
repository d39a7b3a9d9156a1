// The client address the gateway saw, told to the services behind it in a way a direct
// caller cannot forge: the address in metadata with an HMAC-SHA256 over it and a timestamp,
// keyed by a secret only the gateway and the services hold (--edge_secret_file). The
// permissions service throttles logins per client address with it; without a valid signature
// a service uses the gRPC peer address instead.
#ifndef TOUCHLINE_COMMON_AUTH_EDGE_ADDRESS_H_
#define TOUCHLINE_COMMON_AUTH_EDGE_ADDRESS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/metadata_signer.h"
#include "grpcpp/support/string_ref.h"

namespace touchline::auth {

// "203.0.113.7" or "2001:db8::1": the address the edge saw.
inline constexpr char kClientAddressHeader[] = "x-touchline-client-address";
// "<unix seconds>.<64 hex digits of HMAC-SHA256>" over the address and those seconds.
inline constexpr char kClientAddressSignatureHeader[] = "x-touchline-client-address-signature";

// The IP address of a gRPC peer: "ipv4:10.0.0.7:5123" -> "10.0.0.7", "ipv6:[::1]:5123" ->
// "::1"; any other form (unix:/path) unchanged.
std::string PeerAddress(std::string_view grpc_peer);

// Signs and verifies client addresses with one shared secret. Thread-safe (immutable).
class EdgeAddressSigner {
 public:
  // Signatures made more than this before or after the verifier's clock are refused.
  static constexpr absl::Duration kDefaultTolerance = absl::Minutes(5);
  // Fewest bytes of secret (after trimming surrounding whitespace) accepted.
  static constexpr size_t kMinSecretBytes = internal::kMinSecretBytes;

  // `secret` is the content of the secret file; surrounding whitespace is ignored.
  // INVALID_ARGUMENT when fewer than kMinSecretBytes remain.
  static absl::StatusOr<EdgeAddressSigner> Create(std::string_view secret,
                                                  absl::Duration tolerance = kDefaultTolerance);

  // The metadata that tells a service `address`, signed at `now`. Empty when `address` is
  // empty, longer than 128 bytes or not printable ASCII (nothing then goes on, and the
  // service uses the peer address).
  std::vector<std::pair<std::string, std::string>> Sign(std::string_view address,
                                                        absl::Time now) const;

  // The address in `metadata` when it is given once, with a signature of this secret made
  // within the tolerance of `now`; nullopt otherwise (absent, forged, altered or stale).
  std::optional<std::string> Verify(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, absl::Time now) const;

 private:
  explicit EdgeAddressSigner(internal::MetadataSigner signer) : signer_(std::move(signer)) {}

  internal::MetadataSigner signer_;
};

}  // namespace touchline::auth

#endif  // TOUCHLINE_COMMON_AUTH_EDGE_ADDRESS_H_
