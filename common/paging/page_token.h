// Opaque page tokens (AIP-158): base64url of a small JSON object that holds where the
// previous page ended and a hash of the query, so a token given with another query is
// refused instead of returning a wrong page.
#ifndef TOUCHLINE_COMMON_PAGING_PAGE_TOKEN_H_
#define TOUCHLINE_COMMON_PAGING_PAGE_TOKEN_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace touchline::paging {

// A short hash (16 hex digits) of a canonical form of the query (its filters and order).
std::string QueryHash(std::string_view canonical_query);

// The token for `cursor`, bound to `query_hash`.
std::string EncodeToken(nlohmann::json cursor, const std::string& query_hash);

// The cursor of `token`. INVALID_ARGUMENT naming `field` when the token is malformed or was
// made for another query.
absl::StatusOr<nlohmann::json> DecodeToken(std::string_view token, const std::string& query_hash,
                                           std::string field = "page_token");

}  // namespace touchline::paging

#endif  // TOUCHLINE_COMMON_PAGING_PAGE_TOKEN_H_
