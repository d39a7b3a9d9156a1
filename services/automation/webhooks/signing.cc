#include "services/automation/webhooks/signing.h"

#include <sodium.h>

#include <array>
#include <cstdlib>
#include <optional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/status/macros.h"

namespace touchline::automation {
namespace {

// Abseil's string_view is not std's in this build (TOOLCHAIN.md).
absl::string_view AsAbsl(std::string_view text) { return {text.data(), text.size()}; }

// Removes `prefix` from the start of `text`; false when `text` does not start with it.
bool ConsumePrefix(std::string_view& text, std::string_view prefix) {
  if (!text.starts_with(prefix)) return false;
  text.remove_prefix(prefix.size());
  return true;
}

constexpr int kBase64Variant = sodium_base64_VARIANT_ORIGINAL;
constexpr size_t kNewKeyBytes = 32;
constexpr size_t kMinKeyBytes = 24;
constexpr size_t kMaxKeyBytes = 64;
constexpr char kVersionPrefix[] = "v1,";

using Mac = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;

void RequireSodium() {
  static const bool kSodiumReady = sodium_init() >= 0;
  if (!kSodiumReady) std::abort();  // No randomness source: no secret is safe to make.
}

std::string Base64(const unsigned char* bytes, size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, kBase64Variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, kBase64Variant);
  out.resize(out.size() - 1);  // The encoder's terminating NUL.
  return out;
}

// The bytes of padded standard base64 `text`, or nullopt when it is not exactly that.
std::optional<std::vector<unsigned char>> FromBase64(std::string_view text) {
  std::vector<unsigned char> bytes(text.size() / 4 * 3 + 3);
  size_t size = 0;
  const char* end = nullptr;
  if (sodium_base642bin(bytes.data(), bytes.size(), text.data(), text.size(), nullptr, &size, &end,
                        kBase64Variant) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  bytes.resize(size);
  return bytes;
}

absl::StatusOr<std::vector<unsigned char>> SecretKey(std::string_view secret) {
  if (!ConsumePrefix(secret, kWebhookSecretPrefix)) {
    return absl::InvalidArgumentError("webhook secret: does not start with whsec_");
  }
  std::optional<std::vector<unsigned char>> key = FromBase64(secret);
  if (!key.has_value()) {
    return absl::InvalidArgumentError("webhook secret: not padded base64 after whsec_");
  }
  if (key->size() < kMinKeyBytes || key->size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook secret: ", key->size(), " key bytes, not 24 to 64"));
  }
  return std::move(*key);
}

Mac Hmac(absl::Span<const unsigned char> key, std::string_view id, std::string_view timestamp,
         std::string_view body) {
  // The _init/_update/_final API takes a key of any length (crypto_auth_hmacsha256 wants 32
  // bytes exactly), and the signed content is hashed without being copied into one string.
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  const auto update = [&state](std::string_view part) {
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(part.data()),
                                  part.size());
  };
  update(id);
  update(".");
  update(timestamp);
  update(".");
  update(body);
  Mac mac;
  crypto_auth_hmacsha256_final(&state, mac.data());
  sodium_memzero(&state, sizeof(state));
  return mac;
}

}  // namespace

std::string NewSecret() {
  RequireSodium();
  std::array<unsigned char, kNewKeyBytes> key;
  randombytes_buf(key.data(), key.size());
  std::string secret = absl::StrCat(kWebhookSecretPrefix, Base64(key.data(), key.size()));
  sodium_memzero(key.data(), key.size());
  return secret;
}

absl::StatusOr<std::string> Sign(std::string_view secret, std::string_view id, int64_t timestamp,
                                 std::string_view body) {
  TL_ASSIGN_OR_RETURN(const std::vector<unsigned char> key, SecretKey(secret));
  const Mac mac = Hmac(key, id, absl::StrCat(timestamp), body);
  return absl::StrCat(kVersionPrefix, Base64(mac.data(), mac.size()));
}

absl::StatusOr<std::string> SignatureHeader(absl::Span<const std::string> secrets,
                                            std::string_view id, int64_t timestamp,
                                            std::string_view body) {
  if (secrets.empty()) return absl::InvalidArgumentError("webhook signature: no secret");
  std::string header;
  for (const std::string& secret : secrets) {
    TL_ASSIGN_OR_RETURN(const std::string signature, Sign(secret, id, timestamp, body));
    absl::StrAppend(&header, header.empty() ? "" : " ", signature);
  }
  return header;
}

absl::Status Verify(const WebhookHeaders& headers, std::string_view body,
                    absl::Span<const std::string> secrets, absl::Time now,
                    absl::Duration tolerance) {
  if (headers.id.empty() || headers.timestamp.empty() || headers.signature.empty()) {
    return absl::InvalidArgumentError("webhook: a webhook-id, -timestamp or -signature is missing");
  }
  int64_t timestamp = 0;
  if (!absl::SimpleAtoi(AsAbsl(headers.timestamp), &timestamp)) {
    return absl::InvalidArgumentError("webhook: webhook-timestamp is not a number");
  }
  if (absl::AbsDuration(now - absl::FromUnixSeconds(timestamp)) > tolerance) {
    return absl::UnauthenticatedError("webhook: webhook-timestamp is out of tolerance");
  }
  std::vector<Mac> expected;
  for (const std::string& secret : secrets) {
    TL_ASSIGN_OR_RETURN(const std::vector<unsigned char> key, SecretKey(secret));
    // Signed over the header's own text, as the sender signed it.
    expected.push_back(Hmac(key, headers.id, headers.timestamp, body));
  }
  for (absl::string_view split :
       absl::StrSplit(AsAbsl(headers.signature), ' ', absl::SkipEmpty())) {
    std::string_view entry(split.data(), split.size());
    if (!ConsumePrefix(entry, kVersionPrefix)) continue;
    const std::optional<std::vector<unsigned char>> mac = FromBase64(entry);
    if (!mac.has_value() || mac->size() != crypto_auth_hmacsha256_BYTES) continue;
    for (const Mac& candidate : expected) {
      if (sodium_memcmp(mac->data(), candidate.data(), candidate.size()) == 0) {
        return absl::OkStatus();
      }
    }
  }
  return absl::UnauthenticatedError("webhook: no signature matches");
}

}  // namespace touchline::automation
