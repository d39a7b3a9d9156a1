#include "common/auth/service_credential.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"

namespace touchline::auth {
namespace {

constexpr size_t kMaxServiceNameBytes = 64;
// Binds a MAC to this use of the secret: a signed client address never names a service.
constexpr internal::SignedHeaders kServiceName{.context = "touchline-service.v1",
                                               .value_header = kServiceHeader,
                                               .signature_header = kServiceSignatureHeader};

bool IsServiceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxServiceNameBytes) return false;
  for (const char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!allowed) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<ServiceSigner> ServiceSigner::Create(std::string_view secret,
                                                    absl::Duration tolerance) {
  TL_ASSIGN_OR_RETURN(std::string key, internal::SecretKey(secret));
  return ServiceSigner(internal::MetadataSigner(kServiceName, std::move(key), tolerance));
}

std::vector<std::pair<std::string, std::string>> ServiceSigner::Sign(std::string_view service,
                                                                     absl::Time now) const {
  if (!IsServiceName(service)) return {};
  return signer_.Sign(service, now);
}

std::optional<std::string> ServiceSigner::Verify(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, absl::Time now) const {
  std::optional<std::string> service = signer_.Verify(metadata, now);
  if (!service || !IsServiceName(*service)) return std::nullopt;
  return service;
}

ServiceAuthenticator::ServiceAuthenticator(std::optional<ServiceSigner> signer,
                                           std::function<absl::Time()> clock)
    : signer_(std::move(signer)), clock_(std::move(clock)) {}

absl::StatusOr<RequestContext> ServiceAuthenticator::Authenticate(
    const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const {
  if (!signer_) return absl::UnauthenticatedError("this call needs --edge_secret_file");
  const std::optional<std::string> service = signer_->Verify(client_metadata, clock_());
  if (!service) return absl::UnauthenticatedError("missing or invalid service credential");
  RequestContext context;
  context.caller_id = absl::StrCat(kServiceCallerPrefix, *service);
  context.request_id = RequestIdOf(client_metadata);
  return context;
}

}  // namespace touchline::auth
