#include "services/automation/engine/engine_host.h"

#include <utility>

#include "common/events/topics.h"
#include "services/automation/jobs/job_queue.h"

namespace touchline::automation {

void AddEngineToHost(service_host::ServiceHost& host, Engine& engine,
                     events::BatchApplyFn follow_ups, const EngineHostOptions& options) {
  host.AddConsumer(
      {.topic = events::kTouchpointsTopic, .group = {}, .consumer = {}, .batch_size = 128},
      [&engine, follow_ups = std::move(follow_ups)](
          pqxx::work& txn, std::span<const events::v1::EventEnvelope* const> events) {
        if (absl::Status status = follow_ups(txn, events); !status.ok()) return status;
        return engine.ApplyTouchpoints(txn, events);
      });
  host.AddConsumer(
      {.topic = events::kJourneysTopic, .group = {}, .consumer = {}, .batch_size = 128},
      [&engine](pqxx::work& txn, std::span<const events::v1::EventEnvelope* const> events) {
        return engine.ApplyJourneys(txn, events);
      });
  host.AddPeriodic("inactivity deadlines", options.inactivity_interval,
                   [&engine] { return engine.FireInactivity().status(); });
  host.AddPeriodic("schedules", options.schedule_interval,
                   [&engine] { return engine.FireSchedules().status(); });
  pg::Pool* pool = host.pool();
  host.AddPeriodic("finished jobs purge", options.purge_interval, [pool, options] {
    return JobQueue::PurgeFinished(*pool, options.jobs_retention, 1000).status();
  });
  host.AddBackground([&engine] { engine.Start(); }, [&engine] { engine.Stop(); });
}

}  // namespace touchline::automation
