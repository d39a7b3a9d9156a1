// The contacts service: flags -> validated config -> dependencies -> serve until SIGTERM.
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "common/audit/audit.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"
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
#include "services/contacts/contacts_service.h"
#include "services/contacts/customer_manager.h"
#include "services/contacts/migrations.h"
#include "services/contacts/pg_customer_store.h"
#include "services/contacts/touchpoint_status.h"

ABSL_FLAG(std::string, pg_schema, "contacts", "PostgreSQL schema that holds the service's tables");
ABSL_FLAG(std::string, default_phone_region, "CN",
          "ISO 3166-1 region assumed for phone numbers written without a country code");
ABSL_FLAG(bool, migrate_only, false, "Apply the schema migrations and exit");
ABSL_FLAG(int, read_batch_threads, 2,
          "Threads that serve GetCustomer in batches (one query per batch)");
ABSL_FLAG(int, write_batch_threads, 2,
          "Threads that commit CreateCustomer in batches (one transaction per batch)");

namespace touchline::contacts {
namespace {

using config::OkOrDie;
using config::OrDie;

int Run() {
  const std::string dsn = absl::GetFlag(FLAGS_pg_dsn);
  const std::string schema = absl::GetFlag(FLAGS_pg_schema);
  if (dsn.empty()) config::Fatal("--pg_dsn (or TOUCHLINE_PG_DSN) is required");
  if (schema.empty()) config::Fatal("--pg_schema must not be empty");
  const ValidationOptions validation{.default_region = absl::GetFlag(FLAGS_default_phone_region)};
  OkOrDie(CheckValidationOptions(validation), "--default_phone_region");
  const bool migrate_only = absl::GetFlag(FLAGS_migrate_only);
  // Migrating alone needs neither the token key nor the permissions service.
  std::optional<enforcement::EnforcementConfig> enforcement_config;
  if (!migrate_only) enforcement_config = enforcement::EnforcementConfigFromFlags("contacts");

  OkOrDie(pg::ApplyMigrations(dsn, schema, "contacts", pg::contacts_migrations()),
          "migrating the contacts schema");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "outbox", events::OutboxMigrations()),
          "migrating the outbox");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "inbox", events::InboxMigrations()),
          "migrating the inbox");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "shares", enforcement::SharesMigrations()),
          "migrating the shares read model");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "page_tokens", paging::PageTokenMigrations()),
          "migrating the page-token key");
  if (migrate_only) return 0;

  const auto pool = OrDie(pg::Pool::Create({.dsn = dsn,
                                            .search_path = schema,
                                            .size = absl::GetFlag(FLAGS_pg_pool_size),
                                            .prepared = PgCustomerStore::PreparedStatements(),
                                            .settings = {}}),
                          "connecting to PostgreSQL");
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
  audit::AuditPublisherOptions audit_options;
  audit_options.stream_prefix = stream_prefix;
  const auto audit =
      OrDie(audit::AuditPublisher::Create(audit_options, redis.get()), "setting up the audit log");
  audit->Start();

  // Callers: tokens, scopes from the permissions service, the shares read model.
  enforcement::Enforcement enforcement(*std::move(enforcement_config), redis.get(), pool.get());
  enforcement.Start();

  PgCustomerStore store(pool.get(), [&relay] { relay.Wake(); });
  // Lifecycle status from the touchpoints recorded with each customer.
  const TouchpointStatusSync status_sync(&store, [] { return absl::Now(); });
  events::ConsumerOptions touchpoint_events;
  touchpoint_events.stream_prefix = stream_prefix;
  touchpoint_events.topic = events::kTouchpointsTopic;
  touchpoint_events.group = "contacts";
  touchpoint_events.consumer = events::ProcessConsumerName();
  events::StreamConsumer touchpoints_consumer(
      touchpoint_events, redis.get(), pool.get(),
      [&status_sync](pqxx::work& txn, const events::v1::EventEnvelope& event) {
        return status_sync.Apply(txn, event);
      });
  touchpoints_consumer.Start();
  CustomerManager manager(
      &store, CustomerValidator(validation),
      OrDie(paging::PageTokens::Load(*pool), "loading the page-token key"),
      [] { return absl::Now(); },
      {.read_threads = absl::GetFlag(FLAGS_read_batch_threads),
       .write_threads = absl::GetFlag(FLAGS_write_batch_threads),
       .max_batch = 128,
       .max_queue = static_cast<size_t>(absl::GetFlag(FLAGS_max_queued_calls))});
  server::Executor executor(absl::GetFlag(FLAGS_worker_threads),
                            absl::GetFlag(FLAGS_max_queued_calls));
  server::UnaryRunner runner("touchline.contacts.v1.ContactsService", &executor,
                             enforcement.authenticator(),
                             absl::GetFlag(FLAGS_access_log));
  ContactsService service(&manager, &runner, audit.get());

  const auto grpc_server =
      OrDie(server::Server::Start({.listen_address = absl::GetFlag(FLAGS_listen_address),
                                   .metrics_address = absl::GetFlag(FLAGS_metrics_address),
                                   .drain_timeout = absl::GetFlag(FLAGS_drain_timeout)},
                                  {{"touchline.contacts.v1.ContactsService", &service}}),
            "starting the gRPC server");
  log::Info("contacts service serving",
            {{"grpc_port", std::to_string(grpc_server->port())},
             {"metrics_port", std::to_string(grpc_server->metrics_port())}});

  const int signal = server::WaitForTerminationSignal();
  log::Info("shutting down", {{"signal", std::to_string(signal)}});
  // Calls first, then what they feed (audit entries of the last reads are flushed), then
  // what feeds them.
  grpc_server->Shutdown();
  executor.Shutdown();
  enforcement.Stop();
  touchpoints_consumer.Stop();
  audit->Stop();
  relay.Stop();
  return 0;
}

}  // namespace
}  // namespace touchline::contacts

int main(int argc, char** argv) {
  touchline::server::BlockTerminationSignals();
  touchline::config::ParseFlags(argc, argv,
                                "Touchline contacts service: customer master data over gRPC");
  touchline::config::ApplyCommonFlags();
  return touchline::contacts::Run();
}
