#include "common/auth/metadata_signer.h"

#include <sodium.h>

#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace touchline::auth::internal {
namespace {

std::string_view ViewOf(const grpc::string_ref& ref) { return {ref.data(), ref.size()}; }

// The single value of `name`, nullopt when absent or repeated.
std::optional<std::string_view> Single(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, const char* name) {
  const auto [first, last] = metadata.equal_range(name);
  if (first == last || std::next(first) != last) return std::nullopt;
  return ViewOf(first->second);
}

}  // namespace

absl::StatusOr<std::string> SecretKey(std::string_view secret) {
  const absl::string_view trimmed =
      absl::StripAsciiWhitespace(absl::string_view(secret.data(), secret.size()));
  if (trimmed.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the edge secret must have at least ", kMinSecretBytes, " bytes"));
  }
  return std::string(trimmed);
}

std::string MetadataSigner::Mac(std::string_view value, int64_t unix_seconds) const {
  const std::string message = absl::StrCat(headers_.context, "\n", unix_seconds, "\n",
                                           absl::string_view(value.data(), value.size()));
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key_.data()),
                              key_.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(mac.data()));
  return mac;
}

std::vector<std::pair<std::string, std::string>> MetadataSigner::Sign(std::string_view value,
                                                                      absl::Time now) const {
  const int64_t seconds = absl::ToUnixSeconds(now);
  const std::string mac = Mac(value, seconds);
  return {{headers_.value_header, std::string(value)},
          {headers_.signature_header,
           absl::StrCat(seconds, ".", absl::BytesToHexString(absl::string_view(mac)))}};
}

std::optional<std::string> MetadataSigner::Verify(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, absl::Time now) const {
  const std::optional<std::string_view> value = Single(metadata, headers_.value_header);
  const std::optional<std::string_view> signature = Single(metadata, headers_.signature_header);
  if (!value || !signature) return std::nullopt;
  const size_t dot = signature->find('.');
  int64_t seconds = 0;
  if (dot == std::string_view::npos ||
      !absl::SimpleAtoi(absl::string_view(signature->data(), dot), &seconds)) {
    return std::nullopt;
  }
  const std::string_view hex = signature->substr(dot + 1);
  if (hex.size() != 2 * crypto_auth_hmacsha256_BYTES) return std::nullopt;
  for (const char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  const absl::Time signed_at = absl::FromUnixSeconds(seconds);
  if (signed_at < now - tolerance_ || signed_at > now + tolerance_) return std::nullopt;
  const std::string given = absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
  const std::string expected = Mac(*value, seconds);
  if (sodium_memcmp(given.data(), expected.data(), expected.size()) != 0) return std::nullopt;
  return std::string(*value);
}

}  // namespace touchline::auth::internal
