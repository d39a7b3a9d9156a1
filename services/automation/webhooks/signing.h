// Standard Webhooks signatures (https://www.standardwebhooks.com): a request carries
// webhook-id, webhook-timestamp (unix seconds) and webhook-signature, a space-separated list
// of "v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>", one per secret in use (the
// new and the old one while a secret is being rotated). A secret is "whsec_" and the base64
// (standard alphabet, padded) of its key bytes.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_SIGNING_H_
#define TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_SIGNING_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace touchline::automation {

// The prefix of every secret.
inline constexpr char kWebhookSecretPrefix[] = "whsec_";
// How far a receiver lets webhook-timestamp be from its clock, either way, as the spec's
// reference libraries do: a captured request cannot be replayed later than this.
inline constexpr absl::Duration kDefaultSignatureTolerance = absl::Minutes(5);

// A new secret: "whsec_" and the base64 of 32 random bytes from libsodium.
std::string NewSecret();

// The signature "v1,<base64>" of a request with `id`, `timestamp` (unix seconds) and `body`.
// INVALID_ARGUMENT when `secret` is not "whsec_" and the padded base64 of 24 to 64 bytes
// (the key sizes the spec allows).
absl::StatusOr<std::string> Sign(std::string_view secret, std::string_view id, int64_t timestamp,
                                 std::string_view body);

// The webhook-signature header: the signatures with each of `secrets`, in their order,
// joined by spaces. INVALID_ARGUMENT when there is no secret or one is malformed.
absl::StatusOr<std::string> SignatureHeader(absl::Span<const std::string> secrets,
                                            std::string_view id, int64_t timestamp,
                                            std::string_view body);

// The three headers of a received request, as they came.
struct WebhookHeaders {
  // webhook-id.
  std::string_view id;
  // webhook-timestamp: unix seconds, in decimal.
  std::string_view timestamp;
  // webhook-signature.
  std::string_view signature;
};

// Checks a received request as a receiver would: OK when webhook-timestamp is within
// `tolerance` of `now` and one of the header's v1 signatures is the one of `body` with one of
// `secrets` (compared in constant time; entries of other versions are skipped).
// INVALID_ARGUMENT when a header is missing or the timestamp is not a number, or a secret is
// malformed; UNAUTHENTICATED when the timestamp is out of tolerance or no signature matches.
absl::Status Verify(const WebhookHeaders& headers, std::string_view body,
                    absl::Span<const std::string> secrets, absl::Time now,
                    absl::Duration tolerance = kDefaultSignatureTolerance);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_SIGNING_H_
