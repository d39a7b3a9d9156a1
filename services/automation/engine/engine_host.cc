#include "services/automation/engine/engine_host.h"

#include <utility>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "common/channel/balanced_channel.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"
#include "common/enforcement/enforcement.h"
#include "common/events/topics.h"
#include "services/automation/jobs/job_queue.h"

ABSL_FLAG(bool, webhook_allow_private_addresses, false,
          "Lets webhooks reach loopback, private and link-local addresses (local runs only)");
ABSL_FLAG(int, engine_workers, 16,
          "Threads doing the rule engine's runs and actions. Each waits on its commits and its "
          "webhooks (holding a database connection only inside a transaction), so more threads "
          "than cores keep the cores busy and let commits share a WAL flush");
ABSL_FLAG(int, max_rule_depth, 3, "A run caused by this many rule runs does no action");
ABSL_FLAG(absl::Duration, engine_job_lease, absl::Minutes(1),
          "How long a worker holds the jobs it claimed: a replica that dies gives them back "
          "after this (longer than the longest webhook timeout, 30 s)");

namespace touchline::automation {

EngineHostOptions EngineHostOptionsFromFlags() {
  EngineHostOptions options;
  options.engine.workers = absl::GetFlag(FLAGS_engine_workers);
  options.engine.max_depth = absl::GetFlag(FLAGS_max_rule_depth);
  options.engine.lease = absl::GetFlag(FLAGS_engine_job_lease);
  options.sender.allow_private_addresses = absl::GetFlag(FLAGS_webhook_allow_private_addresses);
  if (options.engine.workers < 1) config::Fatal("--engine_workers must be at least 1");
  if (options.engine.max_depth < 1) config::Fatal("--max_rule_depth must be at least 1");
  if (options.engine.lease < absl::Seconds(1)) {
    config::Fatal("--engine_job_lease must be at least 1s");
  }
  return options;
}

namespace {

// The delegation to permissions (--permissions_addr) and contacts, signed as this service with
// --edge_secret_file; config::Fatal without the secret.
GrpcDelegation DelegationFromFlags(const std::string& contacts_addr) {
  std::optional<auth::ServiceSigner> signer = enforcement::ServiceSignerFromFlags();
  if (!signer.has_value()) {
    config::Fatal("--edge_secret_file is required: rules act for their owners with it");
  }
  return GrpcDelegation(channel::BalancedChannel(absl::GetFlag(FLAGS_permissions_addr)),
                        channel::BalancedChannel(contacts_addr), *std::move(signer));
}

}  // namespace

HostedEngine::HostedEngine(service_host::ServiceHost& host, const std::string& contacts_addr,
                           RuleStore* rules, TaskStore* tasks, EndpointStore* endpoints,
                           events::BatchApplyFn follow_ups, EngineHostOptions options)
    : sender_(options.sender),
      delegation_(DelegationFromFlags(contacts_addr)),
      limiter_(host.redis(), {.key_prefix = host.stream_prefix(), .clock = nullptr}),
      actions_(tasks, endpoints, &sender_, &delegation_, &limiter_),
      engine_({host.pool(), rules, &actions_, &absl::Now}, options.engine),
      customer_model_([this](pqxx::work& txn, const customers::CustomerRow* before,
                             const customers::CustomerRow& after,
                             const events::v1::EventEnvelope* cause) {
        return engine_.OnCustomerChanged(txn, before, after, cause);
      }) {
  host.ReadCustomers(&customer_model_, contacts_addr);
  host.AddConsumer(
      {.topic = events::kTouchpointsTopic, .group = {}, .consumer = {}, .batch_size = 128},
      [this, follow_ups = std::move(follow_ups)](
          pqxx::work& txn, std::span<const events::v1::EventEnvelope* const> events) {
        if (absl::Status status = follow_ups(txn, events); !status.ok()) return status;
        return engine_.ApplyTouchpoints(txn, events);
      });
  host.AddConsumer(
      {.topic = events::kJourneysTopic, .group = {}, .consumer = {}, .batch_size = 128},
      [this](pqxx::work& txn, std::span<const events::v1::EventEnvelope* const> events) {
        return engine_.ApplyJourneys(txn, events);
      });
  host.AddPeriodic("inactivity deadlines", options.inactivity_interval,
                   [this] { return engine_.FireInactivity().status(); });
  host.AddPeriodic("schedules", options.schedule_interval,
                   [this] { return engine_.FireSchedules().status(); });
  pg::Pool* pool = host.pool();
  host.AddPeriodic("finished jobs purge", options.purge_interval,
                   [pool, retention = options.jobs_retention] {
                     return JobQueue::PurgeFinished(*pool, retention, 1000).status();
                   });
  host.AddBackground([this] { engine_.Start(); }, [this] { engine_.Stop(); });
}

}  // namespace touchline::automation
