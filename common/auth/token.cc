#include "common/auth/token.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/auth/request_context.h"
#include "jwt/jwt.hpp"
#include "nlohmann/json.hpp"

namespace touchline::auth {
namespace {

using Json = nlohmann::json;

// Far above any token we sign (about 600 bytes); bounds the work a garbage header can cause.
constexpr size_t kMaxTokenBytes = 8 * 1024;
constexpr size_t kMaxClaimBytes = 128;
constexpr int kMinRsaBits = 2048;
constexpr char kAlgorithm[] = "RS256";

absl::Status Unauthenticated(std::string_view reason) {
  return absl::UnauthenticatedError(std::string(reason));
}

// Refuses a passphrase prompt: keys must be given unencrypted, never read from a terminal.
int NoPassphrase(char*, int, int, void*) { return 0; }

// OK when `pem` is an RSA key of at least kMinRsaBits, private or public as asked.
absl::Status CheckRsaKey(const std::string& pem, bool private_key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf failed");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      private_key ? PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr)
                  : PEM_read_bio_PUBKEY(bio.get(), nullptr, &NoPassphrase, nullptr),
      &EVP_PKEY_free);
  ERR_clear_error();
  const char* kind = private_key ? "private" : "public";
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", kind, " key is not an unencrypted PEM key"));
  }
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError(absl::StrCat("the ", kind, " key is not an RSA key"));
  }
  if (EVP_PKEY_bits(key.get()) < kMinRsaBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", kind, " key has fewer than ", kMinRsaBits, " bits"));
  }
  return absl::OkStatus();
}

// Strict base64url without padding (RFC 7515 section 2): nullopt on any other character or
// an impossible length.
std::optional<std::string> DecodeBase64Url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '-') {
      value = 62;
    } else if (c == '_') {
      value = 63;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  // The unused low bits of the last character must be zero: one encoding per value, so a
  // signature cannot be varied without changing it.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

// The JSON object encoded in one segment, or nullopt.
std::optional<Json> DecodeJsonSegment(std::string_view segment) {
  std::optional<std::string> bytes = DecodeBase64Url(segment);
  if (!bytes.has_value()) return std::nullopt;
  Json json = Json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  return json;
}

bool IsPrintableAscii(std::string_view text) {
  for (char c : text) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// The string claim `name`, when present, a string, 1 to kMaxClaimBytes printable ASCII.
std::optional<std::string> IdClaim(const Json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_string()) return std::nullopt;
  const std::string& value = it->get_ref<const std::string&>();
  if (value.empty() || value.size() > kMaxClaimBytes || !IsPrintableAscii(value)) {
    return std::nullopt;
  }
  return value;
}

// The NumericDate claim `name` (whole seconds), when present and an integer.
std::optional<int64_t> TimeClaim(const Json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

// What cpp-jwt reported, in the words Verify documents.
absl::Status FromJwtError(const std::error_code& ec) {
  if (ec == jwt::VerificationErrc::InvalidSignature || ec == jwt::AlgorithmErrc::VerificationErr) {
    return Unauthenticated("token signature invalid");
  }
  if (ec == jwt::VerificationErrc::TokenExpired) return Unauthenticated("token expired");
  if (ec == jwt::VerificationErrc::ImmatureSignature) return Unauthenticated("token not yet valid");
  if (ec == jwt::VerificationErrc::InvalidAudience) {
    return Unauthenticated("token audience not accepted");
  }
  if (ec == jwt::VerificationErrc::InvalidIssuer)
    return Unauthenticated("token issuer not accepted");
  if (ec == jwt::VerificationErrc::InvalidAlgorithm ||
      ec == jwt::AlgorithmErrc::NoneAlgorithmUsed) {
    return Unauthenticated("token algorithm not allowed");
  }
  return Unauthenticated("malformed token");
}

absl::StatusOr<TokenClaims> VerifyOrThrow(std::string_view token, const std::string& key,
                                          absl::Duration leeway, absl::Time now) {
  if (token.empty() || token.size() > kMaxTokenBytes) return Unauthenticated("malformed token");
  const size_t first_dot = token.find('.');
  const size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos || first_dot == 0 ||
      second_dot == first_dot + 1) {
    return Unauthenticated("malformed token");
  }
  std::optional<Json> header = DecodeJsonSegment(token.substr(0, first_dot));
  if (!header.has_value()) return Unauthenticated("malformed token");
  // The allow-list, checked exactly (cpp-jwt compares algorithm names case-insensitively)
  // before anything else, so a token cannot choose how it is verified.
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() ||
      alg->get_ref<const std::string&>() != kAlgorithm) {
    return Unauthenticated("token algorithm not allowed");
  }
  const std::string_view signature = token.substr(second_dot + 1);
  std::optional<Json> payload =
      DecodeJsonSegment(token.substr(first_dot + 1, second_dot - first_dot - 1));
  if (!payload.has_value() || signature.empty() || !DecodeBase64Url(signature).has_value()) {
    return Unauthenticated("malformed token");
  }
  // Extensions this verifier does not implement must be refused (RFC 7515 section 4.1.11).
  if (header->contains("crit")) return Unauthenticated("malformed token");

  std::error_code ec;
  const uint32_t leeway_seconds = static_cast<uint32_t>(absl::ToInt64Seconds(leeway));
  jwt::decode(jwt::string_view(token.data(), token.size()), jwt::params::algorithms({kAlgorithm}),
              ec, jwt::params::secret(key), jwt::params::verify(true),
              jwt::params::issuer(kTokenIssuer), jwt::params::aud(kTokenAudience),
              jwt::params::leeway(leeway_seconds));
  if (ec) return FromJwtError(ec);

  // cpp-jwt 1.4 checks exp against the system clock only when present, and aud and iss only
  // when they are strings; every claim is checked again here, against `now`.
  auto iss = payload->find("iss");
  if (iss == payload->end() || !iss->is_string() ||
      iss->get_ref<const std::string&>() != kTokenIssuer) {
    return Unauthenticated("token issuer not accepted");
  }
  auto aud = payload->find("aud");
  if (aud == payload->end() || !aud->is_string() ||
      aud->get_ref<const std::string&>() != kTokenAudience) {
    return Unauthenticated("token audience not accepted");
  }
  const std::optional<int64_t> exp = TimeClaim(*payload, "exp");
  const std::optional<int64_t> iat = TimeClaim(*payload, "iat");
  if (!exp.has_value() || !iat.has_value()) return Unauthenticated("malformed token");
  TokenClaims claims;
  claims.issue_time = absl::FromUnixSeconds(*iat);
  claims.expire_time = absl::FromUnixSeconds(*exp);
  if (now >= claims.expire_time + leeway) return Unauthenticated("token expired");
  if (claims.issue_time > now + leeway) return Unauthenticated("token not yet valid");
  if (const std::optional<int64_t> nbf = TimeClaim(*payload, "nbf");
      payload->contains("nbf") &&
      (!nbf.has_value() || absl::FromUnixSeconds(*nbf) > now + leeway)) {
    return Unauthenticated("token not yet valid");
  }
  std::optional<std::string> tenant = IdClaim(*payload, "tid");
  std::optional<std::string> user = IdClaim(*payload, "sub");
  std::optional<std::string> session = IdClaim(*payload, "sid");
  if (!tenant.has_value() || !IsValidTenantId(*tenant) || !user.has_value() ||
      !session.has_value()) {
    return Unauthenticated("malformed token");
  }
  claims.tenant_id = *std::move(tenant);
  claims.user_id = *std::move(user);
  claims.session_id = *std::move(session);
  return claims;
}

}  // namespace

absl::StatusOr<TokenSigner> TokenSigner::Create(std::string private_key_pem) {
  if (absl::Status status = CheckRsaKey(private_key_pem, /*private_key=*/true); !status.ok()) {
    return status;
  }
  return TokenSigner(std::move(private_key_pem));
}

absl::StatusOr<std::string> TokenSigner::Sign(const TokenClaims& claims) const {
  if (!IsValidTenantId(claims.tenant_id)) {
    return absl::InvalidArgumentError("token tenant_id is not a valid tenant id");
  }
  for (const std::string* id : {&claims.user_id, &claims.session_id}) {
    if (id->empty() || id->size() > kMaxClaimBytes || !IsPrintableAscii(*id)) {
      return absl::InvalidArgumentError(
          "token user_id and session_id must be 1 to 128 bytes of printable ASCII");
    }
  }
  if (claims.expire_time <= claims.issue_time) {
    return absl::InvalidArgumentError("token expire_time must be after issue_time");
  }
  try {
    jwt::jwt_object token{jwt::params::algorithm(kAlgorithm), jwt::params::secret(key_)};
    token.add_claim("iss", std::string(kTokenIssuer))
        .add_claim("aud", std::string(kTokenAudience))
        .add_claim("tid", claims.tenant_id)
        .add_claim("sub", claims.user_id)
        .add_claim("sid", claims.session_id)
        .add_claim("iat", absl::ToUnixSeconds(claims.issue_time))
        .add_claim("exp", absl::ToUnixSeconds(claims.expire_time));
    std::error_code ec;
    std::string signed_token = token.signature(ec);
    if (ec) return absl::InternalError(absl::StrCat("signing the token failed: ", ec.message()));
    return signed_token;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("signing the token failed: ", e.what()));
  }
}

absl::StatusOr<TokenVerifier> TokenVerifier::Create(std::string public_key_pem,
                                                    absl::Duration leeway) {
  if (absl::Status status = CheckRsaKey(public_key_pem, /*private_key=*/false); !status.ok()) {
    return status;
  }
  if (leeway < absl::ZeroDuration() || leeway > absl::Hours(1)) {
    return absl::InvalidArgumentError("token leeway must be between 0 and 1 hour");
  }
  return TokenVerifier(std::move(public_key_pem), leeway);
}

absl::StatusOr<TokenClaims> TokenVerifier::Verify(std::string_view token, absl::Time now) const {
  // Nothing a token holds may escape as an exception: cpp-jwt and nlohmann::json throw on
  // some malformed input.
  try {
    return VerifyOrThrow(token, key_, leeway_, now);
  } catch (...) {
    return Unauthenticated("malformed token");
  }
}

}  // namespace touchline::auth
