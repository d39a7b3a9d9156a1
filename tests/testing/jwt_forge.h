// Hand-made JWTs for attack tests: any header and claims, signed RS256 with any key, HS256
// with any secret, or not at all. Never for production code.
#ifndef TOUCHLINE_TESTS_TESTING_JWT_FORGE_H_
#define TOUCHLINE_TESTS_TESTING_JWT_FORGE_H_

#include <string>
#include <string_view>

namespace touchline::testing {

std::string Base64UrlEncode(std::string_view data);
std::string Base64UrlDecode(std::string_view text);

// "<b64url(header)>.<b64url(payload)>.<b64url(RS256 signature)>" with `private_key_pem`.
std::string ForgeRs256(std::string_view header_json, std::string_view payload_json,
                       const std::string& private_key_pem);
// As above with HMAC-SHA256 keyed by `secret`.
std::string ForgeHs256(std::string_view header_json, std::string_view payload_json,
                       std::string_view secret);
// "<b64url(header)>.<b64url(payload)>." (what "alg":"none" tokens look like).
std::string ForgeUnsigned(std::string_view header_json, std::string_view payload_json);

// A fresh RSA 2048 private key in PEM, not the suite's.
std::string NewRsaKeyPem();

}  // namespace touchline::testing

#endif  // TOUCHLINE_TESTS_TESTING_JWT_FORGE_H_
