#include "common/auth/edge_address.h"

#include "common/auth/request_context.h"
#include "common/status/macros.h"

namespace touchline::auth {
namespace {

constexpr size_t kMaxAddressBytes = 128;
// Binds a MAC to this use of the secret.
constexpr internal::SignedHeaders kClientAddress{.context = "touchline-client-address.v1",
                                                 .value_header = kClientAddressHeader,
                                                 .signature_header = kClientAddressSignatureHeader};

bool IsSignableAddress(std::string_view address) {
  return !address.empty() && address.size() <= kMaxAddressBytes && IsValidMetadataValue(address);
}

}  // namespace

std::string PeerAddress(std::string_view grpc_peer) {
  std::string_view rest = grpc_peer;
  if (rest.starts_with("ipv4:")) {
    rest.remove_prefix(5);
    return std::string(rest.substr(0, rest.rfind(':')));
  }
  if (rest.starts_with("ipv6:[")) {
    rest.remove_prefix(6);
    return std::string(rest.substr(0, rest.find(']')));
  }
  return std::string(grpc_peer);
}

absl::StatusOr<EdgeAddressSigner> EdgeAddressSigner::Create(std::string_view secret,
                                                            absl::Duration tolerance) {
  TL_ASSIGN_OR_RETURN(std::string key, internal::SecretKey(secret));
  return EdgeAddressSigner(internal::MetadataSigner(kClientAddress, std::move(key), tolerance));
}

std::vector<std::pair<std::string, std::string>> EdgeAddressSigner::Sign(std::string_view address,
                                                                         absl::Time now) const {
  if (!IsSignableAddress(address)) return {};
  return signer_.Sign(address, now);
}

std::optional<std::string> EdgeAddressSigner::Verify(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, absl::Time now) const {
  std::optional<std::string> address = signer_.Verify(metadata, now);
  if (!address || !IsSignableAddress(*address)) return std::nullopt;
  return address;
}

}  // namespace touchline::auth
