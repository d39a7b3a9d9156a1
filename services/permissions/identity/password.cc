#include "services/permissions/identity/password.h"

#include <sodium.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/text/text.h"

namespace touchline::permissions {

PasswordHashCost PasswordHashCost::Interactive() {
  return {.ops_limit = crypto_pwhash_OPSLIMIT_INTERACTIVE,
          .mem_limit = crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

PasswordHashCost PasswordHashCost::Minimum() {
  return {.ops_limit = crypto_pwhash_OPSLIMIT_MIN, .mem_limit = crypto_pwhash_MEMLIMIT_MIN};
}

std::optional<std::string> CheckPassword(std::string_view password) {
  if (const char* problem = text::EncodingProblem(password)) return problem;
  const size_t length = text::CodePointCount(password);
  if (length < kMinPasswordLength || length > kMaxPasswordLength) {
    return absl::StrCat("must be ", kMinPasswordLength, " to ", kMaxPasswordLength,
                        " characters long, not ", length);
  }
  return std::nullopt;
}

absl::StatusOr<std::string> HashPassword(std::string_view password, PasswordHashCost cost) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(hash, password.data(), password.size(), cost.ops_limit, cost.mem_limit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError("out of memory hashing a password");
  }
  return std::string(hash);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  // crypto_pwhash_str_verify reads a NUL-terminated string.
  const std::string terminated(hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

bool PasswordNeedsRehash(std::string_view hash, PasswordHashCost cost) {
  const std::string terminated(hash);
  // 1 for other costs, -1 for a string that is not an argon2id hash (argon2i included): both
  // want a new hash.
  return crypto_pwhash_argon2id_str_needs_rehash(terminated.c_str(), cost.ops_limit,
                                                 cost.mem_limit) != 0;
}

}  // namespace touchline::permissions
