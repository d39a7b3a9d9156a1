// The contacts service: the host's standard parts, the store, its consumer, manager, adapters.
#include <functional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"
#include "common/enforcement/enforcement.h"
#include "common/events/topics.h"
#include "common/service_host/service_host.h"
#include "services/contacts/contacts_service.h"
#include "services/contacts/customer_feed_service.h"
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

int Main(int argc, char** argv) {
  constexpr char kServiceName[] = "touchline.contacts.v1.ContactsService";
  constexpr char kFeedName[] = "touchline.contacts.v1.CustomerFeedService";  // Services only.
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
  const TouchpointStatusSync status_sync(&store, &absl::Now);  // Lifecycle status from touchpoints.
  host.AddConsumer(events::kTouchpointsTopic,
                   std::bind_front(&TouchpointStatusSync::Apply, &status_sync));
  CustomerManager manager(
      &store, host.audit(), CustomerValidator(validation), host.page_tokens(),
      [] { return absl::Now(); },
      {.read_threads = absl::GetFlag(FLAGS_read_batch_threads),
       .write_threads = absl::GetFlag(FLAGS_write_batch_threads),
       .max_queue = static_cast<size_t>(absl::GetFlag(FLAGS_max_queued_calls))});
  ContactsService service(&manager, host.runner(kServiceName));
  const auth::ServiceAuthenticator service_authenticator(enforcement::ServiceSignerFromFlags());
  CustomerFeedService feed(&manager, host.runner(kFeedName, &service_authenticator));
  return host.Serve({{kServiceName, &service}, {kFeedName, &feed}});
}

}  // namespace touchline::contacts

int main(int argc, char** argv) { return touchline::contacts::Main(argc, argv); }
