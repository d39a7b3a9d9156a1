// CustomerStore on PostgreSQL (libpqxx), with events and audit entries through the
// transactional outbox. The schema on the pool's search_path holds the contacts tables, the
// outbox and the shares read model (auth::SharesMigrations).
#ifndef TOUCHLINE_SERVICES_CONTACTS_PG_CUSTOMER_STORE_H_
#define TOUCHLINE_SERVICES_CONTACTS_PG_CUSTOMER_STORE_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

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
                                  const Mutation& mutate) override;
  absl::StatusOr<MergeOutcome> Merge(const WriteContext& context, std::string_view survivor_id,
                                     std::string_view merged_id, const Fold& fold,
                                     const std::optional<IdempotencyKey>& key) override;
  absl::StatusOr<MergeOutcome> Unmerge(const WriteContext& context, std::string_view merge_id,
                                       const Vet& vet) override;
  absl::StatusOr<DuplicatePage> FindDuplicates(
      std::string_view tenant_id, const auth::Scope& scope, std::string_view customer_id,
      int page_size, const std::optional<DuplicateCursor>& after) override;

 private:
  pg::Pool* pool_;
  std::function<void()> events_written_;
};

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_PG_CUSTOMER_STORE_H_
