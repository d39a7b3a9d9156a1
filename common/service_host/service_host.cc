#include "common/service_host/service_host.h"

#include <cstdlib>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/channel/balanced_channel.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/idempotency/idempotency.h"
#include "common/log/log.h"

ABSL_FLAG(std::string, pg_schema, "",
          "PostgreSQL schema that holds the service's tables (default: the service's name)");
ABSL_FLAG(bool, migrate_only, false, "Apply the schema migrations and exit");

namespace touchline::service_host {
namespace {

using config::OkOrDie;
using config::OrDie;

// A wiring mistake in a main (not configuration): says which and stops.
[[noreturn]] void MisWired(std::string_view what) {
  log::Error("service host misused", {{"error", what}});
  std::abort();
}

ServiceOptions ParseFlagsFor(int argc, char** argv, ServiceOptions options) {
  server::BlockTerminationSignals();
  // Before parsing, so the environment and the command line still override it.
  absl::SetFlag(&FLAGS_pg_schema, options.name);
  config::ParseFlags(argc, argv, options.usage);
  config::ApplyCommonFlags();
  return options;
}

HostConfig CheckedConfig() {
  absl::StatusOr<HostConfig> config = HostConfigFromFlags();
  if (!config.ok()) {
    const absl::string_view message = config.status().message();
    config::Fatal(std::string_view(message.data(), message.size()));
  }
  return *std::move(config);
}

}  // namespace

std::vector<std::pair<std::string, const std::vector<pg::Migration>*>> StandardMigrations(
    const ServiceOptions& options) {
  std::vector<std::pair<std::string, const std::vector<pg::Migration>*>> components = {
      {"outbox", &events::OutboxMigrations()}, {"inbox", &events::InboxMigrations()}};
  if (options.enforce_scopes) components.emplace_back("shares", &enforcement::SharesMigrations());
  components.emplace_back("page_tokens", &paging::PageTokenMigrations());
  if (options.request_ids) {
    components.emplace_back("idempotency", &idempotency::IdempotencyMigrations());
  }
  if (options.migrations != nullptr) components.emplace_back(options.name, options.migrations);
  if (options.customer_read_model) {
    components.emplace_back("customer_read_model", &customers::ReadModelMigrations());
  }
  return components;
}

absl::StatusOr<HostConfig> HostConfigFromFlags() {
  HostConfig config;
  config.dsn = absl::GetFlag(FLAGS_pg_dsn);
  config.schema = absl::GetFlag(FLAGS_pg_schema);
  config.migrate_only = absl::GetFlag(FLAGS_migrate_only);
  if (config.dsn.empty()) {
    return absl::InvalidArgumentError("--pg_dsn (or TOUCHLINE_PG_DSN) is required");
  }
  if (config.schema.empty()) return absl::InvalidArgumentError("--pg_schema must not be empty");
  if (!config.migrate_only) {
    absl::StatusOr<redis::RedisOptions> redis =
        redis::ParseRedisAddress(absl::GetFlag(FLAGS_redis_addr));
    if (!redis.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--redis_addr: ", redis.status().ToString()));
    }
    config.redis = *std::move(redis);
    config.redis->pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  }
  return config;
}

ServiceHost::ServiceHost(int argc, char** argv, ServiceOptions options)
    : ServiceHost(ParseFlagsFor(argc, argv, std::move(options))) {}

ServiceHost::ServiceHost(ServiceOptions options)
    : options_(std::move(options)),
      config_(CheckedConfig()),
      stream_prefix_(absl::GetFlag(FLAGS_events_stream_prefix)) {
  // Migrating alone needs neither the token key nor the permissions service.
  if (options_.enforce_scopes && !config_.migrate_only) {
    enforcement_config_ = enforcement::EnforcementConfigFromFlags(options_.name);
  }
}

ServiceHost::~ServiceHost() { Shutdown(); }

bool ServiceHost::Setup() {
  for (const auto& [component, migrations] : StandardMigrations(options_)) {
    OkOrDie(pg::ApplyMigrations(config_.dsn, config_.schema, component, *migrations),
            absl::StrCat("migrating ", component));
  }
  if (config_.migrate_only) return false;

  pg::PoolOptions pool_options;
  pool_options.dsn = config_.dsn;
  pool_options.search_path = config_.schema;
  pool_options.size = absl::GetFlag(FLAGS_pg_pool_size);
  pool_options.prepared = options_.prepared;
  pool_options.settings = options_.settings;
  pool_ = OrDie(pg::Pool::Create(std::move(pool_options)), "connecting to PostgreSQL");
  // Does not connect: a service starts while Redis is down.
  redis_ = OrDie(redis::Pool::Create(*config_.redis), "setting up Redis");
  events::RelayOptions relay_options;
  relay_options.dsn = config_.dsn;
  relay_options.schema = config_.schema;
  relay_options.stream_prefix = stream_prefix_;
  relay_options.stream_max_len = absl::GetFlag(FLAGS_events_stream_max_len);
  relay_ = std::make_unique<events::OutboxRelay>(relay_options, redis_.get());

  // The host's own upkeep, first on the background thread.
  periodic_.Add("inbox purge", absl::GetFlag(FLAGS_purge_interval), [pool = pool_.get()] {
    return events::PurgeAppliedEvents(*pool, absl::GetFlag(FLAGS_inbox_retention)).status();
  });
  if (options_.request_ids) {
    periodic_.Add("idempotency purge", absl::GetFlag(FLAGS_purge_interval), [pool = pool_.get()] {
      return idempotency::PurgeExpiredKeys(*pool, absl::GetFlag(FLAGS_idempotency_retention))
          .status();
    });
  }
  if (!options_.trimmed_topics.empty()) {
    events::TrimmerOptions trimmer_options;
    trimmer_options.stream_prefix = stream_prefix_;
    trimmer_options.topics = options_.trimmed_topics;
    trimmer_options.stream_max_len = absl::GetFlag(FLAGS_events_stream_max_len);
    trimmer_ = std::make_unique<events::StreamTrimmer>(trimmer_options, redis_.get());
    periodic_.Add("stream trimming", absl::GetFlag(FLAGS_events_trim_interval),
                  [trimmer = trimmer_.get()] { return trimmer->TrimOnce().status(); });
  }
  return true;
}

std::function<void()> ServiceHost::RelayWaker() {
  if (relay_ == nullptr) MisWired("RelayWaker before Setup");
  return [relay = relay_.get()] { relay->Wake(); };
}

const paging::PageTokens& ServiceHost::page_tokens() {
  if (pool_ == nullptr) MisWired("page_tokens before Setup");
  if (!page_tokens_) {
    page_tokens_ = OrDie(paging::PageTokens::Load(*pool_), "loading the page-token key");
  }
  return *page_tokens_;
}

audit::AuditPublisher* ServiceHost::audit() {
  if (redis_ == nullptr) MisWired("audit before Setup");
  if (audit_ == nullptr) {
    audit::AuditPublisherOptions audit_options;
    audit_options.stream_prefix = stream_prefix_;
    audit_options.stream_max_len = absl::GetFlag(FLAGS_events_stream_max_len);
    audit_ = OrDie(audit::AuditPublisher::Create(audit_options, redis_.get()),
                   "setting up the audit log");
  }
  return audit_.get();
}

void ServiceHost::OnSharesChanged(enforcement::SharesChangedFn shares_changed) {
  if (!enforcement_config_ || enforcement_ != nullptr) {
    MisWired("OnSharesChanged without enforce_scopes, or after the enforcement was made");
  }
  enforcement_config_->options.shares_changed = std::move(shares_changed);
}

enforcement::Enforcement& ServiceHost::EnforcementOrDie() {
  if (!enforcement_config_ || pool_ == nullptr) {
    MisWired("enforcement without enforce_scopes, or before Setup");
  }
  if (enforcement_ == nullptr) {
    enforcement_ = std::make_unique<enforcement::Enforcement>(std::move(*enforcement_config_),
                                                              redis_.get(), pool_.get());
  }
  return *enforcement_;
}

auth::ScopeAuthenticator* ServiceHost::authenticator() {
  return EnforcementOrDie().authenticator();
}

server::UnaryRunner* ServiceHost::runner(std::string service_name,
                                         const auth::Authenticator* authenticator) {
  if (authenticator == nullptr) authenticator = this->authenticator();
  if (executor_ == nullptr) {
    executor_ = std::make_unique<server::Executor>(absl::GetFlag(FLAGS_worker_threads),
                                                   absl::GetFlag(FLAGS_max_queued_calls));
  }
  runners_.push_back(std::make_unique<server::UnaryRunner>(
      std::move(service_name), executor_.get(), authenticator, absl::GetFlag(FLAGS_access_log)));
  return runners_.back().get();
}

events::ConsumerOptions ServiceHost::Completed(events::ConsumerOptions options) const {
  if (redis_ == nullptr) MisWired("AddConsumer before Setup");
  options.stream_prefix = stream_prefix_;
  options.inbox_retention = absl::GetFlag(FLAGS_inbox_retention);
  options.dead_letter_max_len = absl::GetFlag(FLAGS_events_dead_letter_max_len);
  if (options.group.empty()) options.group = options_.name;
  if (options.consumer.empty()) options.consumer = events::ProcessConsumerName();
  return options;
}

void ServiceHost::AddConsumer(std::string topic, events::ApplyFn apply) {
  events::ConsumerOptions options;
  options.topic = std::move(topic);
  AddConsumer(std::move(options), std::move(apply));
}

void ServiceHost::AddConsumer(events::ConsumerOptions options, events::ApplyFn apply) {
  consumers_.push_back(std::make_unique<events::StreamConsumer>(
      Completed(std::move(options)), redis_.get(), pool_.get(), std::move(apply)));
  AddBackground(consumers_.back().get());
}

void ServiceHost::AddConsumer(events::ConsumerOptions options, events::BatchApplyFn apply) {
  consumers_.push_back(std::make_unique<events::StreamConsumer>(
      Completed(std::move(options)), redis_.get(), pool_.get(), std::move(apply)));
  AddBackground(consumers_.back().get());
}

void ServiceHost::ReadCustomers(const customers::ReadModel* model,
                                const std::string& contacts_addr) {
  if (!options_.customer_read_model || bootstrapper_ != nullptr || customer_feed_ != nullptr) {
    MisWired("ReadCustomers without customer_read_model, or twice");
  }
  AddConsumer(events::kCustomersTopic,
              [model](pqxx::work& txn, const events::v1::EventEnvelope& event) {
                return model->ApplyEvent(txn, event);
              });
  events::StreamConsumer* consumer = consumers_.back().get();
  if (contacts_addr.empty()) {
    log::Warning(
        "no --contacts_addr: the customer read model is not built from contacts, and holds only "
        "what the customers stream still had");
    return;
  }
  std::optional<auth::ServiceSigner> signer = enforcement::ServiceSignerFromFlags();
  if (!signer.has_value()) {
    config::Fatal("--edge_secret_file is required to build the customer read model from contacts");
  }
  customer_feed_ = customers::MakeGrpcCustomerFeed(channel::BalancedChannel(contacts_addr),
                                                   *std::move(signer), options_.name);
  bootstrapper_ = std::make_unique<customers::Bootstrapper>(
      pool_.get(), customer_feed_.get(), model,
      customers::CustomersStream{.ensure_group = [consumer] { return consumer->EnsureGroup(); },
                                 .lost_entry_id = [consumer] { return consumer->LostEntryId(); }});
  AddBackground(bootstrapper_.get());
}

void ServiceHost::AddBackground(std::function<void()> start, std::function<void()> stop) {
  parts_.push_back(Part{.start = std::move(start), .stop = std::move(stop)});
}

void ServiceHost::AddPeriodic(std::string name, absl::Duration interval,
                              PeriodicRunner::Task task) {
  periodic_.Add(std::move(name), interval, std::move(task));
}

void ServiceHost::Start(const std::vector<std::pair<std::string, grpc::Service*>>& services) {
  if (relay_ == nullptr || server_ != nullptr) MisWired("Start before Setup, or twice");
  std::vector<Part> order;
  order.push_back({[this] { relay_->Start(); }, [this] { relay_->Stop(); }});
  if (audit_ != nullptr) order.push_back({[this] { audit_->Start(); }, [this] { audit_->Stop(); }});
  if (enforcement_ != nullptr) {
    order.push_back({[this] { enforcement_->Start(); }, [this] { enforcement_->Stop(); }});
  }
  order.insert(order.end(), parts_.begin(), parts_.end());
  order.push_back({[this] { periodic_.Start(); }, [this] { periodic_.Stop(); }});
  for (Part& part : order) {
    part.start();
    started_.push_back(std::move(part));
  }

  server::ServerOptions server_options;
  server_options.listen_address = absl::GetFlag(FLAGS_listen_address);
  server_options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  server_options.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  server_options.max_message_bytes = options_.max_message_bytes;
  server_ = OrDie(server::Server::Start(server_options, services), "starting the gRPC server");
  log::Info(absl::StrCat(options_.name, " service serving"),
            {{"grpc_port", std::to_string(server_->port())},
             {"metrics_port", std::to_string(server_->metrics_port())}});
}

void ServiceHost::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_ != nullptr) server_->Shutdown();
  if (executor_ != nullptr) executor_->Shutdown();
  while (!started_.empty()) {
    started_.back().stop();
    started_.pop_back();
  }
}

int ServiceHost::Serve(const std::vector<std::pair<std::string, grpc::Service*>>& services) {
  Start(services);
  const int signal = server::WaitForTerminationSignal();
  log::Info("shutting down", {{"signal", std::to_string(signal)}});
  Shutdown();
  return 0;
}

}  // namespace touchline::service_host
