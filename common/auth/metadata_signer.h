// Internal to common/auth: the HMAC that edge_address.h (client addresses) and
// service_credential.h (service names) put beside a metadata value. One value header and one
// signature header, "<unix seconds>.<64 hex digits>", the MAC taken over a context string that
// binds it to its use, the seconds and the value; so a signature made for one use never
// verifies for another, though both use the same secret (--edge_secret_file).
#ifndef TOUCHLINE_COMMON_AUTH_METADATA_SIGNER_H_
#define TOUCHLINE_COMMON_AUTH_METADATA_SIGNER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/support/string_ref.h"

namespace touchline::auth::internal {

// Fewest bytes of secret (after trimming surrounding whitespace) accepted.
inline constexpr size_t kMinSecretBytes = 32;

// The key in `secret`, the content of the secret file without surrounding whitespace.
// INVALID_ARGUMENT when fewer than kMinSecretBytes remain.
absl::StatusOr<std::string> SecretKey(std::string_view secret);

// What one use of the secret signs: the context the MAC is bound to and the two headers.
struct SignedHeaders {
  const char* context;
  const char* value_header;
  const char* signature_header;
};

// Signs and verifies one metadata value. Checking the value itself (length, characters) is
// the caller's. Thread-safe (immutable).
class MetadataSigner {
 public:
  MetadataSigner(SignedHeaders headers, std::string key, absl::Duration tolerance)
      : headers_(headers), key_(std::move(key)), tolerance_(tolerance) {}

  // The two headers naming `value`, signed at `now`.
  std::vector<std::pair<std::string, std::string>> Sign(std::string_view value,
                                                        absl::Time now) const;

  // The value of the value header when both headers are given once and the signature is of
  // this key, this context and that value, made within the tolerance of `now`; else nullopt.
  std::optional<std::string> Verify(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, absl::Time now) const;

 private:
  // The raw HMAC of `value` at `unix_seconds`.
  std::string Mac(std::string_view value, int64_t unix_seconds) const;

  SignedHeaders headers_;
  std::string key_;
  absl::Duration tolerance_;
};

}  // namespace touchline::auth::internal

#endif  // TOUCHLINE_COMMON_AUTH_METADATA_SIGNER_H_
