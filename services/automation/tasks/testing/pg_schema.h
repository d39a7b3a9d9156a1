// What the tasks' PostgreSQL tests share: the automation schema as the host migrates it (the
// automation migrations, the customer and shares read models, idempotency keys, the outbox)
// with a pool on it, and a count read from it.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_PG_SCHEMA_H_
#define TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_PG_SCHEMA_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/service_host/service_host.h"
#include "gtest/gtest.h"
#include "services/automation/migrations.h"

namespace touchline::automation::testing {

// The automation schema as the host migrates it, in `schema`, and a pool of two on it.
inline absl::StatusOr<std::unique_ptr<pg::Pool>> MigratedPool(const std::string& dsn,
                                                              const std::string& schema) {
  service_host::ServiceOptions options("automation", "");
  options.migrations = &pg::automation_migrations();
  options.request_ids = true;
  options.customer_read_model = true;
  for (const auto& [component, migrations] : service_host::StandardMigrations(options)) {
    if (absl::Status s = pg::ApplyMigrations(dsn, schema, component, *migrations); !s.ok()) {
      return s;
    }
  }
  pg::PoolOptions pool_options;
  pool_options.dsn = dsn;
  pool_options.search_path = schema;
  pool_options.size = 2;
  return pg::Pool::Create(pool_options);
}

// The integer `sql` (one row, one column) reads; -1, failing the test, when it fails.
inline int Count(pg::Pool& pool, const std::string& sql) {
  int n = -1;
  const absl::Status read = pool.Query([&](pqxx::nontransaction& txn) {
    n = txn.exec(sql)[0][0].as<int>();
    return absl::OkStatus();
  });
  EXPECT_TRUE(read.ok()) << read;
  return n;
}

}  // namespace touchline::automation::testing

#endif  // TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_PG_SCHEMA_H_
