// Delivers one webhook request: an HTTP POST of a JSON body, signed as Standard Webhooks do
// (signing.h), to a tenant's endpoint, with libcurl. The receiver is not trusted: the address
// it resolves to is checked before connecting (address_policy.h) and curl is pinned to the
// checked addresses, redirects are not followed, the whole attempt is bounded by a timeout and
// only the start of the answer is kept. The caller (the automation worker) decides when to
// retry, with RetryDelay, and keeps the webhook-id of every attempt the same.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_SENDER_H_
#define TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_SENDER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/time/time.h"

namespace touchline::automation {

// How a WebhookSender behaves; one set per deployment.
struct WebhookSenderOptions {
  // The whole attempt (resolution, connection, TLS, request and answer) at most; a request
  // may set its own (the endpoint's timeout).
  absl::Duration timeout = absl::Seconds(10);
  // The TCP and TLS connection at most (and never more than what is left of the timeout).
  absl::Duration connect_timeout = absl::Seconds(5);
  // Lets hosts resolve to loopback, private, link-local... addresses: for local runs and
  // tests only (--webhook_allow_private_addresses).
  bool allow_private_addresses = false;
  // The start of the answer's body kept in the result; the transfer stops beyond it.
  size_t max_response_bytes = 64 * 1024;
  // The User-Agent header.
  std::string user_agent = "Touchline-Webhooks/1";
};

// One attempt to deliver a webhook.
struct WebhookRequest {
  // http or https, without user-info.
  std::string url;
  // webhook-id: the action's key, the same on every attempt. Printable ASCII, no spaces.
  std::string id;
  // webhook-timestamp: unix seconds, of this attempt.
  int64_t timestamp = 0;
  // The JSON body, sent as it is.
  std::string body;
  // The endpoint's secrets ("whsec_..."): the current one, and the previous one while a
  // rotation lets it sign too. At least one.
  std::vector<std::string> secrets;
  // The endpoint's timeout; unset: the sender's.
  std::optional<absl::Duration> timeout;
};

// Why an attempt did not succeed.
enum class DeliveryError {
  // It succeeded (a 2xx answer).
  kNone,
  // The request cannot be sent (bad URL or scheme, user-info, a malformed secret or id).
  kInvalidRequest,
  // The host resolves to an address webhooks may not reach.
  kAddressRefused,
  // Resolution, connection, TLS or the exchange failed, or the answer was not HTTP.
  kNetwork,
  // The timeout passed first.
  kTimeout,
  // The receiver answered with a status other than 2xx.
  kHttpStatus,
};

// What one attempt gave.
struct DeliveryResult {
  // The answer's HTTP status; 0 when there was none.
  int http_status = 0;
  // A 2xx answer came, whole (or cut at max_response_bytes).
  bool succeeded = false;
  // Another attempt later may succeed (see IsRetryableStatus; kNetwork and kTimeout are
  // retryable, kInvalidRequest and kAddressRefused are not).
  bool retryable = false;
  // kNone when succeeded.
  DeliveryError error = DeliveryError::kNone;
  // What went wrong, in plain words, for the run's details; empty when succeeded.
  std::string error_message;
  // From the start of Send to its end.
  absl::Duration latency;
  // The address connected to, when a connection was made.
  std::string remote_address;
  // The start of the answer's body, at most max_response_bytes.
  std::string response_body;
  // The answer's body was longer than max_response_bytes.
  bool response_truncated = false;
};

// Whether an answer with `http_status` (not 2xx) is worth another attempt: 408, 425, 429 and
// 5xx (the receiver is busy or broken for now), and 3xx: redirects are not followed, so a
// receiver that moved answers them until its endpoint is updated, and a retry gives the
// tenant the attempts until dead-lettering to do that. Other 4xx are not: the receiver
// refuses this request and will refuse it again.
bool IsRetryableStatus(int http_status);

// How long to wait after the failed attempt number `attempt` (1 = the first) before the
// next (0 and below count as 1): exponential backoff with full jitter, uniform in
// [0, min(5 s * 2^(attempt-1), 1 h)], so many endpoints failing together do not retry in step.
absl::Duration RetryDelay(int attempt, absl::BitGen& gen);

// Sends webhook requests. Thread-safe: Send may be called from many threads at once (each
// call has its own curl handle).
class WebhookSender {
 public:
  explicit WebhookSender(WebhookSenderOptions options = {});

  // One attempt; never takes much longer than the timeout (resolution included).
  DeliveryResult Send(const WebhookRequest& request) const;

 private:
  const WebhookSenderOptions options_;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_WEBHOOKS_SENDER_H_
