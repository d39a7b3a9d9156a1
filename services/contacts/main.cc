// The contacts service: the host's standard parts, the store, its consumer, manager and adapter.
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"
#include "common/events/topics.h"
#include "common/service_host/service_host.h"
#include "services/contacts/contacts_service.h"
#include "services/contacts/customer_manager.h"
#include "services/contacts/migrations.h"
#include "services/contacts/pg_customer_store.h"
#include "services/contacts/touchpoint_status.h"

ABSL_FLAG(std::string, default_phone_region, "CN",
          "ISO 3166-1 region assumed for phone numbers written without a country code");
ABSL_FLAG(int, read_batch_threads, 2,
          "Threads that serve GetCustomer in batches (one query per batch)");
ABSL_FLAG(int, write_batch_threads, 2,
          "Threads that commit CreateCustomer in batches (one transaction per batch)");

namespace touchline::contacts {
namespace {

constexpr char kServiceName[] = "touchline.contacts.v1.ContactsService";

int Main(int argc, char** argv) {
  service_host::ServiceOptions options(
      "contacts", "Touchline contacts service: customer master data over gRPC");
  options.migrations = &pg::contacts_migrations();
  options.prepared = PgCustomerStore::PreparedStatements();
  options.request_ids = true;
  options.trimmed_topics = {events::kCustomersTopic, events::kAuditTopic};
  service_host::ServiceHost host(argc, argv, options);
  const ValidationOptions validation{.default_region = absl::GetFlag(FLAGS_default_phone_region)};
  config::OkOrDie(CheckValidationOptions(validation), "--default_phone_region");
  if (!host.Setup()) return 0;  // --migrate_only
  PgCustomerStore store(host.pool(), host.RelayWaker());
  // Lifecycle status from the touchpoints recorded with each customer.
  const TouchpointStatusSync status_sync(&store, [] { return absl::Now(); });
  host.AddConsumer(events::kTouchpointsTopic,
                   [&status_sync](pqxx::work& txn, const events::v1::EventEnvelope& event) {
                     return status_sync.Apply(txn, event);
                   });
  CustomerManager manager(
      &store, host.audit(), CustomerValidator(validation), host.page_tokens(),
      [] { return absl::Now(); },
      {.read_threads = absl::GetFlag(FLAGS_read_batch_threads),
       .write_threads = absl::GetFlag(FLAGS_write_batch_threads),
       .max_queue = static_cast<size_t>(absl::GetFlag(FLAGS_max_queued_calls))});
  ContactsService service(&manager, host.runner(kServiceName));
  return host.Serve({{kServiceName, &service}});
}

}  // namespace
}  // namespace touchline::contacts

int main(int argc, char** argv) { return touchline::contacts::Main(argc, argv); }
