#include "services/permissions/testing/permissions_db.h"

#include <string>
#include <utility>
#include <vector>

#include "common/customers/read_model.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/idempotency/idempotency.h"
#include "common/paging/page_token.h"
#include "common/pg/migrator.h"
#include "gtest/gtest.h"
#include "services/permissions/migrations.h"

namespace touchline::permissions::testing {

std::unique_ptr<pg::Pool> MigratedPool(const touchline::testing::ScopedSchema& schema, int size) {
  const std::string dsn = touchline::testing::TestPgDsn();
  if (dsn.empty()) return nullptr;
  const std::pair<const char*, const std::vector<pg::Migration>*> components[] = {
      // The shared ones first, as the service host applies them.
      {"outbox", &events::OutboxMigrations()},
      {"inbox", &events::InboxMigrations()},
      {"page_tokens", &paging::PageTokenMigrations()},
      {"idempotency", &idempotency::IdempotencyMigrations()},
      {"permissions", &pg::permissions_migrations()},
      {"customer_read_model", &customers::ReadModelMigrations()}};
  for (const auto& [component, migrations] : components) {
    const absl::Status migrated = pg::ApplyMigrations(dsn, schema.name(), component, *migrations);
    if (!migrated.ok()) {
      ADD_FAILURE() << "migrating " << component << ": " << migrated;
      return nullptr;
    }
  }
  pg::PoolOptions options;
  options.dsn = dsn;
  options.search_path = schema.name();
  options.size = size;
  absl::StatusOr<std::unique_ptr<pg::Pool>> pool = pg::Pool::Create(options);
  if (!pool.ok()) {
    ADD_FAILURE() << "connecting: " << pool.status();
    return nullptr;
  }
  return *std::move(pool);
}

}  // namespace touchline::permissions::testing
