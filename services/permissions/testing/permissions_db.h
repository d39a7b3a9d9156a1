// A migrated permissions schema for tests: the organisation, identity and audit tables, the
// outbox and the inbox, in a fresh schema of the test database.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_TESTING_PERMISSIONS_DB_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_TESTING_PERMISSIONS_DB_H_

#include <memory>

#include "common/pg/pool.h"
#include "tests/testing/pg_test_env.h"

namespace touchline::permissions::testing {

// Migrates `schema` and returns a pool of `size` connections to it; fails the current test
// (and returns nullptr) when that does not work.
std::unique_ptr<pg::Pool> MigratedPool(const touchline::testing::ScopedSchema& schema,
                                       int size = 4);

}  // namespace touchline::permissions::testing

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_TESTING_PERMISSIONS_DB_H_
