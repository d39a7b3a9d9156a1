// A service's read model of contacts' customers: what decides who sees a customer (owner,
// region, level, state), its merge, its contact persons' ids, its lifecycle status and tags,
// one row per customer in the service's schema. Fed by the "customers" topic and built from scratch
// by a pass over contacts' CustomerFeedService (bootstrap.h); both go through ReadModel::Apply,
// which keeps a row only when its version is newer than the one held, so events and pages may come
// in any order, twice, or both for the same change.
#ifndef TOUCHLINE_COMMON_CUSTOMERS_READ_MODEL_H_
#define TOUCHLINE_COMMON_CUSTOMERS_READ_MODEL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <pqxx/transaction_base>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/pg/migrator.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/contacts/v1/customer_feed.pb.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::customers {

// The component "customer_read_model": the customers table and the bootstrap passes. Applied
// after the service's own migrations (service_host::ServiceOptions::customer_read_model).
const std::vector<pg::Migration>& ReadModelMigrations();

// One customer of the read model.
struct CustomerRow {
  std::string tenant_id;
  std::string customer_id;  // a lower-case UUID
  contacts::v1::CustomerState state = contacts::v1::CUSTOMER_STATE_UNSPECIFIED;
  std::string merged_into;  // the survivor while merged, else ""
  std::string merge_id;     // the merge while merged (when known), else ""
  std::vector<std::string> person_ids;
  std::string owner_id;
  std::string region;
  int level = 0;  // contacts::v1::CustomerLevel
  int64_t version = 0;
  // While merged: (person_id, into_person_id) of its persons folded into the survivor's.
  std::vector<std::pair<std::string, std::string>> folded_persons;
  contacts::v1::LifecycleStatus lifecycle_status = contacts::v1::LIFECYCLE_STATUS_UNSPECIFIED;
  std::vector<std::string> tags;

  // Whether `other` differs in what decides who sees the customer: owner, region, level,
  // state or merge.
  bool VisibilityDiffers(const CustomerRow& other) const;
  bool operator==(const CustomerRow&) const = default;
};

// `customer` of `tenant` as its owner reports it (an event's or ContactsService.GetCustomer's),
// at its version (etag) plus `version_offset`. INVALID_ARGUMENT when its id is not a UUID or its
// etag not a version number.
absl::StatusOr<CustomerRow> RowOf(const std::string& tenant, const contacts::v1::Customer& customer,
                                  int64_t version_offset = 0);
// A page entry of CustomerFeedService. INVALID_ARGUMENT when an id is not a UUID.
absl::StatusOr<CustomerRow> RowOf(const contacts::v1::CustomerSnapshot& snapshot);

// The customer `customer_id` (a UUID) of `tenant`; nullopt when the model has none.
std::optional<CustomerRow> FindCustomer(pqxx::transaction_base& txn, const std::string& tenant,
                                        const std::string& customer_id);

// What a service does when a row of its model changed, in the transaction that changed it:
// `before` is the row replaced (nullptr when there was none), `after` the row now held,
// `cause` the event that brought it (nullptr for a bootstrap page or a customer learnt from
// the owner). A non-OK status (or a throw) fails the transaction.
using ChangedFn =
    std::function<absl::Status(pqxx::work& txn, const CustomerRow* before, const CustomerRow& after,
                               const events::v1::EventEnvelope* cause)>;

// Thread-safe (immutable).
class ReadModel {
 public:
  explicit ReadModel(ChangedFn changed = nullptr) : changed_(std::move(changed)) {}

  // Keeps `row` unless the model holds its version or a newer one, then calls the ChangedFn.
  // Returns whether it kept it.
  absl::StatusOr<bool> Apply(pqxx::work& txn, const CustomerRow& row,
                             const events::v1::EventEnvelope* cause = nullptr) const;

  // An events::ApplyFn for the "customers" topic: the customers CustomerCreated,
  // CustomerUpdated, CustomerDeleted and CustomerUndeleted carry, and CustomersMerged's and
  // CustomersUnmerged's survivor, then the other customer (with the merge and its folded
  // persons while merged); other events are ignored. INVALID_ARGUMENT for a customer RowOf
  // refuses or a payload that does not parse (the consumer dead-letters the event).
  absl::Status ApplyEvent(pqxx::work& txn, const events::v1::EventEnvelope& event) const;

  // Read-your-writes across services: adds `customer` as its owner reported it to a caller
  // (a customer whose event is on the way), one version below the one reported, so that the
  // event of that very version still applies (and its ChangedFn runs with its cause).
  absl::Status Learn(pqxx::work& txn, const std::string& tenant,
                     const contacts::v1::Customer& customer) const;

 private:
  ChangedFn changed_;
};

}  // namespace touchline::customers

#endif  // TOUCHLINE_COMMON_CUSTOMERS_READ_MODEL_H_
