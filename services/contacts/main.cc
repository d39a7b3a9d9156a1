// The contacts service: flags -> validated config -> dependencies -> serve until SIGTERM.
#include <unistd.h>

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth/scope_authenticator.h"
#include "common/auth/sync/scope_invalidation.h"
#include "common/auth/sync/shares_read_model.h"
#include "common/auth/token.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"
#include "common/events/audit.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/events/outbox_relay.h"
#include "common/log/log.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "common/server/executor.h"
#include "common/server/server.h"
#include "common/server/unary_call.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/contacts/contacts_service.h"
#include "services/contacts/customer_manager.h"
#include "services/contacts/migrations.h"
#include "services/contacts/pg_customer_store.h"

ABSL_FLAG(std::string, pg_schema, "contacts", "PostgreSQL schema that holds the service's tables");
ABSL_FLAG(std::string, default_phone_region, "CN",
          "ISO 3166-1 region assumed for phone numbers written without a country code");
ABSL_FLAG(bool, migrate_only, false, "Apply the schema migrations and exit");
ABSL_FLAG(int, read_batch_threads, 2,
          "Threads that serve GetCustomer in batches (one query per batch)");
ABSL_FLAG(int, write_batch_threads, 2,
          "Threads that commit CreateCustomer in batches (one transaction per batch)");
ABSL_FLAG(std::string, events_stream_prefix, "touchline",
          "Prefix of the Redis stream keys events are published to and consumed from");
ABSL_FLAG(std::string, jwt_public_key_file, "",
          "PEM file of the RSA public key that access tokens are signed with (required)");
ABSL_FLAG(std::string, permissions_addr, "",
          "host:port of the permissions service, which compiles callers' scopes (required)");

namespace touchline::contacts {
namespace {

using config::OkOrDie;
using config::OrDie;

// This replica's name in the consumer group: unique per process.
std::string ConsumerName() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(host, "-", getpid());
}

// The token verifier of --jwt_public_key_file, or Fatal.
auth::TokenVerifier LoadTokenVerifier() {
  const std::string path = absl::GetFlag(FLAGS_jwt_public_key_file);
  if (path.empty()) config::Fatal("--jwt_public_key_file is required");
  std::ifstream file(path);
  if (!file) config::Fatal(absl::StrCat("--jwt_public_key_file: cannot read ", path));
  std::ostringstream pem;
  pem << file.rdbuf();
  return OrDie(auth::TokenVerifier::Create(pem.str()), "--jwt_public_key_file");
}

int Run() {
  const std::string dsn = absl::GetFlag(FLAGS_pg_dsn);
  const std::string schema = absl::GetFlag(FLAGS_pg_schema);
  if (dsn.empty()) config::Fatal("--pg_dsn (or TOUCHLINE_PG_DSN) is required");
  if (schema.empty()) config::Fatal("--pg_schema must not be empty");
  const ValidationOptions validation{.default_region = absl::GetFlag(FLAGS_default_phone_region)};
  OkOrDie(CheckValidationOptions(validation), "--default_phone_region");
  const bool migrate_only = absl::GetFlag(FLAGS_migrate_only);
  // Migrating alone needs neither the token key nor the permissions service.
  const std::string permissions_addr = absl::GetFlag(FLAGS_permissions_addr);
  std::optional<auth::TokenVerifier> verifier;
  if (!migrate_only) {
    if (permissions_addr.empty()) config::Fatal("--permissions_addr is required");
    verifier = LoadTokenVerifier();
  }

  OkOrDie(pg::ApplyMigrations(dsn, schema, "contacts", pg::contacts_migrations()),
          "migrating the contacts schema");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "outbox", events::OutboxMigrations()),
          "migrating the outbox");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "inbox", events::InboxMigrations()),
          "migrating the inbox");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "shares", auth::SharesMigrations()),
          "migrating the shares read model");
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
  events::AuditPublisherOptions audit_options;
  audit_options.stream_prefix = stream_prefix;
  const auto audit =
      OrDie(events::AuditPublisher::Create(audit_options, redis.get()), "setting up the audit log");
  audit->Start();

  // The shares read model, fed by the permissions service's events.
  events::ConsumerOptions consumer_options;
  consumer_options.stream_prefix = stream_prefix;
  consumer_options.topic = auth::kPermissionsTopic;
  consumer_options.group = "contacts";
  consumer_options.consumer = ConsumerName();
  events::StreamConsumer shares(consumer_options, redis.get(), pool.get(),
                                &auth::ApplyPermissionEvent);
  shares.Start();

  auth::ScopeAuthenticator authenticator(
      *std::move(verifier), auth::MakeGrpcScopeSource(grpc::CreateChannel(
                                permissions_addr, grpc::InsecureChannelCredentials())));
  auth::ScopeInvalidationListener invalidation(redis.get(), stream_prefix, &authenticator);
  invalidation.Start();

  PgCustomerStore store(pool.get(), [&relay] { relay.Wake(); });
  CustomerManager manager(
      &store, CustomerValidator(validation), [] { return absl::Now(); },
      {.read_threads = absl::GetFlag(FLAGS_read_batch_threads),
       .write_threads = absl::GetFlag(FLAGS_write_batch_threads),
       .max_batch = 128,
       .max_queue = static_cast<size_t>(absl::GetFlag(FLAGS_max_queued_calls))});
  server::Executor executor(absl::GetFlag(FLAGS_worker_threads),
                            absl::GetFlag(FLAGS_max_queued_calls));
  server::UnaryRunner runner("touchline.contacts.v1.ContactsService", &executor, &authenticator,
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
  invalidation.Stop();
  shares.Stop();
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
