// The engine's place on the service host (main.cc): its consumers, its periodic upkeep and its
// workers, in one call so that main stays the service's wiring.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ENGINE_HOST_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ENGINE_HOST_H_

#include "absl/time/time.h"
#include "common/events/consumer.h"
#include "common/service_host/service_host.h"
#include "services/automation/engine/engine.h"

namespace touchline::automation {

// How often the engine's timers are looked at.
struct EngineHostOptions {
  // Inactivity deadlines passed (Engine::FireInactivity).
  absl::Duration inactivity_interval = absl::Seconds(1);
  // Cron times passed (Engine::FireSchedules); cron has minutes, so under one.
  absl::Duration schedule_interval = absl::Seconds(10);
  // Finished jobs are kept this long (their keys stay taken until then, so this must outlast
  // the streams' redelivery: the inbox retention at least), purged every purge_interval.
  absl::Duration jobs_retention = absl::Hours(24 * 7);
  absl::Duration purge_interval = absl::Minutes(10);
};

// Adds to `host` (after Setup): the "touchpoints" consumer (`follow_ups`, then the engine, in
// one transaction), the "journeys" consumer, the timers and the purge as periodic tasks, and
// the engine's workers as a background part. The customer read model's changes reach the
// engine through the ReadModel main gives ReadCustomers (Engine::OnCustomerChanged). `engine`
// must outlive the host.
void AddEngineToHost(service_host::ServiceHost& host, Engine& engine,
                     events::BatchApplyFn follow_ups, const EngineHostOptions& options);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENGINE_ENGINE_HOST_H_
