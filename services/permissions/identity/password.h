// Passwords: the length rule, and argon2id hashes in libsodium's crypto_pwhash_str format
// (algorithm, costs and salt inside the string, so costs can change without a migration).
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_PASSWORD_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_PASSWORD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace touchline::permissions {

// Password length in characters (code points), so a Chinese passphrase counts as typed.
inline constexpr size_t kMinPasswordLength = 12;
inline constexpr size_t kMaxPasswordLength = 256;

// The argon2id cost of new hashes (crypto_pwhash opslimit and memlimit in bytes).
struct PasswordHashCost {
  uint64_t ops_limit;
  size_t mem_limit;

  // crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE (2 passes, 64 MiB).
  static PasswordHashCost Interactive();
  // crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN: for tests only.
  static PasswordHashCost Minimum();
};

// Why `password` is unacceptable ("must be 12 to 256 characters long, not 8"), or nullopt
// when it is valid UTF-8 of kMinPasswordLength to kMaxPasswordLength code points.
std::optional<std::string> CheckPassword(std::string_view password);

// A crypto_pwhash_str argon2id hash of `password` with a random salt. RESOURCE_EXHAUSTED
// when libsodium cannot allocate the memory the cost asks for.
absl::StatusOr<std::string> HashPassword(std::string_view password, PasswordHashCost cost);

// Whether `password` matches `hash` (a crypto_pwhash_str string). False for a malformed hash.
// Takes as long as hashing with the costs inside `hash`.
bool VerifyPassword(std::string_view hash, std::string_view password);

// Whether `hash` was made with other costs (or another algorithm) than `cost`, so it should be
// replaced after the next successful verification.
bool PasswordNeedsRehash(std::string_view hash, PasswordHashCost cost);

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_PASSWORD_H_
