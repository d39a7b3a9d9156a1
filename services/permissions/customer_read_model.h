// What the permissions service knows of contacts' customers: the customer read model (the
// attributes visibility depends on: owner, region, level, state) plus the shares this service
// owns. ShareCustomer and CheckAccess decide on it.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_CUSTOMER_READ_MODEL_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_CUSTOMER_READ_MODEL_H_

#include <optional>
#include <pqxx/transaction>
#include <pqxx/transaction_base>
#include <string>

#include "absl/status/status.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "common/customers/customer_directory.h"
#include "common/customers/read_model.h"
#include "common/pg/pool.h"
#include "touchline/contacts/v1/customer.pb.h"

namespace touchline::permissions {

// The read model of contacts' customers (customers::ReadModel, in this service's schema): fed
// by the "customers" topic and built from contacts' CustomerFeedService
// (service_host::ServiceHost::ReadCustomers). Nothing here depends on a change of a customer,
// so it has no ChangedFn.
const customers::ReadModel& CustomerReadModel();

// One customer of the read model.
struct KnownCustomer {
  auth::CustomerAttributes attributes;  // with its shares
  contacts::v1::CustomerState state = contacts::v1::CUSTOMER_STATE_UNSPECIFIED;
};

// Read-your-writes across services: when the read model has no customer `customer_id` of
// caller.tenant_id (its event is on the way), asks `directory` on `caller`'s behalf (contacts
// applies the caller's visibility) and adds what it says, one version below the version
// reported, so that the event of that very version still applies; a row of that version or
// newer is never replaced. A customer the directory does not give leaves the read model as it
// was (the caller's request then finds no customer, as before). Errors: the mapped PostgreSQL
// error.
absl::Status LearnUnknownCustomer(pg::Pool& pool, customers::CustomerDirectory& directory,
                                  const auth::RequestContext& caller,
                                  const std::string& customer_id);

// The customer `customer_id` (a lower-case UUID) of `tenant` and its shares; nullopt when the
// read model has no such customer.
std::optional<KnownCustomer> FindCustomer(pqxx::transaction_base& txn, const std::string& tenant,
                                          const std::string& customer_id);

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_CUSTOMER_READ_MODEL_H_
