// The webhook endpoint RPCs of AutomationService: CreateWebhookEndpoint, GetWebhookEndpoint,
// ListWebhookEndpoints, UpdateWebhookEndpoint, RotateWebhookSecret. Owns the rules: every call
// needs PERMISSION_ADMINISTER (checked before anything else, so a caller without it learns
// nothing of the endpoints or of the rules); field checks as the contract states them
// (INVALID_ARGUMENT naming each bad field; nothing is written by a failed call) and its
// defaults (8 attempts, 10 per second, 10 s timeout, 24 h overlap); secrets made here and shown
// only in the answers of Create (the same secret again to a retry with the same request_id)
// and Rotate; updates by field mask, with an etag only of the version read (ABORTED); lists by
// display name, with sealed page tokens.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_ENDPOINT_MANAGER_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_ENDPOINT_MANAGER_H_

#include <functional>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/paging/page_token.h"
#include "services/automation/endpoints/endpoint_store.h"
#include "touchline/automation/v1/automation_service.pb.h"

namespace touchline::automation {

inline constexpr int kDefaultEndpointPageSize = 50;
inline constexpr int kMaxEndpointPageSize = 200;
inline constexpr int kDefaultMaxAttempts = 8;
inline constexpr int kDefaultRateLimitPerSecond = 10;
inline constexpr absl::Duration kDefaultWebhookTimeout = absl::Seconds(10);
inline constexpr absl::Duration kDefaultSecretOverlap = absl::Hours(24);
inline constexpr absl::Duration kMaxSecretOverlap = absl::Hours(24 * 7);

// Thread-safe.
class EndpointManager {
 public:
  // Not owned; must outlive the manager. `clock` is now: the time of writes. Without
  // `allow_private_addresses` (--webhook_allow_private_addresses) a URL whose host is
  // localhost or a loopback, private, link-local or otherwise non-public IP address is
  // refused; a name that resolves to one is refused by the sender when it delivers.
  EndpointManager(EndpointStore* store, const paging::PageTokens* page_tokens,
                  std::function<absl::Time()> clock, bool allow_private_addresses = false)
      : store_(store),
        page_tokens_(page_tokens),
        clock_(std::move(clock)),
        allow_private_addresses_(allow_private_addresses) {}

  absl::StatusOr<v1::CreateWebhookEndpointResponse> CreateWebhookEndpoint(
      const auth::RequestContext& caller, const v1::CreateWebhookEndpointRequest& request) const;
  absl::StatusOr<v1::GetWebhookEndpointResponse> GetWebhookEndpoint(
      const auth::RequestContext& caller, const v1::GetWebhookEndpointRequest& request) const;
  absl::StatusOr<v1::ListWebhookEndpointsResponse> ListWebhookEndpoints(
      const auth::RequestContext& caller, const v1::ListWebhookEndpointsRequest& request) const;
  // The endpoint's etag, when set, is the version the change applies to.
  absl::StatusOr<v1::UpdateWebhookEndpointResponse> UpdateWebhookEndpoint(
      const auth::RequestContext& caller, const v1::UpdateWebhookEndpointRequest& request) const;
  absl::StatusOr<v1::RotateWebhookSecretResponse> RotateWebhookSecret(
      const auth::RequestContext& caller, const v1::RotateWebhookSecretRequest& request) const;

 private:
  // Now, truncated to microseconds as PostgreSQL keeps times, so what a write returns is what
  // a read returns.
  EndpointWriteContext NewWriteContext(const auth::RequestContext& caller) const;

  EndpointStore* const store_;
  const paging::PageTokens* const page_tokens_;
  const std::function<absl::Time()> clock_;
  const bool allow_private_addresses_;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_ENDPOINT_MANAGER_H_
