// The engine's place on the service host (main.cc): the engine with what its actions need (the
// webhook sender, the delegation to permissions and contacts, the action runner), its
// consumers, its periodic upkeep and its workers.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ENGINE_HOST_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ENGINE_HOST_H_

#include "absl/time/time.h"
#include "common/events/consumer.h"
#include "common/ratelimit/rate_limiter.h"
#include "common/service_host/service_host.h"
#include "services/automation/engine/actions.h"
#include "services/automation/engine/delegation.h"
#include "services/automation/engine/engine.h"
#include "services/automation/webhooks/sender.h"

namespace touchline::automation {

struct EngineHostOptions {
  EngineOptions engine;
  WebhookSenderOptions sender;
  // Inactivity deadlines passed (Engine::FireInactivity).
  absl::Duration inactivity_interval = absl::Seconds(1);
  // Cron times passed (Engine::FireSchedules); cron has minutes, so under one.
  absl::Duration schedule_interval = absl::Seconds(10);
  // Finished jobs are kept this long (their keys stay taken until then, so this must outlast
  // the streams' redelivery: the inbox retention at least), purged every purge_interval.
  absl::Duration jobs_retention = absl::Hours(24 * 7);
  absl::Duration purge_interval = absl::Minutes(10);
};

// The options the flags give: --engine_workers, --max_rule_depth, --engine_job_lease,
// --webhook_allow_private_addresses (defined with the engine, for the service's main).
// config::Fatal (exit 2, one line) for a value out of range.
EngineHostOptions EngineHostOptionsFromFlags();

// The engine on `host` (after Setup): the customer read model (ReadCustomers from
// `contacts_addr`), whose changes start customer_changed rules; the "touchpoints" consumer
// (`follow_ups`, then the engine, in one transaction); the "journeys" consumer; the timers and
// the purge as periodic tasks; the workers as a background part. Must outlive the host's
// serving (Serve); so must the stores.
class HostedEngine {
 public:
  HostedEngine(service_host::ServiceHost& host, const std::string& contacts_addr, RuleStore* rules,
               TaskStore* tasks, EndpointStore* endpoints, events::BatchApplyFn follow_ups,
               EngineHostOptions options);
  HostedEngine(const HostedEngine&) = delete;
  HostedEngine& operator=(const HostedEngine&) = delete;

  Engine& engine() { return engine_; }

 private:
  const WebhookSender sender_;
  GrpcDelegation delegation_;
  // The webhook endpoints' rate limits, shared by every replica through Redis.
  ratelimit::RateLimiter limiter_;
  ActionRunner actions_;
  Engine engine_;
  const customers::ReadModel customer_model_;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ENGINE_HOST_H_
