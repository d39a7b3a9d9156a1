#include "common/paging/page_token.h"

#include <sodium.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "common/status/errors.h"

namespace touchline::pg {
const std::vector<Migration>& page_tokens_migrations();
}  // namespace touchline::pg

namespace touchline::paging {

using nlohmann::json;

static_assert(kTokenKeyBytes == crypto_secretbox_KEYBYTES);

std::string QueryHash(std::string_view canonical_query) {
  unsigned char hash[8];
  crypto_generichash(hash, sizeof(hash),
                     reinterpret_cast<const unsigned char*>(canonical_query.data()),
                     canonical_query.size(), nullptr, 0);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash), sizeof(hash)));
}

const std::vector<pg::Migration>& PageTokenMigrations() { return pg::page_tokens_migrations(); }

absl::StatusOr<PageTokens> PageTokens::Load(pg::Pool& pool) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  std::string fresh(kTokenKeyBytes, '\0');
  randombytes_buf(fresh.data(), fresh.size());
  std::string hex_key;
  absl::Status loaded = pool.Transact([&](pqxx::work& txn) {
    // The first replica's key wins; the others read it.
    txn.exec_params(
        "INSERT INTO page_token_key (secret) VALUES (decode($1, 'hex')) ON CONFLICT DO NOTHING",
        absl::BytesToHexString(fresh));
    hex_key = txn.exec1("SELECT encode(secret, 'hex') FROM page_token_key")[0].as<std::string>();
    return absl::OkStatus();
  });
  if (!loaded.ok()) return loaded;
  std::string key = absl::HexStringToBytes(hex_key);
  if (key.size() != kTokenKeyBytes) return absl::InternalError("page-token key has a wrong size");
  return PageTokens(std::move(key));
}

PageTokens::PageTokens(std::string key) : key_(std::move(key)) { key_.resize(kTokenKeyBytes); }

std::string PageTokens::Encode(json cursor, const std::string& query_hash) const {
  cursor["q"] = query_hash;
  const std::string plain = cursor.dump();
  // nonce || secretbox(plain)
  std::string sealed(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(sealed.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), nonce,
                        reinterpret_cast<const unsigned char*>(key_.data()));
  return absl::WebSafeBase64Escape(sealed);
}

absl::StatusOr<json> PageTokens::Decode(std::string_view token, const std::string& query_hash,
                                        std::string field) const {
  const absl::Status invalid =
      status::InvalidArgument(std::move(field), "is not a token this query returned");
  std::string sealed;
  if (!absl::WebSafeBase64Unescape(absl::string_view(token.data(), token.size()), &sealed) ||
      sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return invalid;
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  const size_t boxed = sealed.size() - crypto_secretbox_NONCEBYTES;
  std::string plain(boxed - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 nonce + crypto_secretbox_NONCEBYTES, boxed, nonce,
                                 reinterpret_cast<const unsigned char*>(key_.data())) != 0) {
    return invalid;
  }
  json cursor = json::parse(plain, nullptr, /*allow_exceptions=*/false);
  if (!cursor.is_object() || cursor.value("q", "") != query_hash) return invalid;
  return cursor;
}

}  // namespace touchline::paging
