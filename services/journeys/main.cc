// The journeys service on the shared host: read model, stream mapping, managers and adapter.
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "common/config/flags.h"
#include "common/events/topics.h"
#include "common/service_host/service_host.h"
#include "services/journeys/definitions/pg_definition_store.h"
#include "services/journeys/journeys_service.h"
#include "services/journeys/migrations.h"
#include "services/journeys/state/journey_mapper.h"
#include "services/journeys/state/pg_state_store.h"

ABSL_FLAG(std::string, contacts_addr, "",
          "Required: where contacts runs (dns:///contacts:8080); its feed builds the read model");
ABSL_FLAG(int, entry_pass_batch, 500,
          "Customers judged per transaction when a published journey enters existing customers");

namespace touchline::journeys {
namespace {

constexpr char kServiceName[] = "touchline.journeys.v1.JourneysService";
int Main(int argc, char** argv) {
  service_host::ServiceOptions options(
      "journeys", "Touchline journeys service: journey maps and where each customer stands");
  options.migrations = &pg::journeys_migrations();
  options.request_ids = true;
  options.customer_read_model = true;
  options.prepared = MapperStatements();
  options.trimmed_topics = {events::kJourneysTopic, events::kAuditTopic};
  service_host::ServiceHost host(argc, argv, options);
  const std::string contacts = absl::GetFlag(FLAGS_contacts_addr);
  const int batch = absl::GetFlag(FLAGS_entry_pass_batch);
  if (contacts.empty() && !host.config().migrate_only) config::Fatal("--contacts_addr is required");
  if (batch < 1) config::Fatal("--entry_pass_batch must be at least 1");
  if (!host.Setup()) return 0;  // --migrate_only
  host.ReadCustomers(&CustomerReadModel(), contacts);
  host.AddConsumer(
      {.topic = events::kTouchpointsTopic, .group = {}, .consumer = {}, .batch_size = 128},
      &ApplyTouchpointEvents);
  host.AddPeriodic("entering customers into published journeys", absl::Seconds(2), [&] {
    return RunEntryPasses(*host.pool(), batch, host.RelayWaker(),
                          [&host] { return host.stopping(); });
  });
  PgDefinitionStore definition_store(host.pool(), host.RelayWaker());
  DefinitionManager definitions(&definition_store, host.page_tokens(), [] { return absl::Now(); });
  PgJourneyStateStore state_store(host.pool(), host.RelayWaker());
  JourneyStateManager state(&state_store, &host.page_tokens(), [] { return absl::Now(); });
  analytics::PgStageStatsStore stats_store(host.pool());
  AnalyticsManager analytics(&stats_store, [] { return absl::Now(); });
  JourneysService service({&definitions, &state, &analytics, host.runner(kServiceName)});
  return host.Serve({{kServiceName, &service}});
}

}  // namespace
}  // namespace touchline::journeys

int main(int argc, char** argv) { return touchline::journeys::Main(argc, argv); }
