#include "services/permissions/identity/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace touchline::permissions {
namespace {

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// Percent-encodes all but RFC 3986 unreserved characters.
std::string UriEscape(std::string_view text) {
  std::string out;
  for (const unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof(escaped), "%%%02X", c);
      out.append(escaped, 3);
    }
  }
  return out;
}

}  // namespace

std::string NewTotpSecret() {
  std::string secret(kTotpSecretBytes, '\0');
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (const unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

int64_t TotpStepAt(absl::Time time) {
  const int64_t seconds = absl::ToUnixSeconds(time);
  // Rounds down for times before 1970 too, so steps stay contiguous.
  return seconds >= 0 ? seconds / kTotpStepSeconds
                      : -((-seconds + kTotpStepSeconds - 1) / kTotpStepSeconds);
}

std::string TotpCode(std::string_view secret, int64_t step) {
  std::array<unsigned char, 8> counter;
  for (int i = 7; i >= 0; --i) {
    counter[static_cast<size_t>(i)] = static_cast<unsigned char>(step & 0xff);
    step >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), counter.data(), counter.size(),
       mac, &mac_size);
  // RFC 4226 section 5.3: dynamic truncation.
  const unsigned offset = mac[mac_size - 1] & 0x0f;
  const uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) |
                          (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                          (static_cast<uint32_t>(mac[offset + 2]) << 8) |
                          static_cast<uint32_t>(mac[offset + 3]);
  char code[kTotpDigits + 1];
  std::snprintf(code, sizeof(code), "%06u", binary % 1000000u);
  return code;
}

std::optional<int64_t> MatchTotpCode(std::string_view secret, std::string_view code, absl::Time now,
                                     int window_steps, int64_t last_used_step) {
  if (code.size() != static_cast<size_t>(kTotpDigits)) return std::nullopt;
  for (const char c : code) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  const int64_t current = TotpStepAt(now);
  std::optional<int64_t> matched;
  // Every step of the window is computed and compared, so the time taken does not say which
  // step (if any) matched.
  for (int64_t step = current - window_steps; step <= current + window_steps; ++step) {
    const std::string expected = TotpCode(secret, step);
    const bool equal = sodium_memcmp(expected.data(), code.data(), expected.size()) == 0;
    if (equal && step > last_used_step && !matched) matched = step;
  }
  return matched;
}

std::string OtpauthUri(std::string_view issuer, std::string_view account,
                       std::string_view secret_base32) {
  const std::string escaped_issuer = UriEscape(issuer);
  return absl::StrCat("otpauth://totp/", escaped_issuer, ":", UriEscape(account),
                      "?secret=", std::string(secret_base32), "&issuer=", escaped_issuer,
                      "&algorithm=SHA1&digits=", kTotpDigits, "&period=", kTotpStepSeconds);
}

}  // namespace touchline::permissions
