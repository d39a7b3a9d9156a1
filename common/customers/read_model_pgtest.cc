#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/customers/read_model.h"
#include "common/events/outbox.h"
#include "common/ids/ids.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/customer_events.pb.h"

namespace touchline::customers {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace ev = ::touchline::events::v1;

using ::testing::ElementsAre;
using ::testing::Pair;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";

cv1::Customer MakeCustomer(const std::string& id, int64_t version, const std::string& owner) {
  cv1::Customer c;
  c.set_customer_id(id);
  c.set_etag(absl::StrCat(version));
  c.set_state(cv1::CUSTOMER_STATE_ACTIVE);
  c.set_owner_id(owner);
  c.set_region("华东");
  c.set_level(cv1::CUSTOMER_LEVEL_KEY);
  c.set_lifecycle_status(cv1::LIFECYCLE_STATUS_PROSPECT);
  c.add_tags("展会线索");
  return c;
}

// One call of the ChangedFn.
struct Change {
  std::optional<CustomerRow> before;
  CustomerRow after;
  bool with_cause = false;
};

class ReadModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK(
        pg::ApplyMigrations(dsn_, schema_.name(), "customer_read_model", ReadModelMigrations()));
    pg::PoolOptions options;
    options.dsn = dsn_;
    options.search_path = schema_.name();
    options.size = 2;
    TL_ASSERT_OK_AND_ASSIGN(pool_, pg::Pool::Create(options));
  }

  absl::Status Apply(const google::protobuf::Message& payload, const std::string& id) {
    const ev::EventEnvelope event =
        events::MakeEnvelope(payload, kTenant, "customer", id, "r", "u");
    return pool_->Transact([&](pqxx::work& txn) { return model_.ApplyEvent(txn, event); });
  }

  std::optional<CustomerRow> Find(const std::string& id) {
    std::optional<CustomerRow> row;
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
      row = FindCustomer(txn, kTenant, id);
      return absl::OkStatus();
    }));
    return row;
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"customer_model"};
  std::unique_ptr<pg::Pool> pool_;
  std::vector<Change> changes_;
  const ReadModel model_{[this](pqxx::work&, const CustomerRow* before, const CustomerRow& after,
                                const ev::EventEnvelope* cause) {
    changes_.push_back({before ? std::optional(*before) : std::nullopt, after, cause != nullptr});
    return absl::OkStatus();
  }};
};

TEST_F(ReadModelTest, KeepsOnlyNewerVersionsAndReportsEachChange) {
  const std::string id = ids::NewUuid();
  ev::CustomerCreated created;
  *created.mutable_customer() = MakeCustomer(id, 1, "u-张");
  TL_ASSERT_OK(Apply(created, id));
  ev::CustomerUpdated newer;
  *newer.mutable_customer() = MakeCustomer(id, 3, "u-李");
  TL_ASSERT_OK(Apply(newer, id));
  ev::CustomerUpdated older;  // Arrives late: ignored.
  *older.mutable_customer() = MakeCustomer(id, 2, "u-王");
  TL_ASSERT_OK(Apply(older, id));

  const std::optional<CustomerRow> row = Find(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->owner_id, "u-李");
  EXPECT_EQ(row->region, "华东");
  EXPECT_EQ(row->version, 3);
  EXPECT_EQ(row->lifecycle_status, cv1::LIFECYCLE_STATUS_PROSPECT);
  EXPECT_THAT(row->tags, ElementsAre("展会线索"));
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_FALSE(changes_[0].before.has_value());
  EXPECT_EQ(changes_[1].before->owner_id, "u-张");
  EXPECT_TRUE(changes_[1].before->VisibilityDiffers(changes_[1].after));
  EXPECT_TRUE(changes_[1].with_cause);
}

TEST_F(ReadModelTest, MergeKeepsTheMergeAndFoldedPersonsUntilTheUnmerge) {
  const std::string survivor = ids::NewUuid(), merged = ids::NewUuid();
  const std::string person = ids::NewUuid(), into = ids::NewUuid();
  ev::CustomersMerged merge;
  *merge.mutable_survivor() = MakeCustomer(survivor, 2, "u1");
  *merge.mutable_merged() = MakeCustomer(merged, 2, "u1");
  merge.mutable_merged()->set_state(cv1::CUSTOMER_STATE_MERGED);
  merge.mutable_merged()->set_merged_into_customer_id(survivor);
  merge.mutable_merged()->add_contact_persons()->set_person_id(person);
  const std::string merge_id = ids::NewUuid();
  merge.mutable_merge()->set_merge_id(merge_id);
  ev::FoldedPerson* folded = merge.add_folded_persons();
  folded->set_person_id(person);
  folded->set_into_person_id(into);
  TL_ASSERT_OK(Apply(merge, survivor));

  std::optional<CustomerRow> row = Find(merged);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->merged_into, survivor);
  EXPECT_EQ(row->merge_id, merge_id);
  EXPECT_THAT(row->person_ids, ElementsAre(person));
  EXPECT_THAT(row->folded_persons, ElementsAre(Pair(person, into)));

  ev::CustomersUnmerged unmerge;
  *unmerge.mutable_survivor() = MakeCustomer(survivor, 3, "u1");
  *unmerge.mutable_restored() = MakeCustomer(merged, 3, "u1");
  TL_ASSERT_OK(Apply(unmerge, survivor));
  row = Find(merged);
  EXPECT_EQ(row->merged_into, "");
  EXPECT_EQ(row->merge_id, "");
  EXPECT_TRUE(row->folded_persons.empty());
  // The survivor, then the other customer, for each event; the unmerge's restored customer
  // comes with what the merge had left.
  ASSERT_EQ(changes_.size(), 4u);
  EXPECT_EQ(changes_[3].before->merged_into, survivor);
  EXPECT_THAT(changes_[3].before->folded_persons, ElementsAre(Pair(person, into)));
}

TEST_F(ReadModelTest, LearntCustomerYieldsToTheEventOfItsVersion) {
  const std::string id = ids::NewUuid();
  TL_ASSERT_OK(pool_->Transact(
      [&](pqxx::work& txn) { return model_.Learn(txn, kTenant, MakeCustomer(id, 4, "u1")); }));
  EXPECT_EQ(Find(id)->version, 3);
  ev::CustomerCreated created;
  *created.mutable_customer() = MakeCustomer(id, 4, "u2");
  TL_ASSERT_OK(Apply(created, id));
  EXPECT_EQ(Find(id)->owner_id, "u2");
  EXPECT_EQ(Find(id)->version, 4);
}

TEST_F(ReadModelTest, RefusesCustomersItCannotKeep) {
  ev::CustomerCreated created;
  *created.mutable_customer() = MakeCustomer("not-a-uuid", 1, "u1");
  EXPECT_THAT(Apply(created, "x"), StatusIs(absl::StatusCode::kInvalidArgument));
  *created.mutable_customer() = MakeCustomer(ids::NewUuid(), 1, "u1");
  created.mutable_customer()->set_etag("W/\"1\"");
  EXPECT_THAT(Apply(created, "x"), StatusIs(absl::StatusCode::kInvalidArgument));
  cv1::CustomerSnapshot snapshot;
  snapshot.set_customer_id(ids::NewUuid());
  EXPECT_THAT(RowOf(snapshot), StatusIs(absl::StatusCode::kInvalidArgument));  // no tenant
  EXPECT_TRUE(changes_.empty());
}

TEST(ReadModelMigrationTest, WidensANarrowerTableAndKeepsItsRows) {
  const std::string dsn = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema("customer_model");
  pg::PoolOptions options;
  options.dsn = dsn;
  options.search_path = schema.name();
  options.size = 1;
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<pg::Pool> pool, pg::Pool::Create(options));
  const std::string id = ids::NewUuid();
  // The table as the permissions service's first migration made it.
  TL_ASSERT_OK(pool->Transact([&](pqxx::work& txn) {
    txn.exec(
        "CREATE TABLE customers (tenant_id text NOT NULL, customer_id uuid NOT NULL, "
        "owner_id text NOT NULL DEFAULT '', region text NOT NULL DEFAULT '', "
        "level smallint NOT NULL DEFAULT 0, state smallint NOT NULL, version bigint NOT NULL, "
        "PRIMARY KEY (tenant_id, customer_id))");
    txn.exec_params("INSERT INTO customers VALUES ($1, $2::uuid, 'u1', '华南', 1, 1, 7)", kTenant,
                    id);
    return absl::OkStatus();
  }));
  TL_ASSERT_OK(
      pg::ApplyMigrations(dsn, schema.name(), "customer_read_model", ReadModelMigrations()));
  std::optional<CustomerRow> row;
  TL_ASSERT_OK(pool->Transact([&](pqxx::work& txn) {
    row = FindCustomer(txn, kTenant, id);
    return absl::OkStatus();
  }));
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->region, "华南");
  EXPECT_EQ(row->version, 7);
  EXPECT_TRUE(row->person_ids.empty());
}

}  // namespace
}  // namespace touchline::customers
