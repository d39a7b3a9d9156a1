// The parts of the service host that need no servers: the periodic runner and the flag checks.
#include "common/service_host/service_host.h"

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/synchronization/notification.h"
#include "common/config/common_flags.h"
#include "common/service_host/periodic_runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_DECLARE_FLAG(std::string, pg_schema);
ABSL_DECLARE_FLAG(bool, migrate_only);

namespace touchline::service_host {
namespace {

using ::testing::ElementsAre;
using ::testing::Ge;
using ::testing::HasSubstr;

TEST(PeriodicRunnerTest, RunsEachTaskAtStartAndThenEveryInterval) {
  PeriodicRunner runner;
  std::atomic<int> often{0};
  absl::Notification ran_thrice;
  runner.Add("often", absl::Milliseconds(1), [&] {
    if (++often == 3) ran_thrice.Notify();
    return absl::OkStatus();
  });
  runner.Add("hourly", absl::Hours(1), [] { return absl::OkStatus(); });
  runner.Add("once", absl::InfiniteDuration(), [] { return absl::OkStatus(); });
  runner.Start();
  ran_thrice.WaitForNotification();
  runner.Stop();
  const std::vector<int> runs = runner.runs();
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_THAT(runs[0], Ge(3));
  EXPECT_EQ(runs[1], 1);
  EXPECT_EQ(runs[2], 1);
}

TEST(PeriodicRunnerTest, ATaskThatFailsOrThrowsRunsAgain) {
  PeriodicRunner runner;
  int failing = 0;
  int throwing = 0;
  absl::Notification failed_twice;
  absl::Notification threw_twice;
  runner.Add("fails", absl::Milliseconds(1), [&]() -> absl::Status {
    if (++failing == 2) failed_twice.Notify();
    return absl::UnavailableError("database down");
  });
  runner.Add("throws", absl::Milliseconds(1), [&]() -> absl::Status {
    if (++throwing == 2) threw_twice.Notify();
    throw std::runtime_error("bug");
  });
  runner.Start();
  failed_twice.WaitForNotification();
  threw_twice.WaitForNotification();
  runner.Stop();
}

TEST(PeriodicRunnerTest, StopEndsTheWaitAndTellsARunningTask) {
  PeriodicRunner runner;
  absl::Notification running;
  bool saw_stopping = false;
  // A long task that ends when told, then a wait of a day that Stop cuts short.
  runner.Add("long", absl::Hours(24), [&] {
    running.Notify();
    while (!runner.stopping()) {
    }
    saw_stopping = true;
    return absl::OkStatus();
  });
  runner.Start();
  running.WaitForNotification();
  runner.Stop();
  EXPECT_TRUE(saw_stopping);
  EXPECT_THAT(runner.runs(), ElementsAre(1));
}

TEST(PeriodicRunnerTest, StopWithoutStartAndStartWithoutTasksAreHarmless) {
  PeriodicRunner idle;
  idle.Stop();
  idle.Start();
  idle.Stop();
  EXPECT_TRUE(idle.runs().empty());
}

class HostConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::SetFlag(&FLAGS_pg_dsn, "host=db dbname=touchline");
    absl::SetFlag(&FLAGS_pg_schema, "contacts");
    absl::SetFlag(&FLAGS_redis_addr, "127.0.0.1:6379");
    absl::SetFlag(&FLAGS_migrate_only, false);
  }

  absl::FlagSaver saver_;
};

TEST_F(HostConfigTest, ReadsTheFlags) {
  const absl::StatusOr<HostConfig> config = HostConfigFromFlags();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->dsn, "host=db dbname=touchline");
  EXPECT_EQ(config->schema, "contacts");
  EXPECT_FALSE(config->migrate_only);
  ASSERT_TRUE(config->redis.has_value());
  EXPECT_EQ(config->redis->host, "127.0.0.1");
  EXPECT_EQ(config->redis->port, 6379);
}

TEST_F(HostConfigTest, RequiresTheDsn) {
  absl::SetFlag(&FLAGS_pg_dsn, "");
  const absl::StatusOr<HostConfig> config = HostConfigFromFlags();
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(), "--pg_dsn (or TOUCHLINE_PG_DSN) is required");
}

TEST_F(HostConfigTest, RefusesAnEmptySchema) {
  absl::SetFlag(&FLAGS_pg_schema, "");
  const absl::StatusOr<HostConfig> config = HostConfigFromFlags();
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(), "--pg_schema must not be empty");
}

TEST_F(HostConfigTest, RefusesABadRedisAddressUnlessOnlyMigrating) {
  absl::SetFlag(&FLAGS_redis_addr, "no-port");
  const absl::StatusOr<HostConfig> config = HostConfigFromFlags();
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("--redis_addr: "));

  absl::SetFlag(&FLAGS_migrate_only, true);
  const absl::StatusOr<HostConfig> migrating = HostConfigFromFlags();
  ASSERT_TRUE(migrating.ok()) << migrating.status();
  EXPECT_TRUE(migrating->migrate_only);
  EXPECT_FALSE(migrating->redis.has_value());
}

// The components in the order they must run: the shared tables before the service's own,
// whose migrations may move rows into them (request ids into idempotency_keys).
std::vector<std::string> ComponentsOf(const ServiceOptions& options) {
  std::vector<std::string> names;
  for (const auto& [name, migrations] : StandardMigrations(options)) {
    EXPECT_NE(migrations, nullptr) << name;
    names.push_back(name);
  }
  return names;
}

TEST(StandardMigrationsTest, SharedTablesFirstThenTheServicesOwn) {
  const std::vector<pg::Migration> own;
  ServiceOptions options("contacts", "a test service");
  options.migrations = &own;
  options.request_ids = true;
  EXPECT_THAT(ComponentsOf(options),
              ElementsAre("outbox", "inbox", "shares", "page_tokens", "idempotency", "contacts"));
}

TEST(StandardMigrationsTest, SharesOnlyWhenEnforcingAndKeysOnlyWithRequestIds) {
  ServiceOptions options("permissions", "a test service");
  options.enforce_scopes = false;
  EXPECT_THAT(ComponentsOf(options), ElementsAre("outbox", "inbox", "page_tokens"));
}

}  // namespace
}  // namespace touchline::service_host
