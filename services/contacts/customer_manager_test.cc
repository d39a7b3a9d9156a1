// CustomerManager's batching, on the real store with a seam in front of it.
#include "services/contacts/customer_manager.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/outbox.h"
#include "common/pg/migrator.h"
#include "gtest/gtest.h"
#include "services/contacts/migrations.h"
#include "services/contacts/pg_customer_store.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::contacts {
namespace {

using ::touchline::testing::StatusIs;

constexpr char kPoison[] = "毒药";

// Forwards to the real store, except that CreateMany holds its first batch until released
// and refuses, as a whole, any batch holding a customer named kPoison.
class RefusingStore final : public CustomerStore {
 public:
  explicit RefusingStore(CustomerStore* store) : store_(store) {}

  absl::Notification first_batch_started;
  absl::Notification release_first_batch;
  std::vector<size_t> batch_sizes;

  absl::StatusOr<std::vector<absl::StatusOr<Customer>>> CreateMany(
      const std::vector<NewCustomer>& customers) override {
    if (!first_batch_started.HasBeenNotified()) {
      first_batch_started.Notify();
      release_first_batch.WaitForNotification();
    }
    batch_sizes.push_back(customers.size());
    for (const NewCustomer& c : customers) {
      if (c.customer.display_name == kPoison) return absl::InternalError("refused");
    }
    return store_->CreateMany(customers);
  }
  absl::StatusOr<std::vector<Customer>> BatchGet(std::string_view tenant_id,
                                                 const auth::Scope& scope,
                                                 const std::vector<std::string>& ids) override {
    return store_->BatchGet(tenant_id, scope, ids);
  }
  absl::StatusOr<CustomerPage> List(std::string_view tenant_id, const auth::Scope& scope,
                                    const CustomerQuery& query,
                                    const std::optional<CustomerCursor>& after) override {
    return store_->List(tenant_id, scope, query, after);
  }
  absl::StatusOr<Customer> Mutate(const WriteContext& context, std::string_view id,
                                  const Mutation& mutate) override {
    return store_->Mutate(context, id, mutate);
  }
  absl::StatusOr<MergeOutcome> Merge(const WriteContext& context, std::string_view survivor_id,
                                     std::string_view merged_id, const Fold& fold,
                                     const std::optional<IdempotencyKey>& key) override {
    return store_->Merge(context, survivor_id, merged_id, fold, key);
  }
  absl::StatusOr<MergeOutcome> Unmerge(const WriteContext& context, std::string_view merge_id,
                                       const Vet& vet) override {
    return store_->Unmerge(context, merge_id, vet);
  }
  absl::StatusOr<DuplicatePage> FindDuplicates(
      std::string_view tenant_id, const auth::Scope& scope, std::string_view customer_id,
      int page_size, const std::optional<DuplicateCursor>& after) override {
    return store_->FindDuplicates(tenant_id, scope, customer_id, page_size, after);
  }

 private:
  CustomerStore* store_;
};

// Collects the result of one asynchronous call.
struct Outcome {
  absl::Notification done;
  absl::StatusOr<Customer> result = absl::UnknownError("not done");
  CustomerManager::CustomerCallback Callback() {
    return [this](absl::StatusOr<Customer> r) {
      result = std::move(r);
      done.Notify();
    };
  }
};

TEST(CustomerManagerTest, ACreateTheDatabaseRefusesFailsAloneNotItsWholeBatch) {
  testing::ScopedSchema schema("contacts_manager");
  const std::string dsn = testing::TestPgDsn();
  TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema.name(), "contacts", pg::contacts_migrations()));
  TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema.name(), "outbox", events::OutboxMigrations()));
  TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema.name(), "shares", enforcement::SharesMigrations()));
  TL_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const auth::Scope> admin,
                          auth::Scope::Compile(auth::testing::AdminScope("acme", "u1")));
  TL_ASSERT_OK_AND_ASSIGN(auto pool,
                          pg::Pool::Create({.dsn = dsn,
                                            .search_path = schema.name(),
                                            .size = 2,
                                            .prepared = PgCustomerStore::PreparedStatements(),
                                            .settings = {}}));
  PgCustomerStore pg_store(pool.get(), [] {});
  RefusingStore store(&pg_store);
  Outcome first, poison, innocent;
  {
    CustomerManager manager(
        &store, CustomerValidator({}), paging::PageTokens(std::string(paging::kTokenKeyBytes, 'k')),
        [] { return absl::Now(); },
        {.read_threads = 1, .write_threads = 1, .max_batch = 128, .max_queue = 16});
    const auth::RequestContext caller{.tenant_id = "acme",
                                      .caller_id = "u1",
                                      .request_id = "r",
                                      .scope = admin,
                                      .client = "test"};
    const auto customer = [](const std::string& name) {
      Customer c;
      c.kind = CustomerKind::kOrganization;
      c.display_name = name;
      return c;
    };
    manager.Create(caller, customer("第一家"), std::nullopt, first.Callback());
    store.first_batch_started.WaitForNotification();
    // Both queue behind the held batch, so the writer takes them together.
    manager.Create(caller, customer(kPoison), std::nullopt, poison.Callback());
    manager.Create(caller, customer("无辜的"), std::nullopt, innocent.Callback());
    store.release_first_batch.Notify();
    first.done.WaitForNotification();
    poison.done.WaitForNotification();
    innocent.done.WaitForNotification();
  }
  TL_EXPECT_OK(first.result);
  EXPECT_THAT(poison.result, StatusIs(absl::StatusCode::kInternal));
  TL_ASSERT_OK(innocent.result);
  EXPECT_EQ(innocent.result->display_name, "无辜的");
  // The held batch, the shared batch that was refused, then each of its two alone.
  EXPECT_EQ(store.batch_sizes, (std::vector<size_t>{1, 2, 1, 1}));
}

}  // namespace
}  // namespace touchline::contacts
