#include "services/automation/webhooks/sender.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "services/automation/webhooks/address_policy.h"
#include "services/automation/webhooks/signing.h"

namespace touchline::automation {
namespace {

constexpr absl::Duration kRetryBase = absl::Seconds(5);
constexpr absl::Duration kRetryCap = absl::Hours(1);

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlEasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct CurlListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlList = std::unique_ptr<curl_slist, CurlListDeleter>;

// A part of a parsed URL, or nullopt when the URL has none.
std::optional<std::string> UrlPart(CURLU* url, CURLUPart part, unsigned int flags = 0) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, flags) != CURLUE_OK || text == nullptr) return std::nullopt;
  std::string out(text);
  curl_free(text);
  return out;
}

// The URL, parsed by curl itself (the same parse the transfer uses), with its host (IPv6
// without brackets) and port.
struct Target {
  CurlUrl url;
  std::string host;
  std::string port;
};

absl::StatusOr<Target> ParseTarget(const std::string& text) {
  Target target{CurlUrl(curl_url()), "", ""};
  if (target.url == nullptr) return absl::ResourceExhaustedError("out of memory");
  if (curl_url_set(target.url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("the URL is not a valid URL");
  }
  const std::string scheme =
      absl::AsciiStrToLower(UrlPart(target.url.get(), CURLUPART_SCHEME).value_or(""));
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("the URL's scheme is ", scheme, ", not http or https"));
  }
  // Credentials in a URL end up in logs and run details; endpoints authenticate requests by
  // their signature instead.
  if (UrlPart(target.url.get(), CURLUPART_USER).has_value() ||
      UrlPart(target.url.get(), CURLUPART_PASSWORD).has_value() ||
      UrlPart(target.url.get(), CURLUPART_OPTIONS).has_value()) {
    return absl::InvalidArgumentError("the URL has user-info (user:password@), not allowed");
  }
  std::optional<std::string> host = UrlPart(target.url.get(), CURLUPART_HOST);
  std::optional<std::string> port = UrlPart(target.url.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!host.has_value() || host->empty() || !port.has_value()) {
    return absl::InvalidArgumentError("the URL has no host");
  }
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  target.host = std::move(*host);
  target.port = std::move(*port);
  return target;
}

// The addresses of `host`, from getaddrinfo on a thread of its own so that a resolver that
// hangs costs the caller no more than `deadline` (the thread ends when getaddrinfo does).
// DEADLINE_EXCEEDED when the deadline passes first, UNAVAILABLE when resolution fails.
absl::StatusOr<std::vector<sockaddr_storage>> Resolve(const std::string& host,
                                                      const std::string& port,
                                                      absl::Time deadline) {
  struct Resolution {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    absl::StatusOr<std::vector<sockaddr_storage>> addresses ABSL_GUARDED_BY(mu);
  };
  auto resolution = std::make_shared<Resolution>();
  std::thread([resolution, host, port] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    absl::StatusOr<std::vector<sockaddr_storage>> addresses;
    if (error != 0) {
      addresses = absl::UnavailableError(
          absl::StrCat("could not resolve ", host, ": ", gai_strerror(error)));
    } else {
      std::vector<sockaddr_storage> usable;
      for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
        sockaddr_storage address{};
        std::memcpy(&address, a->ai_addr, std::min<size_t>(a->ai_addrlen, sizeof(address)));
        usable.push_back(address);
      }
      freeaddrinfo(found);
      if (usable.empty()) {
        addresses = absl::UnavailableError(absl::StrCat(host, " has no IP address"));
      } else {
        addresses = std::move(usable);
      }
    }
    absl::MutexLock lock(&resolution->mu);
    resolution->addresses = std::move(addresses);
    resolution->done = true;
  }).detach();
  absl::MutexLock lock(&resolution->mu);
  if (!resolution->mu.AwaitWithDeadline(absl::Condition(&resolution->done), deadline)) {
    return absl::DeadlineExceededError(absl::StrCat("resolving ", host, " timed out"));
  }
  return resolution->addresses;
}

// What the socket callback needs: whether to check, and what it refused.
struct SocketGuard {
  bool allow_private = false;
  std::string refused;
};

// Opens curl's sockets, checking once more the address each connects to: a second line behind
// the pinned addresses, should anything make curl connect elsewhere.
curl_socket_t OpenSocket(void* clientp, curlsocktype purpose, curl_sockaddr* address) {
  auto* guard = static_cast<SocketGuard*>(clientp);
  if (purpose == CURLSOCKTYPE_IPCXN && !guard->allow_private) {
    if (const std::optional<std::string> reason = ForbiddenAddressReason(address->addr)) {
      guard->refused = absl::StrCat(AddressText(address->addr), " is ", *reason);
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

// The start of the answer's body.
struct ResponseBody {
  std::string text;
  size_t max_bytes = 0;
  bool truncated = false;
};

size_t WriteBody(char* data, size_t size, size_t count, void* userdata) {
  auto* body = static_cast<ResponseBody*>(userdata);
  const size_t bytes = size * count;
  const size_t room = body->max_bytes - body->text.size();
  if (bytes > room) {
    body->text.append(data, room);
    body->truncated = true;
    return 0;  // Stops the transfer: the rest would be read for nothing.
  }
  body->text.append(data, bytes);
  return bytes;
}

bool IsPrintableToken(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

long Millis(absl::Duration d) {  // NOLINT(runtime/int): curl takes long.
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));  // NOLINT
}

void EnsureCurlGlobalInit() {
  static const bool kCurlReady = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!kCurlReady) std::abort();  // Nothing can be sent; the service must not start.
}

}  // namespace

bool IsRetryableStatus(int http_status) {
  return (http_status >= 300 && http_status < 400) || http_status == 408 || http_status == 425 ||
         http_status == 429 || (http_status >= 500 && http_status < 600);
}

absl::Duration RetryDelay(int attempt, absl::BitGen& gen) {
  const int doublings = std::clamp(attempt - 1, 0, 20);  // 5 s * 2^20 is far past the cap.
  const absl::Duration ceiling = std::min(kRetryBase * (int64_t{1} << doublings), kRetryCap);
  return absl::Milliseconds(
      absl::Uniform<int64_t>(absl::IntervalClosed, gen, 0, absl::ToInt64Milliseconds(ceiling)));
}

WebhookSender::WebhookSender(WebhookSenderOptions options) : options_(std::move(options)) {
  EnsureCurlGlobalInit();
}

DeliveryResult WebhookSender::Send(const WebhookRequest& request) const {
  const auto started = std::chrono::steady_clock::now();
  const absl::Duration timeout = request.timeout.value_or(options_.timeout);
  const absl::Time deadline = absl::Now() + timeout;
  DeliveryResult result;
  const auto finish = [&](DeliveryError error, std::string message, bool retryable) {
    result.error = error;
    result.error_message = std::move(message);
    result.retryable = retryable;
    result.succeeded = error == DeliveryError::kNone;
    result.latency = absl::FromChrono(std::chrono::steady_clock::now() - started);
    return std::move(result);
  };

  if (!IsPrintableToken(request.id)) {
    return finish(DeliveryError::kInvalidRequest, "the webhook-id is empty or not printable",
                  false);
  }
  absl::StatusOr<std::string> signature =
      SignatureHeader(request.secrets, request.id, request.timestamp, request.body);
  if (!signature.ok()) {
    return finish(DeliveryError::kInvalidRequest, std::string(signature.status().message()), false);
  }
  absl::StatusOr<Target> target = ParseTarget(request.url);
  if (!target.ok()) {
    return finish(DeliveryError::kInvalidRequest, std::string(target.status().message()), false);
  }

  absl::StatusOr<std::vector<sockaddr_storage>> addresses =
      Resolve(target->host, target->port, deadline);
  if (!addresses.ok()) {
    return finish(absl::IsDeadlineExceeded(addresses.status()) ? DeliveryError::kTimeout
                                                               : DeliveryError::kNetwork,
                  std::string(addresses.status().message()), true);
  }
  // Every address is checked, not only the first: curl may try any of them.
  std::vector<std::string> pinned;
  for (const sockaddr_storage& storage : *addresses) {
    const sockaddr& address = reinterpret_cast<const sockaddr&>(storage);
    if (const std::optional<std::string> reason = ForbiddenAddressReason(address);
        reason.has_value() && !options_.allow_private_addresses) {
      return finish(DeliveryError::kAddressRefused,
                    absl::StrCat(target->host, " resolves to ", AddressText(address), ", a ",
                                 *reason, " address: webhooks may not reach it"),
                    false);
    }
    std::string text = AddressText(address);
    if (address.sa_family == AF_INET6) text = absl::StrCat("[", text, "]");
    if (std::find(pinned.begin(), pinned.end(), text) == pinned.end()) pinned.push_back(text);
  }

  CurlEasy curl(curl_easy_init());
  if (curl == nullptr) return finish(DeliveryError::kNetwork, "curl_easy_init failed", true);
  CURL* c = curl.get();
  // Pins the host to the checked addresses: a DNS answer that changes between the check and
  // the connection cannot reach another address. An IP literal is not resolved by curl.
  CurlList resolve;
  char probe[sizeof(in6_addr)];
  if (inet_pton(AF_INET, target->host.c_str(), probe) != 1 &&
      inet_pton(AF_INET6, target->host.c_str(), probe) != 1) {
    resolve.reset(curl_slist_append(
        nullptr,
        absl::StrCat(target->host, ":", target->port, ":", absl::StrJoin(pinned, ",")).c_str()));
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());
  }
  CurlList headers;
  for (const std::string& header :
       {std::string("Content-Type: application/json"), absl::StrCat("webhook-id: ", request.id),
        absl::StrCat("webhook-timestamp: ", request.timestamp),
        absl::StrCat("webhook-signature: ", *signature),
        // curl would wait up to a second for "100 Continue" before sending a body over 1 KiB.
        std::string("Expect:")}) {
    headers.reset(curl_slist_append(headers.release(), header.c_str()));
  }
  SocketGuard guard{options_.allow_private_addresses, ""};
  ResponseBody body{"", options_.max_response_bytes, false};
  char error_buffer[CURL_ERROR_SIZE] = {};
  const absl::Duration left = deadline - absl::Now();

  curl_easy_setopt(c, CURLOPT_CURLU, target->url.get());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // No proxy from the environment: it would connect.
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, Millis(left));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, Millis(std::min(options_.connect_timeout, left)));
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &guard);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);

  const CURLcode code = curl_easy_perform(c);
  long status = 0;  // NOLINT(runtime/int): curl's type.
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  result.http_status = static_cast<int>(status);
  if (char* ip = nullptr; curl_easy_getinfo(c, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip) {
    result.remote_address = ip;
  }
  result.response_body = std::move(body.text);
  result.response_truncated = body.truncated;

  const std::string curl_error =
      absl::StrCat(curl_easy_strerror(code), error_buffer[0] != '\0' ? ": " : "", error_buffer);
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return finish(DeliveryError::kTimeout, curl_error, true);
  }
  if (!guard.refused.empty()) {
    return finish(DeliveryError::kAddressRefused,
                  absl::StrCat(guard.refused, ": webhooks may not reach it"), false);
  }
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && body.truncated)) {
    return finish(DeliveryError::kNetwork, curl_error, true);
  }
  if (result.http_status >= 200 && result.http_status < 300) {
    return finish(DeliveryError::kNone, "", false);
  }
  return finish(DeliveryError::kHttpStatus,
                absl::StrCat("the endpoint answered HTTP ", result.http_status),
                IsRetryableStatus(result.http_status));
}

}  // namespace touchline::automation
