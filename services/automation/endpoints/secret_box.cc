#include "services/automation/endpoints/secret_box.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace touchline::automation {
namespace {

// What the key id hashes, under the key: any fixed text works; this one says what it is for.
constexpr char kKeyIdLabel[] = "touchline automation webhook secret key id";
constexpr size_t kKeyIdBytes = 8;
// A file longer than this is no key in any form (a base64 key with white space is ~45 bytes).
constexpr size_t kMaxKeyFileBytes = 4096;

// The plaintext of a box: the context's length (4 bytes, big-endian), the context, the secret.
std::string Framed(std::string_view secret, std::string_view context) {
  const uint32_t n = static_cast<uint32_t>(context.size());
  std::string framed = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                        static_cast<char>(n >> 8), static_cast<char>(n)};
  framed.append(context);
  framed.append(secret);
  return framed;
}

absl::Status Unopenable() {
  return absl::DataLossError(
      "a sealed webhook secret cannot be opened: it was altered or belongs to another endpoint");
}

}  // namespace

absl::StatusOr<SecretBox> SecretBox::FromKey(std::string_view key) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  if (key.size() != kSecretKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a webhook secret key must be ", kSecretKeyBytes, " bytes, not ", key.size()));
  }
  unsigned char id[kKeyIdBytes];
  crypto_generichash(id, sizeof(id), reinterpret_cast<const unsigned char*>(kKeyIdLabel),
                     sizeof(kKeyIdLabel) - 1, reinterpret_cast<const unsigned char*>(key.data()),
                     key.size());
  return SecretBox(std::string(key), absl::BytesToHexString(absl::string_view(
                                         reinterpret_cast<char*>(id), sizeof(id))));
}

absl::StatusOr<SecretBox> SecretBox::LoadKeyFile(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("no webhook secret key file given (a path is required)");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the webhook secret key file ", path, ": ", std::strerror(errno)));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("the webhook secret key file ", path, " is not a regular file"));
  }
  std::string contents(kMaxKeyFileBytes + 1, '\0');
  size_t size = 0;
  while (size < contents.size()) {
    const ssize_t n = ::read(fd, contents.data() + size, contents.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return absl::FailedPreconditionError(absl::StrCat("cannot read the webhook secret key file ",
                                                        path, ": ", std::strerror(error)));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  contents.resize(size);
  const size_t file_bytes = std::max(size, static_cast<size_t>(info.st_size));
  const auto wrong_size = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "the webhook secret key file ", path, " must hold ", kSecretKeyBytes,
        " bytes, as they are or in base64; it holds ", file_bytes, " bytes that are neither"));
  };
  if (contents.size() == kSecretKeyBytes) return FromKey(contents);
  if (contents.size() > kMaxKeyFileBytes) return wrong_size();
  std::string text(absl::StripAsciiWhitespace(contents));
  std::string key;
  // Padding is optional: strip it, then decode the unpadded form.
  while (!text.empty() && text.back() == '=') text.pop_back();
  if (text.empty() || !absl::Base64Unescape(text, &key) || key.size() != kSecretKeyBytes) {
    sodium_memzero(key.data(), key.size());
    return wrong_size();
  }
  absl::StatusOr<SecretBox> box = FromKey(key);
  sodium_memzero(key.data(), key.size());
  return box;
}

SealedSecret SecretBox::Seal(std::string_view secret, std::string_view context) const {
  std::string framed = Framed(secret, context);
  std::string box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + framed.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(box.data());
  randombytes_buf(out, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(framed.data()), framed.size(), out,
                        reinterpret_cast<const unsigned char*>(key_.data()));
  sodium_memzero(framed.data(), framed.size());
  return SealedSecret{.key_id = key_id_, .box = std::move(box)};
}

absl::StatusOr<std::string> SecretBox::Open(const SealedSecret& sealed,
                                            std::string_view context) const {
  if (sealed.key_id != key_id_) {
    return absl::FailedPreconditionError(absl::StrCat("a webhook secret was sealed with key ",
                                                      sealed.key_id, ", and this service has key ",
                                                      key_id_));
  }
  if (sealed.box.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return Unopenable();
  }
  const auto* in = reinterpret_cast<const unsigned char*>(sealed.box.data());
  const size_t cipher_size = sealed.box.size() - crypto_secretbox_NONCEBYTES;
  std::string framed(cipher_size - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(framed.data()),
                                 in + crypto_secretbox_NONCEBYTES, cipher_size, in,
                                 reinterpret_cast<const unsigned char*>(key_.data())) != 0) {
    return Unopenable();
  }
  const std::string expected = Framed("", context);
  if (framed.size() < expected.size() || framed.compare(0, expected.size(), expected) != 0) {
    sodium_memzero(framed.data(), framed.size());
    return Unopenable();
  }
  std::string secret = framed.substr(expected.size());
  sodium_memzero(framed.data(), framed.size());
  return secret;
}

}  // namespace touchline::automation
