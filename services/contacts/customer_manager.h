// The business rules of customer master data: validation and normalisation, ids and
// versions, idempotency, optimistic concurrency, soft delete, merge and unmerge, and what
// the caller's scope lets them do: role permissions and field policies here, row access in
// the store (customer_store.h). Storage is behind CustomerStore; nothing here knows about
// gRPC or SQL.
//
// Every method but ListSnapshots needs caller.scope (INTERNAL "no scope" without it: a wiring
// bug). The
// customers it returns are as the caller may see them: through the caller's field policies
// (the shared disclosure step, common/disclosure), and a read that showed sensitive fields
// (Get, BatchGet, List, FindDuplicates) is reported as one audit entry.
#ifndef TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_MANAGER_H_
#define TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_MANAGER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/audit/audit.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "common/paging/page_token.h"
#include "common/server/batcher.h"
#include "services/contacts/customer_store.h"
#include "services/contacts/customer_validation.h"
#include "services/contacts/model.h"
#include "touchline/contacts/v1/customer.pb.h"

namespace touchline::contacts {

// Limits on request shapes (the customer's own limits are in CustomerValidator).
inline constexpr int kMaxPageSize = 1000;
inline constexpr int kDefaultCustomerPageSize = 50;
inline constexpr int kDefaultDuplicatePageSize = 100;
inline constexpr int kDefaultSnapshotPageSize = 500;
inline constexpr int kMaxBatchGet = 1000;

// How Get and Create batch concurrent calls (see server::Batcher): `*_threads` workers each
// take up to max_batch waiting calls; beyond max_queue waiting calls, RESOURCE_EXHAUSTED.
struct BatchOptions {
  int read_threads = 2;
  int write_threads = 2;
  size_t max_batch = 128;
  size_t max_queue = 4096;
};

// Most customer ids one audit entry of a read lists in its detail.
inline constexpr size_t kMaxAuditedIds = 100;

struct ListResult {
  std::vector<v1::Customer> customers;
  std::string next_page_token;
};

// Each match's value is shown as the field it matched on would be (hidden: empty).
struct DuplicatesResult {
  std::vector<DuplicatePair> pairs;
  std::string next_page_token;
};

struct MergeResult {
  v1::Customer survivor;
  v1::Customer merged;
  CustomerMerge merge;
};

// One page of the customer feed (CustomerFeedService).
struct SnapshotPage {
  std::vector<CustomerSnapshot> snapshots;
  std::string next_page_token;  // Empty on the last page.
};

class CustomerManager {
 public:
  using Clock = std::function<absl::Time()>;
  using CustomerCallback = std::function<void(absl::StatusOr<v1::Customer>)>;

  // `audit` receives the sensitive reads; both pointers must outlive the manager.
  // `page_tokens` seals the page tokens of List and FindDuplicates.
  CustomerManager(CustomerStore* store, audit::AuditPublisher* audit, CustomerValidator validator,
                  paging::PageTokens page_tokens, Clock clock, BatchOptions batching = {});

  // Create and Get never block: they check the request on the calling thread and queue the
  // work, and `done` runs later on a batch worker (or at once, on a bad request or overload).
  // Concurrent creates commit together in one transaction; concurrent gets share one query.
  //
  // Create: PERMISSION_DENIED without PERMISSION_CUSTOMERS_WRITE, for a field set that the
  // caller's field policies do not let them write (naming it), and for a customer the caller
  // could not change once created (naming owner_id and region, or level); an employee's
  // customer without owner_id is theirs. INVALID_ARGUMENT (with field violations) for a bad
  // customer; ALREADY_EXISTS for a request id reused with another request.
  void Create(const auth::RequestContext& caller, Customer customer,
              const std::optional<IdempotencyKey>& key, CustomerCallback done);
  // NOT_FOUND if the caller's tenant has no such customer or the caller cannot see it, in
  // the same words.
  void Get(const auth::RequestContext& caller, std::string_view customer_id, CustomerCallback done);
  // In the order of `customer_ids`; NOT_FOUND naming the first missing or invisible id.
  absl::StatusOr<std::vector<v1::Customer>> BatchGet(const auth::RequestContext& caller,
                                                     const std::vector<std::string>& customer_ids);
  // The customers the caller sees. query.page_size 0 means the default. The page token must
  // come from the same query.
  absl::StatusOr<ListResult> List(const auth::RequestContext& caller, CustomerQuery query,
                                  std::string_view page_token);
  // Applies the fields of `patch` named by `paths`. ABORTED on a stale etag,
  // FAILED_PRECONDITION if the customer is not active. PERMISSION_DENIED without
  // PERMISSION_CUSTOMERS_WRITE, for a path the caller's field policies do not let them write
  // (naming it), and as the store says for the row. With `key`, a retry of the same request
  // returns the customer as it is now and changes nothing; the key with another request is
  // ALREADY_EXISTS (CustomerStore::Mutate). Delete and Undelete alike, but for the paths and
  // the key.
  absl::StatusOr<v1::Customer> Update(const auth::RequestContext& caller, const Customer& patch,
                                      std::string_view etag, const std::vector<std::string>& paths,
                                      const std::optional<IdempotencyKey>& key = std::nullopt);
  absl::StatusOr<v1::Customer> Delete(const auth::RequestContext& caller,
                                      std::string_view customer_id, std::string_view etag);
  absl::StatusOr<v1::Customer> Undelete(const auth::RequestContext& caller,
                                        std::string_view customer_id, std::string_view etag);
  // Pairs of which the caller sees both customers.
  absl::StatusOr<DuplicatesResult> FindDuplicates(const auth::RequestContext& caller,
                                                  std::string_view customer_id, int page_size,
                                                  std::string_view page_token);
  // Merge and Unmerge: PERMISSION_DENIED without PERMISSION_CUSTOMERS_WRITE and
  // PERMISSION_CUSTOMERS_MERGE, when a field they would change on the survivor is not the
  // caller's to write (naming it), and as the store says for the rows.
  absl::StatusOr<MergeResult> Merge(const auth::RequestContext& caller,
                                    std::string_view survivor_id, std::string_view merged_id,
                                    std::string_view survivor_etag, std::string_view merged_etag,
                                    const std::optional<IdempotencyKey>& key);
  absl::StatusOr<MergeResult> Unmerge(const auth::RequestContext& caller,
                                      std::string_view merge_id);
  // One page of every customer of every tenant, in (tenant_id, customer_id) order, for the
  // read models of other services. Only a service calls it: PERMISSION_DENIED unless
  // caller.caller_id starts with auth::kServiceCallerPrefix (no scope needed, none checked).
  // page_size 0 means kDefaultSnapshotPageSize; INVALID_ARGUMENT naming page_size outside 0 to
  // kMaxPageSize, and naming page_token for a token the feed did not return. A token names
  // the last customer of its page, so it never expires.
  absl::StatusOr<SnapshotPage> ListSnapshots(const auth::RequestContext& caller, int page_size,
                                             std::string_view page_token);

 private:
  struct PendingGet {
    auth::RequestContext caller;
    std::string customer_id;
    CustomerCallback done;
  };
  struct PendingCreate {
    NewCustomer customer;
    CustomerCallback done;
  };

  WriteContext NewWriteContext(const auth::RequestContext& caller) const;
  // Read results as the caller may see them, with the audit entry of the sensitive fields
  // they showed.
  v1::Customer DiscloseOne(const auth::RequestContext& caller, const Customer& customer) const;
  std::vector<v1::Customer> Disclose(const auth::RequestContext& caller,
                                     const std::vector<Customer>& customers) const;
  // What a write returns to its writer, through the same field policies; not a read to audit.
  static v1::Customer Shown(const auth::RequestContext& caller, const Customer& customer);
  static absl::StatusOr<v1::Customer> Shown(const auth::RequestContext& caller,
                                            const absl::StatusOr<Customer>& customer);
  void LoadBatch(std::vector<PendingGet>& batch);
  void CreateBatch(std::vector<PendingCreate>& batch);

  CustomerStore* store_;
  audit::AuditPublisher* audit_;
  CustomerValidator validator_;
  const paging::PageTokens page_tokens_;
  Clock clock_;
  // Last: their workers call the members above and are joined first on destruction.
  server::Batcher<PendingGet> loader_;
  server::Batcher<PendingCreate> writer_;
};

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_MANAGER_H_
