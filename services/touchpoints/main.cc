// The touchpoints service: flags -> validated config -> dependencies -> serve until SIGTERM.
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/audit/audit.h"
#include "common/channel/balanced_channel.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"
#include "common/customers/customer_directory.h"
#include "common/enforcement/enforcement.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/events/outbox_relay.h"
#include "common/events/topics.h"
#include "common/log/log.h"
#include "common/paging/page_token.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "common/server/executor.h"
#include "common/server/server.h"
#include "common/server/unary_call.h"
#include "services/touchpoints/customer_events.h"
#include "services/touchpoints/migrations.h"
#include "services/touchpoints/pg_touchpoint_store.h"
#include "services/touchpoints/touchpoint_manager.h"
#include "services/touchpoints/touchpoints_service.h"

ABSL_FLAG(std::string, pg_schema, "touchpoints",
          "PostgreSQL schema that holds the service's tables");
ABSL_FLAG(bool, migrate_only, false, "Apply the schema migrations and exit");
ABSL_FLAG(int, write_batch_threads, 2,
          "Threads that commit RecordTouchpoint in batches (one transaction per batch)");
ABSL_FLAG(absl::Duration, max_clock_skew, absl::Minutes(5),
          "How far in the future a touchpoint's occur_time may be");
ABSL_FLAG(int, partition_months_ahead, 3,
          "Monthly partitions kept created ahead of the current month");
ABSL_FLAG(std::string, contacts_addr, "",
          "Where the contacts service runs (e.g. dns:///contacts:8080), asked on the caller's "
          "behalf for a customer the read model does not know yet");

namespace touchline::touchpoints {
namespace {

using config::OkOrDie;
using config::OrDie;

int Run() {
  const std::string dsn = absl::GetFlag(FLAGS_pg_dsn);
  const std::string schema = absl::GetFlag(FLAGS_pg_schema);
  if (dsn.empty()) config::Fatal("--pg_dsn (or TOUCHLINE_PG_DSN) is required");
  if (schema.empty()) config::Fatal("--pg_schema must not be empty");
  const absl::Duration skew = absl::GetFlag(FLAGS_max_clock_skew);
  if (skew < absl::ZeroDuration()) config::Fatal("--max_clock_skew must not be negative");
  const int months_ahead = absl::GetFlag(FLAGS_partition_months_ahead);
  if (months_ahead < 0 || months_ahead > 24) {
    config::Fatal("--partition_months_ahead must be between 0 and 24");
  }
  const bool migrate_only = absl::GetFlag(FLAGS_migrate_only);
  // Migrating alone needs neither the token key nor the permissions service.
  std::optional<enforcement::EnforcementConfig> enforcement_config;
  if (!migrate_only) enforcement_config = enforcement::EnforcementConfigFromFlags("touchpoints");
  const std::string contacts_addr = absl::GetFlag(FLAGS_contacts_addr);
  if (!migrate_only && contacts_addr.empty()) config::Fatal("--contacts_addr is required");

  OkOrDie(pg::ApplyMigrations(dsn, schema, "touchpoints", pg::touchpoints_migrations()),
          "migrating the touchpoints schema");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "outbox", events::OutboxMigrations()),
          "migrating the outbox");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "inbox", events::InboxMigrations()),
          "migrating the inbox");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "shares", enforcement::SharesMigrations()),
          "migrating the customer shares");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "page_tokens", paging::PageTokenMigrations()),
          "migrating the page-token key");
  if (migrate_only) return 0;

  pg::PoolOptions pool_options;
  pool_options.dsn = dsn;
  pool_options.search_path = schema;
  pool_options.prepared = PgTouchpointStore::PreparedStatements();
  pool_options.settings = PgTouchpointStore::ConnectionSettings();
  pool_options.size = absl::GetFlag(FLAGS_pg_pool_size);
  const auto pool = OrDie(pg::Pool::Create(pool_options), "connecting to PostgreSQL");
  auto redis_options =
      OrDie(redis::ParseRedisAddress(absl::GetFlag(FLAGS_redis_addr)), "--redis_addr");
  const auto redis = OrDie(redis::Pool::Create(redis_options), "setting up Redis");
  const std::string stream_prefix = absl::GetFlag(FLAGS_events_stream_prefix);
  events::RelayOptions relay_options;
  relay_options.dsn = dsn;
  relay_options.schema = schema;
  relay_options.stream_prefix = stream_prefix;
  events::OutboxRelay relay(relay_options, redis.get());
  relay.Start();

  PgTouchpointStore store(pool.get(), [&relay] { relay.Wake(); });
  // Partitions for the months ahead, now and then every hour.
  const auto ensure_ahead = [&store, months_ahead] {
    const absl::Time now = absl::Now();
    return store.EnsurePartitions(now, now + absl::Hours(24 * 31 * months_ahead));
  };
  OkOrDie(ensure_ahead(), "creating partitions");
  absl::Notification stopping;
  std::thread partitioner([&] {
    // First the search vectors of rows from before needs, concerns and interests were indexed.
    const absl::StatusOr<int64_t> indexed =
        store.IndexListsOfOlderRows(500, [&] { return stopping.HasBeenNotified(); });
    if (!indexed.ok()) {
      log::Error("indexing needs, concerns and interests", {{"error", indexed.status().ToString()}});
    } else if (*indexed > 0) {
      log::Info("indexed needs, concerns and interests", {{"touchpoints", std::to_string(*indexed)}});
    }
    while (!stopping.WaitForNotificationWithTimeout(absl::Hours(1))) {
      if (const absl::Status status = ensure_ahead(); !status.ok()) {
        log::Error("creating partitions ahead", {{"error", status.ToString()}});
      }
    }
  });

  // The customer read model, fed by contacts' events.
  events::ConsumerOptions consumer_options;
  consumer_options.stream_prefix = stream_prefix;
  consumer_options.topic = events::kCustomersTopic;
  consumer_options.group = "touchpoints";
  consumer_options.consumer = events::ProcessConsumerName();
  events::StreamConsumer customers(consumer_options, redis.get(), pool.get(), &ApplyCustomerEvent);
  customers.Start();
  // Callers: tokens verified here, scopes from the permissions service, cached until a
  // policy change says otherwise; the customer shares read model, whose changes re-send the
  // customer's touchpoints through the change feed.
  enforcement_config->options.shares_changed = &SharesChanged;
  enforcement::Enforcement enforcement(*std::move(enforcement_config), redis.get(), pool.get());
  enforcement.Start();
  audit::AuditPublisherOptions audit_options;
  audit_options.stream_prefix = stream_prefix;
  const auto audit =
      OrDie(audit::AuditPublisher::Create(audit_options, redis.get()), "--events_stream_prefix");
  audit->Start();

  ValidationOptions validation;
  validation.max_clock_skew = skew;
  BatchOptions batching;
  batching.threads = absl::GetFlag(FLAGS_write_batch_threads);
  batching.max_queue = static_cast<size_t>(absl::GetFlag(FLAGS_max_queued_calls));
  // Customers the read model does not know yet, from their owner.
  const std::unique_ptr<CustomerDirectory> directory =
      customers::MakeGrpcCustomerDirectory(channel::BalancedChannel(contacts_addr));
  TouchpointManager manager(
      &store, audit.get(), validation,
      OrDie(paging::PageTokens::Load(*pool), "loading the page-token key"),
      [] { return absl::Now(); }, batching, directory.get());
  server::Executor executor(absl::GetFlag(FLAGS_worker_threads),
                            absl::GetFlag(FLAGS_max_queued_calls));
  server::UnaryRunner runner("touchline.touchpoints.v1.TouchpointsService", &executor,
                             enforcement.authenticator(), absl::GetFlag(FLAGS_access_log));
  TouchpointsService service(&manager, &runner);

  server::ServerOptions server_options;
  server_options.listen_address = absl::GetFlag(FLAGS_listen_address);
  server_options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  server_options.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  server_options.max_message_bytes = 32 << 20;  // A batch of 1,000 touchpoints with long texts.
  const auto grpc_server =
      OrDie(server::Server::Start(server_options,
                                  {{"touchline.touchpoints.v1.TouchpointsService", &service}}),
            "starting the gRPC server");
  log::Info("touchpoints service serving",
            {{"grpc_port", std::to_string(grpc_server->port())},
             {"metrics_port", std::to_string(grpc_server->metrics_port())}});

  const int signal = server::WaitForTerminationSignal();
  log::Info("shutting down", {{"signal", std::to_string(signal)}});
  grpc_server->Shutdown();
  executor.Shutdown();
  customers.Stop();
  enforcement.Stop();
  audit->Stop();
  stopping.Notify();
  partitioner.join();
  relay.Stop();
  return 0;
}

}  // namespace
}  // namespace touchline::touchpoints

int main(int argc, char** argv) {
  touchline::server::BlockTerminationSignals();
  touchline::config::ParseFlags(argc, argv,
                                "Touchline touchpoints service: the interaction log over gRPC");
  touchline::config::ApplyCommonFlags();
  return touchline::touchpoints::Run();
}
