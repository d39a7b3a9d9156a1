// For the journeys pgtests: the service's schema as the host migrates it (its own migrations,
// the customer and shares read models, idempotency keys...) in `schema`, and a pool on it.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_TESTING_MIGRATED_POOL_H_
#define TOUCHLINE_SERVICES_JOURNEYS_TESTING_MIGRATED_POOL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/service_host/service_host.h"
#include "services/journeys/migrations.h"
#include "services/journeys/state/journey_mapper.h"

namespace touchline::journeys::testing {

inline absl::StatusOr<std::unique_ptr<pg::Pool>> MigratedPool(const std::string& dsn,
                                                              const std::string& schema) {
  service_host::ServiceOptions options("journeys", "");
  options.migrations = &pg::journeys_migrations();
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
  pool_options.prepared = MapperStatements();
  return pg::Pool::Create(pool_options);
}

}  // namespace touchline::journeys::testing

#endif  // TOUCHLINE_SERVICES_JOURNEYS_TESTING_MIGRATED_POOL_H_
