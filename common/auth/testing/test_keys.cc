#include "common/auth/testing/test_keys.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace touchline::auth::testing {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

std::string Contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "NewTestKeyPair: %s failed\n", what);
  std::abort();
}

}  // namespace

TestKeyPair NewTestKeyPair() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), &EVP_PKEY_free);
  if (key == nullptr) Fail("EVP_RSA_gen");
  BioPtr private_bio(BIO_new(BIO_s_mem()), &BIO_free);
  BioPtr public_bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (private_bio == nullptr || public_bio == nullptr) Fail("BIO_new");
  if (PEM_write_bio_PrivateKey(private_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    Fail("PEM_write_bio_PrivateKey");
  }
  if (PEM_write_bio_PUBKEY(public_bio.get(), key.get()) != 1) Fail("PEM_write_bio_PUBKEY");
  return TestKeyPair{.private_key_pem = Contents(private_bio.get()),
                     .public_key_pem = Contents(public_bio.get())};
}

}  // namespace touchline::auth::testing
