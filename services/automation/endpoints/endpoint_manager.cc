#include "services/automation/endpoints/endpoint_manager.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/validation/field_checker.h"
#include "nlohmann/json.hpp"
#include "services/automation/webhooks/address_policy.h"
#include "services/automation/webhooks/signing.h"

namespace touchline::automation {
namespace {

using endpoint_rules::DurationOf;
using endpoint_rules::ProtoDurationOf;
using endpoint_rules::ProtoTimeOf;
using nlohmann::json;
namespace pv1 = ::touchline::permissions::v1;

constexpr size_t kMaxDisplayNameChars = 200;
constexpr size_t kMaxUrlChars = 2048;
constexpr int kMaxAttempts = 20;
constexpr int kMaxRateLimitPerSecond = 1000;
constexpr absl::Duration kMinTimeout = absl::Seconds(1);
constexpr absl::Duration kMaxTimeout = absl::Seconds(30);
// The settings UpdateWebhookEndpoint may change (update_mask.paths), in the contract's order.
constexpr std::string_view kSettings[] = {"display_name", "url", "max_attempts",
                                          "rate_limit_per_second", "timeout"};
// google.protobuf.Duration's range: +-10,000 years.
constexpr int64_t kMaxDurationSeconds = 315576000000;

std::string Lower(std::string_view id) {
  return absl::AsciiStrToLower(absl::string_view(id.data(), id.size()));
}

bool ValidDuration(const google::protobuf::Duration& d) {
  return d.seconds() >= -kMaxDurationSeconds && d.seconds() <= kMaxDurationSeconds &&
         d.nanos() > -1000000000 && d.nanos() < 1000000000 &&
         !((d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0));
}

// Why the host and port of a URL (between "//" and the path) cannot be used; nullopt when
// they can. Precondition: printable ASCII without spaces.
std::optional<std::string> AuthorityProblem(std::string_view authority) {
  if (authority.find('@') != std::string_view::npos) {
    return "must not contain user information (a user or password before the host)";
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return "must have a ']' after an IPv6 address";
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return "must have a port or nothing after ']'";
    if (!after.empty()) port = after.substr(1);
    if (host.empty() ||
        host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return "must have an IPv6 address between '[' and ']'";
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return "must name a host";
  if (authority.front() != '[' &&
      host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
          std::string_view::npos) {
    return "must name its host with letters, digits, '.' and '-' (punycode for other names)";
  }
  if (authority.find(':') != std::string_view::npos && authority.front() != '[' && port.empty()) {
    return "must have a port number after ':'";
  }
  int number = 0;
  if (!port.empty() && (port.find_first_not_of("0123456789") != std::string_view::npos ||
                        !absl::SimpleAtoi(absl::string_view(port.data(), port.size()), &number) ||
                        number < 1 || number > 65535)) {
    return "must have a port between 1 and 65535";
  }
  return std::nullopt;
}

// Why `url` cannot be an endpoint's address; nullopt when it can. Precondition: valid UTF-8
// without control characters or white space.
std::optional<std::string> UrlProblem(std::string_view url) {
  for (const char c : url) {
    if (static_cast<unsigned char>(c) > 0x7e) {
      return "must be ASCII (percent-encode other characters, punycode for host names)";
    }
  }
  const size_t separator = url.find("://");
  if (separator == std::string_view::npos) return "must be an http or https URL";
  const std::string scheme = Lower(url.substr(0, separator));
  if (scheme != "http" && scheme != "https") return "must be an http or https URL";
  const std::string_view rest = url.substr(separator + 3);
  return AuthorityProblem(rest.substr(0, rest.find_first_of("/?#")));
}

// Why the host of `url` (checked by UrlProblem) is not one webhooks may reach: localhost, or an
// IP address ForbiddenAddressReason refuses; nullopt otherwise. Names are resolved only when a
// webhook is sent (the sender checks the addresses then).
std::optional<std::string> PrivateHostProblem(std::string_view url) {
  std::string_view rest = url.substr(url.find("://") + 3);
  std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  const std::string name = Lower(host);
  if (name == "localhost" || absl::EndsWith(name, ".localhost")) {
    return absl::StrCat("must not point at a loopback address (", name,
                        "): webhooks reach public addresses only");
  }
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, name.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, name.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
  } else {
    return std::nullopt;
  }
  const std::optional<std::string> reason =
      ForbiddenAddressReason(*reinterpret_cast<const sockaddr*>(&storage));
  if (!reason.has_value()) return std::nullopt;
  return absl::StrCat("must not point at a ", *reason, " address (", name,
                      "): webhooks reach public addresses only");
}

// Checks the settings of `endpoint` that `fields` name (each path "endpoint.<field>") and
// fills in their defaults: display_name and url trimmed; 0 attempts or rate, or no timeout,
// the defaults; the timeout in whole milliseconds.
void CheckSettings(v1::WebhookEndpoint& endpoint, const std::vector<std::string>& fields,
                   bool allow_private_addresses, validation::FieldChecker& checker) {
  const auto named = [&](std::string_view field) {
    return std::find(fields.begin(), fields.end(), field) != fields.end();
  };
  if (named("display_name")) {
    checker.Text(*endpoint.mutable_display_name(), "endpoint.display_name", kMaxDisplayNameChars,
                 {.required = true, .controls = validation::ControlCharacters::kForbidden});
  }
  if (named("url") &&
      checker.Text(*endpoint.mutable_url(), "endpoint.url", kMaxUrlChars,
                   {.required = true, .controls = validation::ControlCharacters::kForbidden}) &&
      checker.NoWhiteSpace(endpoint.url(), "endpoint.url")) {
    if (const std::optional<std::string> problem = UrlProblem(endpoint.url())) {
      checker.Add("endpoint.url", *problem);
    } else if (const std::optional<std::string> host = PrivateHostProblem(endpoint.url());
               host.has_value() && !allow_private_addresses) {
      checker.Add("endpoint.url", *host);
    }
  }
  if (named("max_attempts")) {
    if (endpoint.max_attempts() == 0) endpoint.set_max_attempts(kDefaultMaxAttempts);
    if (endpoint.max_attempts() < 1 || endpoint.max_attempts() > kMaxAttempts) {
      checker.Add("endpoint.max_attempts", absl::StrCat("must be between 1 and ", kMaxAttempts));
    }
  }
  if (named("rate_limit_per_second")) {
    if (endpoint.rate_limit_per_second() == 0) {
      endpoint.set_rate_limit_per_second(kDefaultRateLimitPerSecond);
    }
    if (endpoint.rate_limit_per_second() < 1 ||
        endpoint.rate_limit_per_second() > kMaxRateLimitPerSecond) {
      checker.Add("endpoint.rate_limit_per_second",
                  absl::StrCat("must be between 1 and ", kMaxRateLimitPerSecond));
    }
  }
  if (named("timeout")) {
    if (!endpoint.has_timeout()) {
      *endpoint.mutable_timeout() = ProtoDurationOf(kDefaultWebhookTimeout);
    } else if (!ValidDuration(endpoint.timeout())) {
      checker.Add("endpoint.timeout", "must be a valid duration");
    } else if (const absl::Duration timeout = DurationOf(endpoint.timeout());
               timeout < kMinTimeout || timeout > kMaxTimeout) {
      checker.Add("endpoint.timeout", "must be between 1 and 30 seconds");
    } else {
      *endpoint.mutable_timeout() = ProtoDurationOf(absl::Trunc(timeout, absl::Milliseconds(1)));
    }
  }
}

std::string ListQueryHash(const auth::RequestContext& caller) {
  return paging::QueryHash(absl::StrCat("webhook_endpoints\n", caller.tenant_id));
}

}  // namespace

EndpointWriteContext EndpointManager::NewWriteContext(const auth::RequestContext& caller) const {
  return EndpointWriteContext{caller, absl::FromUnixMicros(absl::ToUnixMicros(clock_()))};
}

absl::StatusOr<v1::CreateWebhookEndpointResponse> EndpointManager::CreateWebhookEndpoint(
    const auth::RequestContext& caller, const v1::CreateWebhookEndpointRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  if (!request.has_endpoint()) return status::InvalidArgument("endpoint", "is required");
  // What the client may set; the rest is the server's.
  v1::WebhookEndpoint endpoint;
  endpoint.set_display_name(request.endpoint().display_name());
  endpoint.set_url(request.endpoint().url());
  endpoint.set_max_attempts(request.endpoint().max_attempts());
  endpoint.set_rate_limit_per_second(request.endpoint().rate_limit_per_second());
  if (request.endpoint().has_timeout()) *endpoint.mutable_timeout() = request.endpoint().timeout();
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  CheckSettings(endpoint, {std::begin(kSettings), std::end(kSettings)}, allow_private_addresses_,
                checker);
  if (const std::optional<std::string> problem =
          idempotency::RequestIdProblem(request.request_id())) {
    checker.Add("request_id", *problem);
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());

  NewEndpoint created{.context = NewWriteContext(caller),
                      .endpoint = {},
                      .secret = NewSecret(),
                      .request_id = request.request_id(),
                      // Of the settings as checked, before the server fills anything in.
                      .fingerprint = ids::Fingerprint(endpoint)};
  const absl::Time now = created.context.now;
  endpoint.set_endpoint_id(ids::NewUuid(now));
  *endpoint.mutable_create_time() = ProtoTimeOf(now);
  *endpoint.mutable_update_time() = ProtoTimeOf(now);
  *endpoint.mutable_secret_time() = ProtoTimeOf(now);
  created.endpoint = std::move(endpoint);
  TL_ASSIGN_OR_RETURN(EndpointWithSecret stored, store_->Create(created));
  v1::CreateWebhookEndpointResponse response;
  *response.mutable_endpoint() = std::move(stored.endpoint);
  response.set_secret(std::move(stored.secret));
  return response;
}

absl::StatusOr<v1::GetWebhookEndpointResponse> EndpointManager::GetWebhookEndpoint(
    const auth::RequestContext& caller, const v1::GetWebhookEndpointRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  status::FieldViolations violations;
  validation::FieldChecker(violations).Uuid(request.endpoint_id(), "endpoint_id");
  TL_RETURN_IF_ERROR(violations.ToStatus());
  v1::GetWebhookEndpointResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_endpoint(),
                      store_->Get(caller.tenant_id, Lower(request.endpoint_id())));
  return response;
}

absl::StatusOr<v1::ListWebhookEndpointsResponse> EndpointManager::ListWebhookEndpoints(
    const auth::RequestContext& caller, const v1::ListWebhookEndpointsRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  if (request.page_size() < 0 || request.page_size() > kMaxEndpointPageSize) {
    return status::InvalidArgument("page_size",
                                   absl::StrCat("must be between 0 and ", kMaxEndpointPageSize));
  }
  const int page_size = request.page_size() == 0 ? kDefaultEndpointPageSize : request.page_size();
  EndpointQuery query{.tenant_id = caller.tenant_id, .after = std::nullopt, .limit = page_size + 1};
  const std::string hash = ListQueryHash(caller);
  if (!request.page_token().empty()) {
    TL_ASSIGN_OR_RETURN(const json cursor, page_tokens_->Decode(request.page_token(), hash));
    if (!cursor.is_object() || !cursor.contains("n") || !cursor["n"].is_string() ||
        !cursor.contains("i") || !cursor["i"].is_string() ||
        !ids::IsUuid(cursor["i"].get<std::string>())) {
      return status::InvalidArgument("page_token", "is not a token this query returned");
    }
    query.after = EndpointCursor{cursor["n"].get<std::string>(), cursor["i"].get<std::string>()};
  }
  TL_ASSIGN_OR_RETURN(std::vector<v1::WebhookEndpoint> endpoints, store_->List(query));
  v1::ListWebhookEndpointsResponse response;
  for (size_t i = 0; i < endpoints.size() && i < static_cast<size_t>(page_size); ++i) {
    *response.add_endpoints() = endpoints[i];
  }
  if (endpoints.size() > static_cast<size_t>(page_size)) {
    const v1::WebhookEndpoint& last = endpoints[page_size - 1];
    response.set_next_page_token(
        page_tokens_->Encode(json{{"n", last.display_name()}, {"i", last.endpoint_id()}}, hash));
  }
  return response;
}

absl::StatusOr<v1::UpdateWebhookEndpointResponse> EndpointManager::UpdateWebhookEndpoint(
    const auth::RequestContext& caller, const v1::UpdateWebhookEndpointRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  if (!request.has_endpoint()) return status::InvalidArgument("endpoint", "is required");
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  checker.Uuid(request.endpoint().endpoint_id(), "endpoint.endpoint_id");
  std::vector<std::string> fields;
  if (checker.Required(request.update_mask().paths_size() > 0, "update_mask")) {
    for (int i = 0; i < request.update_mask().paths_size(); ++i) {
      const std::string& path = request.update_mask().paths(i);
      if (std::find(std::begin(kSettings), std::end(kSettings), path) == std::end(kSettings)) {
        checker.Add(validation::ItemPath("update_mask.paths", i),
                    "must be one of display_name, url, max_attempts, rate_limit_per_second, "
                    "timeout");
      } else if (std::find(fields.begin(), fields.end(), path) == fields.end()) {
        fields.push_back(path);
      }
    }
  }
  EndpointUpdate update{.context = {},
                        .endpoint = request.endpoint(),
                        .fields = std::move(fields),
                        .etag = request.endpoint().etag()};
  CheckSettings(update.endpoint, update.fields, allow_private_addresses_, checker);
  TL_RETURN_IF_ERROR(violations.ToStatus());
  update.endpoint.set_endpoint_id(Lower(update.endpoint.endpoint_id()));
  update.context = NewWriteContext(caller);
  v1::UpdateWebhookEndpointResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_endpoint(), store_->Update(update));
  return response;
}

absl::StatusOr<v1::RotateWebhookSecretResponse> EndpointManager::RotateWebhookSecret(
    const auth::RequestContext& caller, const v1::RotateWebhookSecretRequest& request) const {
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_ADMINISTER));
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  checker.Uuid(request.endpoint_id(), "endpoint_id");
  absl::Duration overlap = kDefaultSecretOverlap;
  if (request.has_overlap()) {
    if (!ValidDuration(request.overlap())) {
      checker.Add("overlap", "must be a valid duration");
    } else {
      overlap = DurationOf(request.overlap());
      if (overlap < absl::ZeroDuration() || overlap > kMaxSecretOverlap) {
        checker.Add("overlap", "must be between 0 and 7 days");
      }
    }
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  SecretRotation rotation{.context = NewWriteContext(caller),
                          .endpoint_id = Lower(request.endpoint_id()),
                          .secret = NewSecret(),
                          .overlap = overlap};
  v1::RotateWebhookSecretResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_endpoint(), store_->Rotate(rotation));
  response.set_secret(std::move(rotation.secret));
  return response;
}

}  // namespace touchline::automation
