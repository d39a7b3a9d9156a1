// What every Touchline service main does, in one place: the common flags, the standard
// migrations, PostgreSQL and Redis pools, the outbox relay, the audit publisher, caller
// enforcement, stream consumers, periodic upkeep, the executor and call runners, the gRPC
// server, SIGTERM and the shutdown order. A main adds only its own wiring:
//
//   int main(int argc, char** argv) {
//     service_host::ServiceOptions options("contacts", "Touchline contacts service: ...");
//     options.migrations = &pg::contacts_migrations();
//     options.prepared = PgCustomerStore::PreparedStatements();
//     options.request_ids = true;  // the idempotency table and its purge
//     options.trimmed_topics = {events::kCustomersTopic, events::kAuditTopic};
//     service_host::ServiceHost host(argc, argv, std::move(options));
//     ... read and check the service's own flags (config::Fatal) ...
//     if (!host.Setup()) return 0;  // --migrate_only: migrated, nothing more
//     PgCustomerStore store(host.pool(), host.RelayWaker());
//     host.AddConsumer(events::kTouchpointsTopic, apply_touchpoint_event);
//     host.AddPeriodic("partitions ahead", absl::Hours(1), [&] { return store.Ahead(); });
//     CustomerManager manager(&store, ..., host.page_tokens(), host.audit());
//     ContactsService service(&manager, host.runner(kContactsService));
//     return host.Serve({{kContactsService, &service}});
//   }
//
// A service that authenticates callers itself (permissions) sets enforce_scopes = false and
// passes its authenticator to runner(); it may stop after pool() (a bootstrap mode) without
// Redis ever being touched.
//
// The wiring calls (everything before Serve or Start) come from one thread, in the order:
// constructor, Setup, then the accessors and Add* in any order. This is the top floor of
// common/: nothing else in common/ includes it.
#ifndef TOUCHLINE_COMMON_SERVICE_HOST_SERVICE_HOST_H_
#define TOUCHLINE_COMMON_SERVICE_HOST_SERVICE_HOST_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/audit/audit.h"
#include "common/auth/request_context.h"
#include "common/auth/scope_authenticator.h"
#include "common/customers/bootstrap.h"
#include "common/customers/read_model.h"
#include "common/enforcement/enforcement.h"
#include "common/events/consumer.h"
#include "common/events/outbox_relay.h"
#include "common/events/stream_trimmer.h"
#include "common/paging/page_token.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "common/server/executor.h"
#include "common/server/server.h"
#include "common/server/unary_call.h"
#include "common/service_host/periodic_runner.h"

namespace touchline::service_host {

struct ServiceOptions {
  ServiceOptions(std::string name, std::string usage)
      : name(std::move(name)), usage(std::move(usage)) {}

  // The service's short name, e.g. "contacts": the default of --pg_schema, the component of
  // its own migrations, its consumer group on the permissions topic, the default group of
  // AddConsumer, and the start-up line "<name> service serving". Required.
  std::string name;
  // What --help says the program is.
  std::string usage;
  // The service's own migrations (component `name`), applied after the shared ones, so they
  // may build on those tables (move rows into idempotency_keys, say); may be null.
  const std::vector<pg::Migration>* migrations = nullptr;
  // Whether callers are authenticated by enforcement::Enforcement: tokens verified with
  // --jwt_public_key_file, scopes fetched from --permissions_addr, the customer shares read
  // model kept in the schema (its migrations applied). False for a service that resolves
  // credentials itself (the permissions service) and gives its authenticator to runner().
  bool enforce_scopes = true;
  // Whether requests carry request ids (common/idempotency): its table is migrated, and keys
  // older than --idempotency_retention are purged every --purge_interval.
  bool request_ids = false;
  // Statements prepared, and settings made, on every pooled PostgreSQL connection.
  std::vector<std::pair<std::string, std::string>> prepared;
  std::vector<std::pair<std::string, std::string>> settings;
  // Largest gRPC request or response message.
  int max_message_bytes = 4 << 20;
  // The topics whose streams the service keeps trimmed to what every consumer group has
  // acknowledged (events::StreamTrimmer, every --events_trim_interval): those it publishes,
  // e.g. {events::kCustomersTopic, events::kAuditTopic}. Empty: none.
  std::vector<std::string> trimmed_topics;
  // Whether the service keeps a read model of contacts' customers (customers::ReadModel, fed
  // by ReadCustomers): its table and bootstrap passes are migrated after the service's own.
  bool customer_read_model = false;
};

// The checked values of the host's flags.
struct HostConfig {
  std::string dsn;     // --pg_dsn
  std::string schema;  // --pg_schema
  bool migrate_only = false;
  // --redis_addr; unset with --migrate_only, which needs no Redis.
  std::optional<redis::RedisOptions> redis;
};

// The migration components a service with `options` applies, in order, as (component,
// migrations): the outbox, the inbox, the shares read model (with enforce_scopes), the
// page-token key, the idempotency keys (with request_ids), then the service's own (component
// options.name, when options.migrations is set), then the customer read model (with
// customer_read_model). ServiceHost::Setup applies them; the
// in-process test fixture (tests/testing/in_process_service.h) applies the same.
std::vector<std::pair<std::string, const std::vector<pg::Migration>*>> StandardMigrations(
    const ServiceOptions& options);

// Reads and checks --pg_dsn (required), --pg_schema (not empty), --migrate_only and, unless
// migrating only, --redis_addr. INVALID_ARGUMENT with the line config::Fatal prints, e.g.
// "--pg_dsn (or TOUCHLINE_PG_DSN) is required". The common flags themselves are checked by
// config::ValidateCommonFlags.
absl::StatusOr<HostConfig> HostConfigFromFlags();

// Not copyable. See the top of this file. Beside what the service adds, the host runs its own
// upkeep as periodic tasks: the inbox purge (--inbox_retention, every --purge_interval), with
// request_ids the idempotency-key purge, and with trimmed_topics the stream trimming. The relay
// and the audit publisher cap streams at --events_stream_max_len, and consumers their dead
// letters at --events_dead_letter_max_len.
class ServiceHost {
 public:
  // The whole start of main: blocks SIGTERM and SIGINT (before any thread exists, so that
  // Serve receives them), makes options.name the default of --pg_schema, parses the flags
  // (config::ParseFlags, with options.usage), checks and applies the common ones
  // (config::ApplyCommonFlags), then as the constructor below.
  ServiceHost(int argc, char** argv, ServiceOptions options);
  // With the flags parsed already: checks them (HostConfigFromFlags) and, with
  // enforce_scopes and without --migrate_only, reads the enforcement configuration
  // (--jwt_public_key_file, --permissions_addr). config::Fatal (one line, exit 2) on a bad
  // value. Starts nothing.
  explicit ServiceHost(ServiceOptions options);
  ServiceHost(const ServiceHost&) = delete;
  ServiceHost& operator=(const ServiceHost&) = delete;
  // Shutdown().
  ~ServiceHost();

  // Applies the StandardMigrations, each component under the schema's advisory lock. Returns
  // false after that with
  // --migrate_only: main returns 0. Otherwise connects to PostgreSQL and sets up the Redis pool
  // and the outbox relay (started by Start), and returns true. config::Fatal when a migration
  // fails or PostgreSQL cannot be reached.
  bool Setup();

  // After Setup returned true.
  const HostConfig& config() const { return config_; }
  const std::string& stream_prefix() const { return stream_prefix_; }
  pg::Pool* pool() const { return pool_.get(); }
  redis::Pool* redis() const { return redis_.get(); }
  // Wakes the outbox relay: a store's "events written" callback. Thread-safe.
  std::function<void()> RelayWaker();
  // The schema's page-token key, loaded on first use (config::Fatal when it cannot be).
  const paging::PageTokens& page_tokens();
  // The publisher of sensitive reads, made on first use and started by Start.
  audit::AuditPublisher* audit();

  // With enforce_scopes, before the first runner() or authenticator(): called in the
  // transaction that changed a customer's shares (enforcement::EnforcementOptions).
  void OnSharesChanged(enforcement::SharesChangedFn shares_changed);
  // With enforce_scopes: the enforcement's authenticator, made (not started) on first use.
  auth::ScopeAuthenticator* authenticator();
  // A runner of the calls of `service_name` (e.g. "touchline.contacts.v1.ContactsService")
  // on the host's executor (--worker_threads, --max_queued_calls) with --access_log,
  // authenticating with `authenticator` (not owned; must outlive the host) or, when null,
  // with authenticator(). Owned by the host.
  server::UnaryRunner* runner(std::string service_name,
                              const auth::Authenticator* authenticator = nullptr);

  // Consumes `topic` in the service's consumer group (as this process's consumer) with an
  // inbox in the schema (--inbox_retention, --events_dead_letter_max_len); `apply` runs in the
  // inbox transaction. Started by Start.
  void AddConsumer(std::string topic, events::ApplyFn apply);
  // As above with `options` (topic required; batch size, timings...): the host sets
  // stream_prefix, inbox_retention and dead_letter_max_len from the flags, and the group (the
  // service's name) and consumer when they are empty.
  void AddConsumer(events::ConsumerOptions options, events::ApplyFn apply);
  void AddConsumer(events::ConsumerOptions options, events::BatchApplyFn apply);
  // With customer_read_model: keeps `model` (not owned; must outlive the host) from the
  // "customers" topic (AddConsumer) and, when `contacts_addr` is set, builds it from contacts'
  // CustomerFeedService (customers::Bootstrapper, signed as the service with
  // --edge_secret_file, which is then required: config::Fatal without it). Without
  // `contacts_addr` the model holds only what the stream still had: logged as a warning.
  void ReadCustomers(const customers::ReadModel* model, const std::string& contacts_addr);
  // Some other part that runs beside the calls: `start` is called by Start after the parts
  // added before it, `stop` at shutdown before them.
  void AddBackground(std::function<void()> start, std::function<void()> stop);
  // As above for an object with Start() and Stop() (not owned; must outlive the host).
  template <typename Part>
  void AddBackground(Part* part) {
    AddBackground([part] { part->Start(); }, [part] { part->Stop(); });
  }
  // Upkeep on the host's one background thread (PeriodicRunner::Add): runs at Start, then
  // every `interval` (once with absl::InfiniteDuration()); failures are logged.
  void AddPeriodic(std::string name, absl::Duration interval, PeriodicRunner::Task task);
  // Whether shutdown has begun: long periodic tasks poll it to end early.
  bool stopping() const { return periodic_.stopping(); }

  // Starts, in order: the outbox relay, the audit publisher (if made), the enforcement (if
  // made), the consumers and other parts in the order added, the periodic tasks; then the
  // gRPC server with `services` (not owned; they must outlive the host) on
  // --listen_address, --metrics_address, --drain_timeout, and logs "<name> service serving"
  // with its ports. config::Fatal when the server cannot start.
  void Start(const std::vector<std::pair<std::string, grpc::Service*>>& services);
  // After Start.
  int port() const { return server_->port(); }
  int metrics_port() const { return server_->metrics_port(); }
  // Stops calls first (the server drains, then the executor finishes what it holds), then
  // the parts Start started in reverse order: what runs beside the calls and writes (periodic
  // tasks, consumers, enforcement), then what they and the calls feed (the audit publisher
  // flushes the last reads, the relay publishes the last events). Idempotent.
  void Shutdown();

  // Start, then waits for SIGTERM or SIGINT, logs "shutting down" and shuts down. Returns 0,
  // main's exit code.
  int Serve(const std::vector<std::pair<std::string, grpc::Service*>>& services);

 private:
  struct Part {
    std::function<void()> start;
    std::function<void()> stop;
  };

  events::ConsumerOptions Completed(events::ConsumerOptions options) const;
  enforcement::Enforcement& EnforcementOrDie();

  const ServiceOptions options_;
  const HostConfig config_;
  const std::string stream_prefix_;
  std::optional<enforcement::EnforcementConfig> enforcement_config_;

  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<events::OutboxRelay> relay_;
  std::unique_ptr<events::StreamTrimmer> trimmer_;
  std::unique_ptr<audit::AuditPublisher> audit_;
  std::unique_ptr<enforcement::Enforcement> enforcement_;
  std::optional<paging::PageTokens> page_tokens_;
  std::deque<std::unique_ptr<events::StreamConsumer>> consumers_;
  std::unique_ptr<customers::CustomerFeed> customer_feed_;
  std::unique_ptr<customers::Bootstrapper> bootstrapper_;
  std::vector<Part> parts_;
  PeriodicRunner periodic_;
  std::unique_ptr<server::Executor> executor_;
  std::deque<std::unique_ptr<server::UnaryRunner>> runners_;
  std::unique_ptr<server::Server> server_;
  // What Start started, in order; Shutdown stops them from the back.
  std::vector<Part> started_;
  bool shut_down_ = false;
};

}  // namespace touchline::service_host

#endif  // TOUCHLINE_COMMON_SERVICE_HOST_SERVICE_HOST_H_
