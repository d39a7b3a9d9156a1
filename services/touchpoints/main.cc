// The touchpoints service: the host's standard parts, the store with its partitions kept
// ahead, the customer read model, the manager and the adapter.
#include <memory>

#include "absl/time/clock.h"
#include "common/channel/balanced_channel.h"
#include "common/config/flags.h"
#include "common/events/topics.h"
#include "common/service_host/service_host.h"
#include "services/touchpoints/customer_events.h"
#include "services/touchpoints/migrations.h"
#include "services/touchpoints/pg_touchpoint_store.h"
#include "services/touchpoints/service_config.h"
#include "services/touchpoints/touchpoint_manager.h"
#include "services/touchpoints/touchpoints_service.h"

namespace touchline::touchpoints {
namespace {

constexpr char kServiceName[] = "touchline.touchpoints.v1.TouchpointsService";

int Main(int argc, char** argv) {
  service_host::ServiceOptions options(
      "touchpoints", "Touchline touchpoints service: the interaction log over gRPC");
  options.migrations = &pg::touchpoints_migrations();
  options.prepared = PgTouchpointStore::PreparedStatements();
  options.settings = PgTouchpointStore::ConnectionSettings();
  options.max_message_bytes = 32 << 20;  // A batch of 1,000 touchpoints with long texts.
  options.request_ids = true;
  options.trimmed_topics = {events::kTouchpointsTopic, events::kAuditTopic};
  options.customer_read_model = true;
  service_host::ServiceHost host(argc, argv, options);
  const ServiceConfig config = ServiceConfigOrDie(host.config().migrate_only);
  if (!host.Setup()) return 0;  // --migrate_only
  PgTouchpointStore store(host.pool(), host.RelayWaker());
  config::OkOrDie(store.EnsurePartitionsAhead(config.months_ahead), "creating partitions");
  // First the search vectors of rows from before needs, concerns and interests were indexed.
  host.AddPeriodic("indexing needs, concerns and interests", absl::InfiniteDuration(), [&] {
    return store.IndexListsOfOlderRows(500, [&host] { return host.stopping(); }).status();
  });
  host.AddPeriodic("creating partitions ahead", absl::Hours(1),
                   [&] { return store.EnsurePartitionsAhead(config.months_ahead); });
  host.ReadCustomers(&CustomerReadModel(), config.contacts_addr);
  host.OnSharesChanged(&SharesChanged);
  // Customers the read model does not know yet, from their owner.
  const std::unique_ptr<CustomerDirectory> directory =
      customers::MakeGrpcCustomerDirectory(channel::BalancedChannel(config.contacts_addr));
  TouchpointManager manager(
      &store, host.audit(), config.validation, host.page_tokens(), [] { return absl::Now(); },
      config.batching, directory.get());
  TouchpointsService service(&manager, host.runner(kServiceName));
  return host.Serve({{kServiceName, &service}});
}

}  // namespace
}  // namespace touchline::touchpoints

int main(int argc, char** argv) { return touchline::touchpoints::Main(argc, argv); }
