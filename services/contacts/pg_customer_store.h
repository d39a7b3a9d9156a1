// CustomerStore on PostgreSQL (libpqxx), with events and audit entries through the
// transactional outbox. The schema on the pool's search_path holds the contacts tables, the
// outbox and the shares read model (enforcement::SharesMigrations).
#ifndef TOUCHLINE_SERVICES_CONTACTS_PG_CUSTOMER_STORE_H_
#define TOUCHLINE_SERVICES_CONTACTS_PG_CUSTOMER_STORE_H_

#include <functional>
#include <pqxx/transaction>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/events/topics.h"
#include "common/pg/pool.h"
#include "services/contacts/customer_store.h"

namespace touchline::contacts {

using ::touchline::events::kCustomersTopic;

class PgCustomerStore final : public CustomerStore {
 public:
  // The statements to prepare on every pooled connection (pg::PoolOptions::prepared).
  static std::vector<std::pair<std::string, std::string>> PreparedStatements();

  // `events_written` runs after each commit that wrote an event (it wakes the relay).
  PgCustomerStore(pg::Pool* pool, std::function<void()> events_written);

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
                                  const std::optional<IdempotencyKey>& key) override;
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

  // Within `txn` (the inbox transaction of the consumer of touchpoint events): makes
  // `status.status` the customer's lifecycle status if its touchpoint occurred after the one
  // that last set it (at the same time: if its id is not smaller), so a late, older touchpoint
  // never moves it back. The change is status.actor_id's: version and update_time (= `now`)
  // move, with a CustomerUpdated event and a "customer.updated" audit entry. A customer that
  // contacts does not have, that is not active or that already has the status is left as it
  // is. Returns whether the customer changed; INTERNAL for a stored customer that does not
  // parse; libpqxx errors are thrown, for the consumer to map.
  absl::StatusOr<bool> ApplyTouchpointStatus(pqxx::work& txn, const TouchpointStatus& status,
                                             absl::Time now);

 private:
  pg::Pool* pool_;
  std::function<void()> events_written_;
};

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_PG_CUSTOMER_STORE_H_
