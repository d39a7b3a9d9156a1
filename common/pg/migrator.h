// Forward-only schema migrations, safe to run from several replicas starting at once.
#ifndef TOUCHLINE_COMMON_PG_MIGRATOR_H_
#define TOUCHLINE_COMMON_PG_MIGRATOR_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace touchline::pg {

// One numbered migration. cmake/embed_migrations.cmake generates lists of these from
// NNNN_name.sql files, so this stays an aggregate of exactly these three fields.
struct Migration {
  int version;       // > 0; strictly increasing within a component's list.
  std::string name;  // The file name, for messages and the bookkeeping table.
  std::string sql;   // Unqualified SQL: it runs with search_path set to the target schema.
};

// Brings `schema` up to date with `migrations` of `component` (several components, e.g. a
// service and the outbox, can keep their migrations in one schema):
//  - creates the schema and its bookkeeping table
//    <schema>.schema_migrations(component, version, name, checksum, applied_at) if missing;
//  - applies each migration not yet recorded, in version order, each in its own transaction
//    together with its bookkeeping row, with search_path set to `schema`;
//  - checks that each migration already recorded still has the same text (SHA-256).
// Every transaction takes pg_advisory_xact_lock(hashtext(schema)), so replicas starting at
// once apply each migration exactly once; the ones that wait find it recorded.
// Errors: INVALID_ARGUMENT if `schema` or `component` is empty; FAILED_PRECONDITION if the
// versions are not positive and strictly increasing or a recorded migration has changed since
// it was applied (nothing is applied then); UNAVAILABLE if the server cannot be reached; the
// mapped error of a failing migration (see StatusFromException), whose name is in the message
// and whose changes are rolled back, with the migrations before it kept.
absl::Status ApplyMigrations(const std::string& dsn, std::string_view schema,
                             std::string_view component, const std::vector<Migration>& migrations);

}  // namespace touchline::pg

#endif  // TOUCHLINE_COMMON_PG_MIGRATOR_H_
