#include "common/pg/migrator.h"

#include <sodium.h>

#include <array>
#include <cstdio>
#include <exception>
#include <map>
#include <pqxx/connection>
#include <pqxx/result>
#include <pqxx/transaction>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/pg/errors.h"
#include "common/status/macros.h"

namespace touchline::pg {
namespace {

// Hex SHA-256 of a migration's text: detects a migration edited after it was applied.
std::string Checksum(const std::string& sql) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest;
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(sql.data()), sql.size());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex;
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data(), crypto_hash_sha256_BYTES * 2);
}

// Serializes migrators of one schema until the end of `txn`.
void LockSchema(pqxx::work& txn, const std::string& schema) {
  txn.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", schema);
}

absl::Status ChangedError(const std::string& component, const Migration& migration) {
  return absl::FailedPreconditionError(absl::StrCat(
      "migration ", migration.name, " (version ", migration.version, ") of component ", component,
      " was changed after it was applied; migrations are forward-only: add a new "
      "one instead of editing an applied one"));
}

absl::Status ValidateVersions(const std::string& component,
                              const std::vector<Migration>& migrations) {
  int previous = 0;
  for (const Migration& migration : migrations) {
    if (migration.version <= previous) {
      return absl::FailedPreconditionError(
          absl::StrCat("migrations of component ", component, ": version ", migration.version, " (",
                       migration.name, ") after version ", previous,
                       "; versions must be positive and strictly increasing"));
    }
    previous = migration.version;
  }
  return absl::OkStatus();
}

// Checksums of the migrations of `component` recorded in the bookkeeping table, by version.
std::map<int, std::string> Recorded(pqxx::work& txn, const std::string& table,
                                    const std::string& component) {
  std::map<int, std::string> recorded;
  for (const auto& row : txn.exec_params(
           "SELECT version, checksum FROM " + table + " WHERE component = $1", component)) {
    recorded[row[0].as<int>()] = row[1].as<std::string>();
  }
  return recorded;
}

}  // namespace

absl::Status ApplyMigrations(const std::string& dsn, std::string_view schema_name,
                             std::string_view component_name,
                             const std::vector<Migration>& migrations) {
  const std::string schema(schema_name);
  const std::string component(component_name);
  if (schema.empty() || component.empty()) {
    return absl::InvalidArgumentError("migrations: schema and component must not be empty");
  }
  TL_RETURN_IF_ERROR(ValidateVersions(component, migrations));
  if (sodium_init() < 0) return absl::InternalError("migrations: libsodium failed to start");

  const Migration* current = nullptr;
  try {
    pqxx::connection conn(dsn);
    const std::string quoted_schema = conn.quote_name(schema);
    const std::string table = quoted_schema + ".schema_migrations";

    std::map<int, std::string> recorded;
    {
      pqxx::work txn(conn);
      LockSchema(txn, schema);
      txn.exec("CREATE SCHEMA IF NOT EXISTS " + quoted_schema);
      txn.exec("CREATE TABLE IF NOT EXISTS " + table +
               " (component text NOT NULL, version integer NOT NULL, name text NOT NULL,"
               " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),"
               " PRIMARY KEY (component, version))");
      recorded = Recorded(txn, table, component);
      txn.commit();
    }
    // Refuse before applying anything if history was rewritten.
    for (const Migration& migration : migrations) {
      const auto it = recorded.find(migration.version);
      if (it != recorded.end() && it->second != Checksum(migration.sql)) {
        return ChangedError(component, migration);
      }
    }

    for (const Migration& migration : migrations) {
      if (recorded.count(migration.version) != 0) continue;
      current = &migration;
      pqxx::work txn(conn);
      LockSchema(txn, schema);
      // Another replica may have applied it while we waited for the lock.
      const std::string checksum = Checksum(migration.sql);
      const pqxx::result done = txn.exec_params(
          "SELECT checksum FROM " + table + " WHERE component = $1 AND version = $2", component,
          migration.version);
      if (!done.empty()) {
        if (done[0][0].as<std::string>() != checksum) return ChangedError(component, migration);
        continue;
      }
      txn.exec("SET LOCAL search_path TO " + quoted_schema);
      txn.exec(migration.sql);
      txn.exec_params(
          "INSERT INTO " + table + " (component, version, name, checksum) VALUES ($1, $2, $3, $4)",
          component, migration.version, migration.name, checksum);
      txn.commit();
      current = nullptr;
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    const absl::Status status = StatusFromException(e);
    if (current == nullptr) {
      return absl::Status(status.code(),
                          absl::StrCat("migrations of ", schema, ": ", status.message()));
    }
    return absl::Status(status.code(), absl::StrCat("migration ", current->name, " of ", component,
                                                    ": ", status.message()));
  }
}

}  // namespace touchline::pg
