// Webhook secrets at rest: sealed with libsodium's crypto_secretbox_easy (XSalsa20 with a
// Poly1305 tag, a fresh random nonce per seal) under one 32-byte key the deployment keeps in a
// file (the service takes its path as a flag), so a copy of the database or of a backup holds
// no secret a receiver trusts. Every sealed secret carries the id of the key that sealed it,
// so a later key rotation can tell which rows still need the old key.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_SECRET_BOX_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_SECRET_BOX_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace touchline::automation {

// Bytes of a SecretBox key.
inline constexpr size_t kSecretKeyBytes = 32;

// A secret as it is stored: the id of the key and the nonce followed by the ciphertext (the
// Poly1305 tag and the encrypted text).
struct SealedSecret {
  std::string key_id;
  std::string box;
  bool operator==(const SealedSecret&) const = default;
};

// Seals and opens secrets under one key. Thread-safe (immutable).
class SecretBox {
 public:
  // The key in the file at `path`: exactly 32 bytes taken as they are, or the base64 (standard
  // alphabet, padding optional, white space around it ignored) of 32 bytes. Errors:
  // INVALID_ARGUMENT for an empty path or a file that holds neither form (the message says how
  // many bytes it holds), FAILED_PRECONDITION when the file cannot be read (missing, not
  // readable), each naming the path; INTERNAL when libsodium cannot start.
  static absl::StatusOr<SecretBox> LoadKeyFile(const std::string& path);

  // A box with `key` (its bytes). INVALID_ARGUMENT unless it is kSecretKeyBytes long.
  static absl::StatusOr<SecretBox> FromKey(std::string_view key);

  // The key's id: 16 hex digits of a keyed BLAKE2b hash, the same for the same key in every
  // replica and telling nothing about the key.
  const std::string& key_id() const { return key_id_; }

  // `secret` sealed, bound to `context` (what it belongs to, e.g. the tenant and endpoint):
  // opening it with another context fails, so a sealed secret copied to another row does not
  // open there.
  SealedSecret Seal(std::string_view secret, std::string_view context) const;

  // The secret `sealed` holds. FAILED_PRECONDITION when it was sealed with another key (its
  // id named); DATA_LOSS when the box is malformed, was altered in any byte or was sealed for
  // another context. Never returns part of a secret.
  absl::StatusOr<std::string> Open(const SealedSecret& sealed, std::string_view context) const;

 private:
  SecretBox(std::string key, std::string key_id)
      : key_(std::move(key)), key_id_(std::move(key_id)) {}

  std::string key_;
  std::string key_id_;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENDPOINTS_SECRET_BOX_H_
