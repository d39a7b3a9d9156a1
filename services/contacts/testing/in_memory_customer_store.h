// CustomerStore in memory, for tests of what sits above the store (CustomerManager): the same
// contract as PgCustomerStore (rows through the caller's scope, idempotency keys, merges and
// their undoing, duplicate pairs), without what only PostgreSQL does: no events, no audit
// entries (pg_customer_store_pgtest covers those), and display names ordered by bytes, not by
// the zh collation. Thread-safe.
#ifndef TOUCHLINE_SERVICES_CONTACTS_TESTING_IN_MEMORY_CUSTOMER_STORE_H_
#define TOUCHLINE_SERVICES_CONTACTS_TESTING_IN_MEMORY_CUSTOMER_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/contacts/customer_access.h"
#include "services/contacts/customer_store.h"

namespace touchline::contacts::testing {

class InMemoryCustomerStore final : public CustomerStore {
 public:
  // Replaces the shares of a customer, as the permissions service's event would.
  void SetShares(const std::string& tenant_id, const std::string& customer_id, Shares shares);
  // The stored customer, whoever may see it; nullopt when there is none.
  std::optional<Customer> Find(const std::string& tenant_id, const std::string& customer_id) const;

  absl::StatusOr<std::vector<absl::StatusOr<Customer>>> CreateMany(
      const std::vector<NewCustomer>& customers) override;
  absl::StatusOr<std::vector<Customer>> BatchGet(
      std::string_view tenant_id, const auth::Scope& scope,
      const std::vector<std::string>& customer_ids) override;
  absl::StatusOr<CustomerPage> List(std::string_view tenant_id, const auth::Scope& scope,
                                    const CustomerQuery& query,
                                    const std::optional<CustomerCursor>& after) override;
  absl::StatusOr<Customer> Mutate(const WriteContext& context, std::string_view customer_id,
                                  const Mutation& mutate,
                                  const std::optional<IdempotencyKey>& request) override;
  absl::StatusOr<MergeOutcome> Merge(const WriteContext& context, std::string_view survivor_id,
                                     std::string_view merged_id, const Fold& fold,
                                     const std::optional<IdempotencyKey>& key) override;
  absl::StatusOr<MergeOutcome> Unmerge(const WriteContext& context, std::string_view merge_id,
                                       const Vet& vet) override;
  absl::StatusOr<DuplicatePage> FindDuplicates(
      std::string_view tenant_id, const auth::Scope& scope, std::string_view customer_id,
      int page_size, const std::optional<DuplicateCursor>& after) override;
  absl::StatusOr<std::vector<CustomerSnapshot>> ListSnapshots(
      const std::optional<SnapshotPosition>& after, int limit) override;

 private:
  using Key = std::pair<std::string, std::string>;  // (tenant, id)
  struct Request {
    std::string fingerprint;
    std::string resource_id;
  };

  Shares SharesOf(const Key& key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Sees(const auth::Scope& scope, const Customer& customer) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The customer, if `scope` may do `access` to it (CheckRowAccess otherwise).
  absl::StatusOr<Customer> WithAccess(const WriteContext& context, std::string_view customer_id,
                                      auth::Access access) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // For a key used before: the resource that request made (ALREADY_EXISTS for another
  // request); nullopt when the key is new, which it then claims for `resource_id`.
  absl::StatusOr<std::optional<std::string>> Claim(const std::string& tenant_id,
                                                   const IdempotencyKey& key,
                                                   const std::string& resource_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<Key, Customer> customers_ ABSL_GUARDED_BY(mu_);
  std::map<Key, Shares> shares_ ABSL_GUARDED_BY(mu_);
  std::map<Key, Request> requests_ ABSL_GUARDED_BY(mu_);  // (tenant, request id)
  std::map<Key, CustomerMerge> merges_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::contacts::testing

#endif  // TOUCHLINE_SERVICES_CONTACTS_TESTING_IN_MEMORY_CUSTOMER_STORE_H_
