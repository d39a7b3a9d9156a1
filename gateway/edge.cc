#include "gateway/edge.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth/scope.h"
#include "common/auth/scope_authenticator.h"
#include "common/log/log.h"
#include "common/status/errors.h"
#include "google/protobuf/duration.pb.h"
#include "google/rpc/error_details.pb.h"

namespace touchline::gateway {
namespace {

constexpr std::string_view kPartnerGrantee = "partner:";

}  // namespace

EdgeGuard::EdgeGuard(const auth::Authenticator* authenticator, ratelimit::RateLimiter* limiter,
                     RateLimitPolicy policy, const auth::EdgeAddressSigner* addresses)
    : authenticator_(authenticator),
      limiter_(limiter),
      policy_(std::move(policy)),
      addresses_(addresses) {}

absl::StatusOr<auth::RequestContext> EdgeGuard::Admit(bool credential_free,
                                                      const Metadata& metadata) const {
  if (credential_free) return tenant_only_.Authenticate(metadata);
  absl::StatusOr<auth::RequestContext> caller = authenticator_->Authenticate(metadata);
  if (!caller.ok()) return caller.status();
  if (absl::Status limited = Limit(*caller); !limited.ok()) return limited;
  return caller;
}

absl::StatusOr<Headers> EdgeGuard::ForwardedMetadata(const Metadata& client_metadata,
                                                     const auth::RequestContext& caller,
                                                     bool credential_free,
                                                     std::string_view client_address) const {
  Headers headers = {{auth::kTenantHeader, caller.tenant_id},
                     {auth::kRequestIdHeader, caller.request_id}};
  if (!credential_free) {
    for (const char* name : {auth::kAuthorizationHeader, auth::kApiKeyHeader}) {
      const auto [first, last] = client_metadata.equal_range(name);
      for (auto it = first; it != last; ++it) {
        const std::string_view value(it->second.data(), it->second.size());
        if (!auth::IsValidMetadataValue(value)) {
          return absl::UnauthenticatedError("malformed credential: must be printable ASCII");
        }
        headers.emplace_back(name, std::string(value));
      }
    }
  }
  if (addresses_ != nullptr) {
    for (auto& pair : addresses_->Sign(client_address, absl::Now())) {
      headers.push_back(std::move(pair));
    }
  }
  return headers;
}

std::string_view EdgeGuard::PartnerOf(const permissions::v1::EffectiveScope& scope) {
  for (const std::string& grantee : scope.grantees()) {
    if (std::string_view(grantee).starts_with(kPartnerGrantee)) {
      return std::string_view(grantee).substr(kPartnerGrantee.size());
    }
  }
  return "";
}

bool EdgeGuard::Limits(const auth::RequestContext& caller) const {
  if (limiter_ == nullptr || caller.scope == nullptr) return false;
  const permissions::v1::EffectiveScope& scope = caller.scope->proto();
  return (policy_.per_api_key &&
          scope.principal_kind() == permissions::v1::PRINCIPAL_KIND_API_KEY) ||
         (policy_.per_partner && !PartnerOf(scope).empty());
}

absl::Status EdgeGuard::Limit(const auth::RequestContext& caller) const {
  if (!Limits(caller)) return absl::OkStatus();
  const permissions::v1::EffectiveScope& scope = caller.scope->proto();
  if (policy_.per_api_key && scope.principal_kind() == permissions::v1::PRINCIPAL_KIND_API_KEY) {
    if (absl::Status s = Take(caller, "api_key", scope.session_id(), *policy_.per_api_key);
        !s.ok()) {
      return s;
    }
  }
  const std::string_view partner = PartnerOf(scope);
  if (policy_.per_partner && !partner.empty()) {
    return Take(caller, "partner", partner, *policy_.per_partner);
  }
  return absl::OkStatus();
}

absl::Status EdgeGuard::Take(const auth::RequestContext& caller, std::string_view kind,
                             std::string_view id, const ratelimit::RateLimit& limit) const {
  const absl::StatusOr<ratelimit::RateDecision> decision =
      limiter_->Take(caller.tenant_id, kind, id, limit);
  if (!decision.ok()) {
    log::Warning("rate limit not checked", {{"error", decision.status().ToString()}});
    return absl::OkStatus();
  }
  if (decision->allowed) return absl::OkStatus();
  const double seconds = absl::ToDoubleSeconds(decision->retry_after);
  absl::Status status = absl::ResourceExhaustedError(
      absl::StrFormat("rate limit of %s %s exceeded (%g requests per second, bursts of %d); "
                      "retry in %.3f s",
                      std::string(kind), std::string(id), limit.per_second, limit.burst, seconds));
  return status::WithErrorInfo(status::WithRetryInfo(std::move(status), decision->retry_after),
                               "RATE_LIMITED", {{"limit", std::string(kind)}});
}

void LogFinished(std::string_view front, std::string_view method, std::string_view request_id,
                 std::string_view tenant_id, const absl::Status& status, absl::Duration latency,
                 bool access_log) {
  const absl::StatusCode code = status.code();
  const log::Level level = status.ok() ? log::Level::kInfo
                           : code == absl::StatusCode::kInternal ||
                                   code == absl::StatusCode::kUnknown ||
                                   code == absl::StatusCode::kDataLoss
                               ? log::Level::kError
                               : log::Level::kWarning;
  if ((status.ok() && !access_log) || !log::Enabled(level)) return;
  log::ScopedRequestFields fields(request_id, tenant_id, method);
  const std::string code_name = absl::StatusCodeToString(code);
  const std::string latency_ms = absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(latency));
  log::Write(level, "call finished",
             {{"front", front},
              {"code", code_name},
              {"latency_ms", latency_ms},
              {"error", std::string_view(status.message().data(), status.message().size())}});
}

std::optional<int64_t> RetryAfterSeconds(const absl::Status& status) {
  const absl::optional<absl::Cord> payload = status.GetPayload(status::kRetryInfoTypeUrl);
  google::rpc::RetryInfo retry;
  if (!payload || !retry.ParseFromString(std::string(*payload))) return std::nullopt;
  const double seconds =
      static_cast<double>(retry.retry_delay().seconds()) + retry.retry_delay().nanos() / 1e9;
  return static_cast<int64_t>(std::ceil(seconds));
}

}  // namespace touchline::gateway
