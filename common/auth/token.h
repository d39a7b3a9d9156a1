// Signed access tokens (JWT, RS256, via cpp-jwt). The permissions service signs them at login
// with its private key; every service verifies them with the public key.
#ifndef TOUCHLINE_COMMON_AUTH_TOKEN_H_
#define TOUCHLINE_COMMON_AUTH_TOKEN_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace touchline::auth {

// The audience every Touchline service accepts.
inline constexpr char kTokenAudience[] = "touchline";
inline constexpr char kTokenIssuer[] = "touchline-permissions";

// The claims of an access token.
struct TokenClaims {
  std::string tenant_id;   // "tid"
  std::string user_id;     // "sub"
  std::string session_id;  // "sid"
  absl::Time issue_time;   // "iat"
  absl::Time expire_time;  // "exp"
};

// Thread-safe.
class TokenSigner {
 public:
  // `private_key_pem`: an RSA private key (PEM). INVALID_ARGUMENT if it does not parse.
  static absl::StatusOr<TokenSigner> Create(std::string private_key_pem);

  // A compact JWS: header {"alg":"RS256","typ":"JWT"}, claims tid, sub, sid, iat, exp, plus
  // iss = kTokenIssuer and aud = kTokenAudience.
  absl::StatusOr<std::string> Sign(const TokenClaims& claims) const;

 private:
  explicit TokenSigner(std::string private_key_pem) : key_(std::move(private_key_pem)) {}
  std::string key_;
};

// Thread-safe.
class TokenVerifier {
 public:
  // `public_key_pem`: the RSA public key matching the signer's. INVALID_ARGUMENT if it does
  // not parse. `leeway` is the clock skew tolerated on exp and iat.
  static absl::StatusOr<TokenVerifier> Create(std::string public_key_pem,
                                              absl::Duration leeway = absl::Seconds(30));

  // The claims of `token` if it is a well-formed compact JWS whose header alg is exactly
  // RS256 (anything else, "none" included, is refused), whose signature verifies, whose aud
  // is kTokenAudience and iss kTokenIssuer, which has not expired at `now` and was not issued
  // after it, and whose tid, sub and sid are present and well-formed. Otherwise
  // UNAUTHENTICATED with a short reason ("token expired", "token signature invalid", "token
  // algorithm not allowed", "token audience not accepted", "malformed token").
  absl::StatusOr<TokenClaims> Verify(std::string_view token, absl::Time now) const;

 private:
  TokenVerifier(std::string key, absl::Duration leeway) : key_(std::move(key)), leeway_(leeway) {}
  std::string key_;
  absl::Duration leeway_;
};

}  // namespace touchline::auth

#endif  // TOUCHLINE_COMMON_AUTH_TOKEN_H_
