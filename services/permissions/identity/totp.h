// Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1, 6 digits, 30 s steps,
// the secret shared with authenticator apps in base32.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_TOTP_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_TOTP_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace touchline::permissions {

inline constexpr size_t kTotpSecretBytes = 20;  // 160 bits, as RFC 4226 recommends.
inline constexpr int kTotpDigits = 6;
inline constexpr int64_t kTotpStepSeconds = 30;

// kTotpSecretBytes random bytes (libsodium).
std::string NewTotpSecret();

// RFC 4648 base32 of `bytes`, upper case, without padding (what authenticator apps expect).
std::string Base32Encode(std::string_view bytes);

// The number of the 30 s step `time` falls in (Unix seconds / 30, rounded down).
int64_t TotpStepAt(absl::Time time);

// The kTotpDigits-digit code of `secret` (raw bytes) for `step`, zero-padded.
std::string TotpCode(std::string_view secret, int64_t step);

// The step whose code equals `code`, among the steps within `window_steps` of now's step,
// considering only steps after `last_used_step` (an accepted code can never be used twice).
// nullopt when `code` is not kTotpDigits ASCII digits or matches no such step. Codes are
// compared in constant time.
std::optional<int64_t> MatchTotpCode(std::string_view secret, std::string_view code, absl::Time now,
                                     int window_steps, int64_t last_used_step);

// The otpauth:// URI authenticator apps read (Key Uri Format), e.g.
// otpauth://totp/Touchline:wang?secret=...&issuer=Touchline&algorithm=SHA1&digits=6&period=30
std::string OtpauthUri(std::string_view issuer, std::string_view account,
                       std::string_view secret_base32);

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_TOTP_H_
