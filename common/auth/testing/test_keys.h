// RSA key pairs for tests that sign and verify access tokens. Never for production code.
#ifndef TOUCHLINE_COMMON_AUTH_TESTING_TEST_KEYS_H_
#define TOUCHLINE_COMMON_AUTH_TESTING_TEST_KEYS_H_

#include <string>

namespace touchline::auth::testing {

struct TestKeyPair {
  std::string private_key_pem;
  std::string public_key_pem;
};

// A new RSA 2048 key pair (PEM, unencrypted). Takes tens of milliseconds: make one per suite.
// Aborts the test program if OpenSSL fails, which only a broken installation does.
TestKeyPair NewTestKeyPair();

}  // namespace touchline::auth::testing

#endif  // TOUCHLINE_COMMON_AUTH_TESTING_TEST_KEYS_H_
