// Storage of customers. Every method but ListSnapshots is scoped to one tenant; each is one
// transaction: what it writes (the customer, its dedupe keys, its idempotency record, its event
// and its audit entry) commits together or not at all.
//
// Every method (ListSnapshots aside) touches only the rows the caller's scope allows: reads leave
// out, in SQL, the customers it cannot see (so pages stay full and exact), and writes fail with
// NOT_FOUND for a customer it cannot see (in the same words as for a missing one), with
// PERMISSION_DENIED for one it sees but may not change, and with PERMISSION_DENIED when the write
// would leave a customer the caller could no longer change (customer_access.h). Field policies are
// the caller's business (CustomerManager).
#ifndef TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_STORE_H_
#define TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "services/contacts/customer_merge.h"
#include "services/contacts/model.h"
#include "services/contacts/name_key.h"

namespace touchline::contacts {

// Who asked for a write: its tenant, actor and request id (x-request-id, not the idempotency
// key) go into its event and audit entry; its scope decides which rows it may change and must
// be set.
struct WriteContext {
  auth::RequestContext caller;
  absl::Time now;  // Truncated to microseconds, as PostgreSQL stores it.
};

// Identifies a retried write (AIP-155): the same id with the same fingerprint replays the
// first outcome; with another fingerprint it is refused.
struct IdempotencyKey {
  std::string request_id;
  std::string method;
  std::string fingerprint;  // Hex SHA-256 of the deterministic serialisation of the request.
};

// A customer to insert, with who asked and the request's idempotency key.
struct NewCustomer {
  WriteContext context;
  Customer customer;
  std::optional<IdempotencyKey> key;
};

enum class CustomerOrder { kUpdateTimeDesc, kCreateTimeDesc, kDisplayName };

// Filters of ListCustomers; empty members do not filter.
struct CustomerQuery {
  std::vector<LifecycleStatus> lifecycle_statuses;
  std::vector<CustomerLevel> levels;
  std::string region;
  std::string owner_id;
  std::string tag;
  std::optional<absl::Time> updated_since;
  std::string display_name_prefix;
  bool show_deleted = false;
  CustomerOrder order = CustomerOrder::kUpdateTimeDesc;
  int page_size = 50;
};

// Where the previous page ended: the sort value and id of its last customer.
struct CustomerCursor {
  absl::Time time;           // For the time orders.
  std::string display_name;  // For kDisplayName.
  std::string customer_id;
};

struct CustomerPage {
  std::vector<Customer> customers;
  std::optional<CustomerCursor> next;  // Set when more customers may follow.
};

// What a mutation did, for the event it publishes.
enum class ChangeKind { kUpdated, kDeleted, kUndeleted };
struct Change {
  ChangeKind kind = ChangeKind::kUpdated;
  std::vector<std::string> fields;  // For kUpdated: the update mask paths.
};

struct DuplicateMatch {
  DedupeReason reason;
  std::string value;
};
struct DuplicatePair {
  std::string customer_id;            // The older of the two (UUIDv7 ids sort by time).
  std::string duplicate_customer_id;  // The younger.
  std::vector<DuplicateMatch> matches;
};
struct DuplicateCursor {
  int strength = 0;  // Number of matches of the last pair.
  std::string customer_id;
  std::string duplicate_customer_id;
};
struct DuplicatePage {
  std::vector<DuplicatePair> pairs;
  std::optional<DuplicateCursor> next;
};

// What a read model of another service keeps of one customer (CustomerFeedService).
struct CustomerSnapshot {
  std::string tenant_id;
  std::string customer_id;
  CustomerState state = CustomerState::kUnspecified;
  std::string merged_into_customer_id;  // While kMerged; else empty.
  std::string merge_id;                 // The active merge that folded it, while kMerged.
  std::vector<std::string> person_ids;  // Of its contact persons, in order.
  std::string owner_id;
  std::string region;
  CustomerLevel level = CustomerLevel::kUnspecified;
  std::int64_t version = 0;
  // While kMerged: its persons the merge folded into the survivor's (FoldedPersons of the
  // merge record, as the CustomersMerged event has them).
  std::vector<FoldedPerson> folded_persons;
  LifecycleStatus lifecycle_status = LifecycleStatus::kUnspecified;
  std::vector<std::string> tags;
  bool operator==(const CustomerSnapshot&) const = default;
};

// A place in the order of every customer of every tenant: (tenant_id, customer_id).
struct SnapshotPosition {
  std::string tenant_id;
  std::string customer_id;
};

class CustomerStore {
 public:
  virtual ~CustomerStore() = default;

  // Inserts validated customers (ids and times set; the caller vetted that each creator may
  // write its customer), each with its CustomerCreated event and audit entry, in ONE
  // transaction: a group commit, so concurrent creates share a commit and its fsync.
  // Returns one result per customer, in order: the customer; or, for an idempotency key
  // used before, the customer that first call created (as it is now; NOT_FOUND if this
  // caller cannot see it), or ALREADY_EXISTS if the key came with another request. When the
  // transaction itself fails, returns that failure instead, and nothing is written.
  virtual absl::StatusOr<std::vector<absl::StatusOr<Customer>>> CreateMany(
      const std::vector<NewCustomer>& customers) = 0;

  // The customers found among `ids` that `scope` sees, in no particular order (missing and
  // invisible ones are left out alike).
  virtual absl::StatusOr<std::vector<Customer>> BatchGet(
      std::string_view tenant_id, const auth::Scope& scope,
      const std::vector<std::string>& customer_ids) = 0;

  // One page of the customers `scope` sees, in the query's order, starting after `after`.
  virtual absl::StatusOr<CustomerPage> List(std::string_view tenant_id, const auth::Scope& scope,
                                            const CustomerQuery& query,
                                            const std::optional<CustomerCursor>& after) = 0;

  // Locks the customer, lets `mutate` change it, and stores the result with the next
  // version and update_time = context.now, with its event and audit entry. A non-OK status
  // from `mutate` aborts without writing. NOT_FOUND if there is no such customer (or the
  // caller cannot see it); PERMISSION_DENIED if the caller may not change it, before or after.
  // With `key`, the key is claimed in the same transaction: a key used before for the same
  // request returns the customer as it is now (NOT_FOUND if the caller cannot see it) without
  // calling `mutate`, and ALREADY_EXISTS if it came with another request.
  using Mutation = std::function<absl::StatusOr<Change>(Customer&)>;
  virtual absl::StatusOr<Customer> Mutate(const WriteContext& context, std::string_view customer_id,
                                          const Mutation& mutate,
                                          const std::optional<IdempotencyKey>& key) = 0;

  // Locks both customers (in id order), which the caller must be able to change, lets `fold`
  // produce the survivor's new state from the two (it may refuse), stores the survivor, marks
  // the merged customer MERGED into it, keeps the merge record with both as they were, and
  // publishes CustomersMerged, with an audit entry for each customer. A replay (a key used
  // before) returns the earlier outcome if the caller can still see both customers.
  using Fold =
      std::function<absl::StatusOr<Customer>(const Customer& survivor, const Customer& merged)>;
  virtual absl::StatusOr<MergeOutcome> Merge(const WriteContext& context,
                                             std::string_view survivor_id,
                                             std::string_view merged_id, const Fold& fold,
                                             const std::optional<IdempotencyKey>& key) = 0;

  // Restores both customers of a merge exactly as they were before it and publishes
  // CustomersUnmerged, with an audit entry for each customer. The caller must be able to
  // change both; `vet` sees each customer as it is and as it would be restored, and a non-OK
  // status from it aborts without writing. FAILED_PRECONDITION if the merge was undone already
  // or either customer changed since; NOT_FOUND if there is no such merge or the caller cannot
  // see both of its customers.
  using Vet = std::function<absl::Status(const Customer& now, const Customer& restored)>;
  virtual absl::StatusOr<MergeOutcome> Unmerge(const WriteContext& context,
                                               std::string_view merge_id, const Vet& vet) = 0;

  // Up to `limit` customers of every tenant, in (tenant_id, customer_id) order, starting after
  // `after` (from the first when nullopt). The one method not scoped to a tenant or a caller:
  // it feeds other services' read models (CustomerManager::ListSnapshots checks the caller).
  virtual absl::StatusOr<std::vector<CustomerSnapshot>> ListSnapshots(
      const std::optional<SnapshotPosition>& after, int limit) = 0;

  // Pairs of active customers sharing a dedupe key, both of which `scope` sees, most matches
  // first. Keys shared by more than kMaxCustomersPerKey customers (a switchboard number,
  // info@ addresses) are too common to be evidence and are ignored.
  static constexpr int kMaxCustomersPerKey = 50;
  virtual absl::StatusOr<DuplicatePage> FindDuplicates(
      std::string_view tenant_id, const auth::Scope& scope, std::string_view customer_id,
      int page_size, const std::optional<DuplicateCursor>& after) = 0;
};

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_STORE_H_
