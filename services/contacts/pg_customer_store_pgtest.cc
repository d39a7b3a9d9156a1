// PgCustomerStore on a real PostgreSQL (a fresh schema per test): what one group commit does
// when its customers' idempotency keys meet each other and earlier requests, and the customer
// feed's listing across tenants, merges and their undoing.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/audit/audit.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/outbox.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/pg/migrator.h"
#include "common/redis/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/contacts/customer_json.h"
#include "services/contacts/customer_manager.h"
#include "services/contacts/customer_merge.h"
#include "services/contacts/migrations.h"
#include "services/contacts/pg_customer_store.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::contacts {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
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
                   const std::string& fingerprint, const std::string& tenant_id = "acme") {
    const absl::Time now = TruncateToMicros(absl::Now());
    NewCustomer n;
    n.context = {.caller = {.tenant_id = tenant_id,
                            .caller_id = "u1",
                            .request_id = "trace",
                            .scope = admin_,
                            .client = "test"},
                 .now = now};
    n.customer.tenant_id = tenant_id;
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

// A contact person with a fresh id.
ContactPerson Person(const std::string& name, const std::string& phone) {
  ContactPerson person;
  person.person_id = ids::NewUuid();
  person.name.formatted_name = name;
  person.phones.push_back({.number = phone, .kind = ContactPointKind::kMobile, .primary = true});
  return person;
}

// Every snapshot, a page of `limit` at a time, each page resuming after the last of the one
// before.
std::vector<CustomerSnapshot> AllSnapshots(CustomerStore& store, int limit) {
  std::vector<CustomerSnapshot> all;
  std::optional<SnapshotPosition> after;
  for (int pages = 0; pages < 100; ++pages) {
    absl::StatusOr<std::vector<CustomerSnapshot>> page = store.ListSnapshots(after, limit);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok() || page->empty()) break;
    EXPECT_LE(page->size(), static_cast<size_t>(limit));
    all.insert(all.end(), page->begin(), page->end());
    after =
        SnapshotPosition{.tenant_id = all.back().tenant_id, .customer_id = all.back().customer_id};
  }
  return all;
}

TEST_F(PgCustomerStoreTest, SnapshotsListEveryTenantWithTheirMergesInKeyOrder) {
  // acme: 甲 takes in 乙 (one of 乙's persons is 甲's 张伟 again); 丙 takes in 丁, undone.
  NewCustomer a = Make("甲公司", "", "");
  a.customer.contact_persons = {Person("张伟", "+8613800138000")};
  NewCustomer b = Make("乙公司", "", "");
  b.customer.contact_persons = {Person("张伟", "+8613800138000"), Person("李娜", "+8613900139000")};
  b.customer.owner_id = "rep-li";
  b.customer.region = "华南";
  b.customer.level = CustomerLevel::kVip;
  NewCustomer c = Make("丙公司", "", "");
  NewCustomer d = Make("丁公司", "", "");
  d.customer.contact_persons = {Person("王芳", "+8613700137000")};
  NewCustomer g = Make("环球贸易有限公司", "", "", "globex");
  g.customer.contact_persons = {Person("陈静", "+8613600136000")};
  g.customer.lifecycle_status = LifecycleStatus::kOpportunity;
  g.customer.tags = {"展会线索", "VIP候选"};
  TL_ASSERT_OK_AND_ASSIGN(const auto created, store_->CreateMany({a, b, c, d, g}));
  for (const auto& result : created) TL_ASSERT_OK(result);
  const auto fold = [](const Customer& s, const Customer& m) -> absl::StatusOr<Customer> {
    return FoldInto(s, m);
  };
  TL_ASSERT_OK_AND_ASSIGN(const MergeOutcome kept, store_->Merge(a.context, a.customer.customer_id,
                                                                 b.customer.customer_id, fold, {}));
  TL_ASSERT_OK_AND_ASSIGN(
      const MergeOutcome undone,
      store_->Merge(c.context, c.customer.customer_id, d.customer.customer_id, fold, {}));
  TL_ASSERT_OK(store_
                   ->Unmerge(c.context, undone.merge.merge_id,
                             [](const Customer&, const Customer&) { return absl::OkStatus(); })
                   .status());

  const std::vector<CustomerSnapshot> all = AllSnapshots(*store_, 1000);
  ASSERT_EQ(all.size(), 5u);
  std::vector<std::pair<std::string, std::string>> keys;
  for (const CustomerSnapshot& s : all) keys.emplace_back(s.tenant_id, s.customer_id);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(all.back().tenant_id, "globex");
  const auto of = [&](const NewCustomer& n) {
    return *std::find_if(all.begin(), all.end(), [&](const CustomerSnapshot& s) {
      return s.customer_id == n.customer.customer_id;
    });
  };

  const CustomerSnapshot merged = of(b);
  EXPECT_EQ(merged.state, CustomerState::kMerged);
  EXPECT_EQ(merged.merged_into_customer_id, a.customer.customer_id);
  EXPECT_EQ(merged.merge_id, kept.merge.merge_id);
  EXPECT_THAT(merged.person_ids, ElementsAre(b.customer.contact_persons[0].person_id,
                                             b.customer.contact_persons[1].person_id));
  // As the CustomersMerged event has them: 乙's 张伟 folded into 甲's.
  EXPECT_THAT(merged.folded_persons,
              ElementsAre(FoldedPerson{.person_id = b.customer.contact_persons[0].person_id,
                                       .into_person_id = a.customer.contact_persons[0].person_id}));
  EXPECT_EQ(merged.folded_persons, FoldedPersons(a.customer, b.customer));
  EXPECT_EQ(merged.owner_id, "rep-li");
  EXPECT_EQ(merged.region, "华南");
  EXPECT_EQ(merged.level, CustomerLevel::kVip);
  EXPECT_EQ(merged.version, 2);

  const CustomerSnapshot survivor = of(a);
  EXPECT_EQ(survivor.state, CustomerState::kActive);
  EXPECT_EQ(survivor.merge_id, "");
  EXPECT_THAT(survivor.folded_persons, IsEmpty());
  EXPECT_THAT(survivor.person_ids, ElementsAre(a.customer.contact_persons[0].person_id,
                                               b.customer.contact_persons[1].person_id));

  for (const NewCustomer* restored : {&c, &d}) {
    const CustomerSnapshot s = of(*restored);
    EXPECT_EQ(s.state, CustomerState::kActive);
    EXPECT_EQ(s.merged_into_customer_id, "");
    EXPECT_EQ(s.merge_id, "");
    EXPECT_THAT(s.folded_persons, IsEmpty());
    EXPECT_EQ(s.version, 3);  // Created, merged, restored.
  }
  EXPECT_THAT(of(d).person_ids, ElementsAre(d.customer.contact_persons[0].person_id));

  const CustomerSnapshot chinese = of(g);
  EXPECT_EQ(chinese.tenant_id, "globex");
  EXPECT_THAT(chinese.person_ids, ElementsAre(g.customer.contact_persons[0].person_id));
  EXPECT_EQ(chinese.lifecycle_status, LifecycleStatus::kOpportunity);
  EXPECT_THAT(chinese.tags, ElementsAre("展会线索", "VIP候选"));

  // Pages of two, each resuming after the last customer of the one before, list the same.
  EXPECT_EQ(AllSnapshots(*store_, 2), all);
  TL_ASSERT_OK_AND_ASSIGN(
      const std::vector<CustomerSnapshot> after_last,
      store_->ListSnapshots(
          SnapshotPosition{.tenant_id = "globex", .customer_id = g.customer.customer_id}, 10));
  EXPECT_THAT(after_last, IsEmpty());
}

TEST_F(PgCustomerStoreTest, TheFeedResumesFromItsPageToken) {
  std::vector<NewCustomer> batch;
  for (const char* name : {"甲", "乙", "丙"}) batch.push_back(Make(name, "", ""));
  batch.push_back(Make("环球", "", "", "globex"));
  TL_ASSERT_OK(store_->CreateMany(batch).status());
  // Never started: the feed audits nothing.
  TL_ASSERT_OK_AND_ASSIGN(auto redis,
                          redis::Pool::Create({.host = "127.0.0.1", .port = 1, .pool_size = 1}));
  TL_ASSERT_OK_AND_ASSIGN(auto audit, audit::AuditPublisher::Create({}, redis.get()));
  CustomerManager manager(store_.get(), audit.get(), CustomerValidator({}),
                          paging::PageTokens(std::string(paging::kTokenKeyBytes, 'k')), &absl::Now);
  auth::RequestContext service;
  service.caller_id = "service:permissions";
  TL_ASSERT_OK_AND_ASSIGN(const SnapshotPage first, manager.ListSnapshots(service, 3, ""));
  ASSERT_EQ(first.snapshots.size(), 3u);
  ASSERT_NE(first.next_page_token, "");
  TL_ASSERT_OK_AND_ASSIGN(const SnapshotPage second,
                          manager.ListSnapshots(service, 3, first.next_page_token));
  ASSERT_EQ(second.snapshots.size(), 1u);
  EXPECT_EQ(second.snapshots[0].tenant_id, "globex");
  EXPECT_EQ(second.snapshots[0].customer_id, batch[3].customer.customer_id);
  EXPECT_EQ(second.next_page_token, "");
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
