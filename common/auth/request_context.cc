#include "common/auth/request_context.h"

#include <iterator>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"

namespace touchline::auth {
namespace {

constexpr size_t kMaxTenantIdBytes = 63;
constexpr size_t kMaxCallerIdBytes = 128;
constexpr size_t kMaxRequestIdBytes = 128;

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

// The single value of `key`: nullopt when absent, UNAUTHENTICATED when repeated, because two
// values for one identity header means two components disagree about who is calling.
absl::StatusOr<std::optional<std::string_view>> SingleValue(const Metadata& metadata,
                                                            const char* key) {
  auto [first, last] = metadata.equal_range(key);
  if (first == last) return std::nullopt;
  if (std::next(first) != last) {
    return absl::UnauthenticatedError(absl::StrCat(key, " metadata given more than once"));
  }
  return std::string_view(first->second.data(), first->second.size());
}

bool IsPrintableAscii(std::string_view text, size_t max_bytes) {
  return text.size() <= max_bytes && IsValidMetadataValue(text);
}

}  // namespace

bool IsValidTenantId(std::string_view tenant_id) {
  if (tenant_id.empty() || tenant_id.size() > kMaxTenantIdBytes) return false;
  for (size_t i = 0; i < tenant_id.size(); ++i) {
    const char c = tenant_id[i];
    const bool alphanumeric = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alphanumeric && (i == 0 || (c != '_' && c != '-'))) return false;
  }
  return true;
}

bool IsValidMetadataValue(std::string_view value) {
  for (const char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string RequestIdOf(const Metadata& client_metadata) {
  auto it = client_metadata.find(kRequestIdHeader);
  if (it != client_metadata.end()) {
    const std::string_view value(it->second.data(), it->second.size());
    if (!value.empty() && IsPrintableAscii(value, kMaxRequestIdBytes)) return std::string(value);
  }
  return ids::NewUuid();
}

absl::StatusOr<RequestContext> MetadataAuthenticator::Authenticate(
    const Metadata& client_metadata) const {
  absl::StatusOr<std::optional<std::string_view>> tenant =
      SingleValue(client_metadata, kTenantHeader);
  if (!tenant.ok()) return tenant.status();
  if (!tenant->has_value() || (*tenant)->empty()) {
    return absl::UnauthenticatedError(absl::StrCat("missing ", kTenantHeader, " metadata"));
  }
  if (!IsValidTenantId(**tenant)) {
    return absl::UnauthenticatedError(
        absl::StrCat("invalid ", kTenantHeader, " metadata: must match [a-z0-9][a-z0-9_-]{0,62}"));
  }
  absl::StatusOr<std::optional<std::string_view>> caller =
      SingleValue(client_metadata, kCallerHeader);
  if (!caller.ok()) return caller.status();
  if (caller->has_value() && !IsPrintableAscii(**caller, kMaxCallerIdBytes)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "invalid ", kCallerHeader, " metadata: must be at most 128 bytes of printable ASCII"));
  }
  return RequestContext{.tenant_id = std::string(**tenant),
                        .caller_id = std::string(caller->value_or("")),
                        .request_id = RequestIdOf(client_metadata),
                        .scope = nullptr,
                        .client = ""};
}

}  // namespace touchline::auth
