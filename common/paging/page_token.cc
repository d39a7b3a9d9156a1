#include "common/paging/page_token.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "common/status/errors.h"

namespace touchline::paging {

using nlohmann::json;

std::string QueryHash(std::string_view canonical_query) {
  unsigned char hash[8];
  crypto_generichash(hash, sizeof(hash),
                     reinterpret_cast<const unsigned char*>(canonical_query.data()),
                     canonical_query.size(), nullptr, 0);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash), sizeof(hash)));
}

std::string EncodeToken(json cursor, const std::string& query_hash) {
  cursor["q"] = query_hash;
  return absl::WebSafeBase64Escape(cursor.dump());
}

absl::StatusOr<json> DecodeToken(std::string_view token, const std::string& query_hash,
                                 std::string field) {
  std::string text;
  const absl::Status invalid =
      status::InvalidArgument(std::move(field), "is not a token this query returned");
  if (!absl::WebSafeBase64Unescape(absl::string_view(token.data(), token.size()), &text)) {
    return invalid;
  }
  json cursor = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!cursor.is_object() || cursor.value("q", "") != query_hash) return invalid;
  return cursor;
}

}  // namespace touchline::paging
