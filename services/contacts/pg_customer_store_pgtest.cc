// PgCustomerStore on a real PostgreSQL (a fresh schema per test): what one group commit does
// when its customers' idempotency keys meet each other and earlier requests.
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/outbox.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/pg/migrator.h"
#include "gtest/gtest.h"
#include "services/contacts/customer_json.h"
#include "services/contacts/migrations.h"
#include "services/contacts/pg_customer_store.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::contacts {
namespace {

using ::touchline::testing::StatusIs;

class PgCustomerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dsn = testing::TestPgDsn();
    TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema_.name(), "outbox", events::OutboxMigrations()));
    TL_ASSERT_OK(
        pg::ApplyMigrations(dsn, schema_.name(), "shares", enforcement::SharesMigrations()));
    TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema_.name(), "idempotency",
                                     idempotency::IdempotencyMigrations()));
    TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema_.name(), "contacts", pg::contacts_migrations()));
    TL_ASSERT_OK_AND_ASSIGN(admin_, auth::Scope::Compile(auth::testing::AdminScope("acme", "u1")));
    TL_ASSERT_OK_AND_ASSIGN(pool_,
                            pg::Pool::Create({.dsn = dsn,
                                              .search_path = schema_.name(),
                                              .size = 2,
                                              .prepared = PgCustomerStore::PreparedStatements(),
                                              .settings = {}}));
    store_ = std::make_unique<PgCustomerStore>(pool_.get(), [this] { ++wakes_; });
  }

  NewCustomer Make(const std::string& name, const std::string& request_id,
                   const std::string& fingerprint) {
    const absl::Time now = TruncateToMicros(absl::Now());
    NewCustomer n;
    n.context = {.caller = {.tenant_id = "acme",
                            .caller_id = "u1",
                            .request_id = "trace",
                            .scope = admin_,
                            .client = "test"},
                 .now = now};
    n.customer.tenant_id = "acme";
    n.customer.customer_id = ids::NewUuid(now);
    n.customer.kind = CustomerKind::kOrganization;
    n.customer.display_name = name;
    n.customer.level = CustomerLevel::kStandard;
    n.customer.lifecycle_status = LifecycleStatus::kLead;
    n.customer.state = CustomerState::kActive;
    n.customer.create_time = now;
    n.customer.update_time = now;
    n.customer.version = 1;
    if (!request_id.empty()) {
      n.key = IdempotencyKey{
          .request_id = request_id, .method = "CreateCustomer", .fingerprint = fingerprint};
    }
    return n;
  }

  int Count(const std::string& table) {
    int count = -1;
    TL_EXPECT_OK(pool_->Query([&](pqxx::nontransaction& txn) {
      count = txn.exec("SELECT count(*) FROM " + table)[0][0].as<int>();
      return absl::OkStatus();
    }));
    return count;
  }

  testing::ScopedSchema schema_{"contacts_store"};
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgCustomerStore> store_;
  std::shared_ptr<const auth::Scope> admin_;
  int wakes_ = 0;
};

TEST_F(PgCustomerStoreTest, OneBatchSortsOutRetriesAndReusedKeysAmongItself) {
  const std::vector<NewCustomer> batch = {
      Make("甲公司", "r1", "f1"),
      Make("甲公司", "r1", "f1"),         // A retry of the first, in the same batch.
      Make("乙公司", "r1", "different"),  // The same key with another request.
      Make("丙公司", "", ""),             // No key.
  };
  TL_ASSERT_OK_AND_ASSIGN(const std::vector<absl::StatusOr<Customer>> results,
                          store_->CreateMany(batch));
  ASSERT_EQ(results.size(), 4u);
  TL_ASSERT_OK(results[0]);
  TL_ASSERT_OK(results[1]);
  EXPECT_EQ(results[1]->customer_id, results[0]->customer_id);
  EXPECT_THAT(results[2], StatusIs(absl::StatusCode::kAlreadyExists));
  TL_ASSERT_OK(results[3]);
  EXPECT_EQ(results[3]->display_name, "丙公司");
  EXPECT_EQ(Count("customers"), 2);
  EXPECT_EQ(Count("outbox WHERE topic = 'customers'"), 2);
  EXPECT_EQ(Count("outbox WHERE topic = 'audit'"), 2);
  EXPECT_EQ(wakes_, 1);
}

TEST_F(PgCustomerStoreTest, ALaterBatchReplaysAnEarlierRequest) {
  TL_ASSERT_OK_AND_ASSIGN(const auto first, store_->CreateMany({Make("甲公司", "r1", "f1")}));
  TL_ASSERT_OK(first[0]);
  TL_ASSERT_OK_AND_ASSIGN(const auto again, store_->CreateMany({Make("甲公司", "r1", "f1"),
                                                                Make("乙公司", "r1", "f2")}));
  TL_ASSERT_OK(again[0]);
  EXPECT_EQ(again[0]->customer_id, first[0]->customer_id);
  EXPECT_THAT(again[1], StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(Count("customers"), 1);
  EXPECT_EQ(wakes_, 1);  // Nothing new was written the second time.
}

TEST_F(PgCustomerStoreTest, BatchGetFindsEachCustomerOnceAndSkipsUnknownIds) {
  TL_ASSERT_OK_AND_ASSIGN(const auto created,
                          store_->CreateMany({Make("甲", "", ""), Make("乙", "", "")}));
  TL_ASSERT_OK(created[0]);
  TL_ASSERT_OK(created[1]);
  TL_ASSERT_OK_AND_ASSIGN(
      const std::vector<Customer> found,
      store_->BatchGet("acme", *admin_,
                       {created[1]->customer_id, ids::NewUuid(), created[0]->customer_id}));
  ASSERT_EQ(found.size(), 2u);  // In no promised order.
  const bool first_is_second = found[0] == *created[1];
  EXPECT_EQ(found[first_is_second ? 0 : 1], *created[1]);
  EXPECT_EQ(found[first_is_second ? 1 : 0], *created[0]);
  TL_ASSERT_OK_AND_ASSIGN(const std::vector<Customer> other_tenant,
                          store_->BatchGet("other", *admin_, {created[0]->customer_id}));
  EXPECT_TRUE(other_tenant.empty());
}

// Keys recorded in the contacts schema's own table before the shared one existed are moved
// there, so a retry across the upgrade still replays.
TEST(ContactsMigrationsTest, RequestIdsMoveToTheSharedIdempotencyTable) {
  testing::ScopedSchema schema("contacts_migrate");
  const std::string dsn = testing::TestPgDsn();
  const std::vector<pg::Migration>& all = pg::contacts_migrations();
  ASSERT_EQ(all[2].name, "0003_idempotency_keys.sql");
  TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema.name(), "contacts", {all[0], all[1]}));
  TL_ASSERT_OK_AND_ASSIGN(
      auto pool,
      pg::Pool::Create(
          {.dsn = dsn, .search_path = schema.name(), .size = 1, .prepared = {}, .settings = {}}));
  TL_ASSERT_OK(pool->Transact([](pqxx::work& txn) {
    txn.exec(
        "INSERT INTO requests (tenant_id, request_id, method, fingerprint, resource_id) "
        "VALUES ('acme', 'req-1', 'CreateCustomer', 'f1', 'c1')");
    return absl::OkStatus();
  }));
  TL_ASSERT_OK(
      pg::ApplyMigrations(dsn, schema.name(), "idempotency", idempotency::IdempotencyMigrations()));
  TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema.name(), "contacts", all));
  TL_EXPECT_OK(pool->Transact([](pqxx::work& txn) {
    const pqxx::result moved =
        txn.exec("SELECT tenant_id, request_id, method, fingerprint, result FROM idempotency_keys");
    EXPECT_EQ(moved.size(), 1u);
    if (moved.size() == 1) {
      EXPECT_EQ(moved[0][1].as<std::string>(), "req-1");
      EXPECT_EQ(moved[0][4].as<std::string>(), "c1");
    }
    EXPECT_EQ(txn.exec("SELECT to_regclass('requests') IS NULL")[0][0].as<bool>(), true);
    return absl::OkStatus();
  }));
}

}  // namespace
}  // namespace touchline::contacts
