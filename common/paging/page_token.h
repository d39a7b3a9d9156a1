// Opaque page tokens (AIP-158) and change-feed cursors: a small JSON object that holds where
// the previous page ended and a hash of the query, sealed with the service's own key so a
// caller can neither read a token nor forge or edit one, and a token given with another query
// is refused instead of returning a wrong page.
//
// Sealed, not only signed: a cursor may hold what the caller must not see (the change feed
// passes over touchpoints of customers hidden from the caller), so the contents are encrypted
// as well as authenticated (libsodium secretbox: XSalsa20 with a Poly1305 tag, a random nonce
// per token). The key lives in the service's schema (PageTokens::Load), so every replica of a
// service reads every other's tokens with no configuration.
#ifndef TOUCHLINE_COMMON_PAGING_PAGE_TOKEN_H_
#define TOUCHLINE_COMMON_PAGING_PAGE_TOKEN_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "nlohmann/json.hpp"

namespace touchline::paging {

// Bytes of a page-token key.
inline constexpr size_t kTokenKeyBytes = 32;

// A short hash (16 hex digits) of a canonical form of the query (its filters and order).
std::string QueryHash(std::string_view canonical_query);

// The table that keeps a schema's page-token key:
//   pg::ApplyMigrations(dsn, schema, "page_tokens", PageTokenMigrations());
const std::vector<pg::Migration>& PageTokenMigrations();

// Seals and opens the page tokens of one service. Thread-safe (immutable).
class PageTokens {
 public:
  // The key of the schema `pool` works in (its search_path), made of fresh random bytes by
  // whichever replica asks first and read by every later one. Needs PageTokenMigrations.
  // Errors of the pool (UNAVAILABLE ...); INTERNAL if the stored key is not kTokenKeyBytes.
  static absl::StatusOr<PageTokens> Load(pg::Pool& pool);

  // Precondition: key.size() == kTokenKeyBytes (a shorter key is padded with zeros).
  explicit PageTokens(std::string key);

  // The token for `cursor`, bound to `query_hash`.
  std::string Encode(nlohmann::json cursor, const std::string& query_hash) const;

  // The cursor of `token`. INVALID_ARGUMENT naming `field` when the token is malformed, was
  // sealed with another key or altered in any byte, or was made for another query.
  absl::StatusOr<nlohmann::json> Decode(std::string_view token, const std::string& query_hash,
                                        std::string field = "page_token") const;

 private:
  std::string key_;
};

}  // namespace touchline::paging

#endif  // TOUCHLINE_COMMON_PAGING_PAGE_TOKEN_H_
