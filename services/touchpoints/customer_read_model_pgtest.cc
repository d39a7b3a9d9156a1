// The customer read model of the touchpoints service, fed the way production feeds it:
// contacts-shaped events written to an outbox, relayed to the "customers" stream, consumed by
// the touchpoints group with the common consumer library, on real PostgreSQL and Redis.
#include <google/protobuf/util/time_util.h>

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/audit/audit.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/events/outbox_relay.h"
#include "common/ids/ids.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/touchpoints/customer_events.h"
#include "services/touchpoints/migrations.h"
#include "services/touchpoints/pg_touchpoint_store.h"
#include "services/touchpoints/touchpoint_manager.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::touchpoints {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::UnorderedElementsAreArray;
namespace ev = ::touchline::events::v1;
namespace cv1 = ::touchline::contacts::v1;

constexpr char kTenant[] = "tenant-rm";

cv1::Customer Customer(const std::string& id, int version,
                       cv1::CustomerState state = cv1::CUSTOMER_STATE_ACTIVE,
                       const std::string& merged_into = "") {
  cv1::Customer c;
  c.set_customer_id(id);
  c.set_display_name("客户 " + id.substr(0, 8));
  c.set_state(state);
  c.set_merged_into_customer_id(merged_into);
  c.set_etag(std::to_string(version));
  return c;
}

class CustomerReadModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& [schema, migrations, component] :
         {std::tuple{tp_schema_.name(), &pg::touchpoints_migrations(), "touchpoints"},
          std::tuple{tp_schema_.name(), &events::OutboxMigrations(), "outbox"},
          std::tuple{tp_schema_.name(), &events::InboxMigrations(), "inbox"},
          std::tuple{tp_schema_.name(), &enforcement::SharesMigrations(), "shares"},
          std::tuple{tp_schema_.name(), &customers::ReadModelMigrations(), "customer_read_model"},
          std::tuple{contacts_schema_.name(), &events::OutboxMigrations(), "outbox"}}) {
      TL_ASSERT_OK(pg::ApplyMigrations(dsn_, schema, component, *migrations));
    }
    TL_ASSERT_OK_AND_ASSIGN(tp_pool_, Pool(tp_schema_.name()));
    TL_ASSERT_OK_AND_ASSIGN(contacts_pool_, Pool(contacts_schema_.name()));
    TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                            redis::ParseRedisAddress(touchline::testing::TestRedisAddr()));
    TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(redis_options));
    store_ = std::make_unique<PgTouchpointStore>(tp_pool_.get(), [] {});
    TL_ASSERT_OK(store_->EnsurePartitions(absl::Now() - absl::Hours(24 * 40), absl::Now()));
    TL_ASSERT_OK_AND_ASSIGN(admin_,
                            auth::Scope::Compile(auth::testing::AdminScope(kTenant, "rep-1")));
    TL_ASSERT_OK_AND_ASSIGN(audit_, audit::AuditPublisher::Create({}, redis_.get()));
    manager_ = std::make_unique<TouchpointManager>(
        store_.get(), audit_.get(), ValidationOptions{},
        paging::PageTokens(std::string(paging::kTokenKeyBytes, 'k')), [] { return absl::Now(); });
    TL_ASSERT_OK(tp_pool_->Transact([](pqxx::work& txn) {
      txn.exec("CREATE TABLE apply_log (event_id text NOT NULL)");
      return absl::OkStatus();
    }));
  }

  absl::StatusOr<std::unique_ptr<pg::Pool>> Pool(const std::string& schema) {
    pg::PoolOptions options;
    options.dsn = dsn_;
    options.search_path = schema;
    options.prepared = PgTouchpointStore::PreparedStatements();
    options.settings = PgTouchpointStore::ConnectionSettings();
    options.size = 4;
    return pg::Pool::Create(options);
  }

  // What contacts does: the event into its outbox, in a transaction of its own.
  void Publish(const google::protobuf::Message& payload, const std::string& customer_id) {
    const ev::EventEnvelope envelope =
        events::MakeEnvelope(payload, kTenant, "customer", customer_id, "req", "user");
    TL_ASSERT_OK(contacts_pool_->Transact([&](pqxx::work& txn) {
      events::AppendToOutbox(txn, "customers", envelope);
      return absl::OkStatus();
    }));
  }
  void Created(const cv1::Customer& c) {
    ev::CustomerCreated e;
    *e.mutable_customer() = c;
    Publish(e, c.customer_id());
  }

  events::RelayOptions RelayOptions() const {
    events::RelayOptions options;
    options.dsn = dsn_;
    options.schema = contacts_schema_.name();
    options.stream_prefix = prefix_;
    options.batch_size = 2;
    return options;
  }

  // The touchpoints group's consumer; every apply also logs the event id in apply_log, in
  // the same transaction, so the log shows what was applied and committed.
  std::unique_ptr<events::StreamConsumer> Consumer(const std::string& name) {
    events::ConsumerOptions options;
    options.stream_prefix = prefix_;
    options.topic = "customers";
    options.group = "touchpoints";
    options.consumer = name;
    options.claim_idle = absl::ZeroDuration();
    return std::make_unique<events::StreamConsumer>(
        options, redis_.get(), tp_pool_.get(),
        [this](pqxx::work& txn, const ev::EventEnvelope& event) -> absl::Status {
          txn.exec_params("INSERT INTO apply_log VALUES ($1)", event.event_id());
          return CustomerReadModel().ApplyEvent(txn, event);
        });
  }

  // Relays everything in the contacts outbox and applies it.
  void Deliver() {
    events::OutboxRelay relay(RelayOptions(), redis_.get());
    TL_ASSERT_OK(relay.PublishPending().status());
    TL_ASSERT_OK(Consumer("c1")->PollOnce().status());
  }

  absl::StatusOr<Recorded> TryRecord(const std::string& customer_id, absl::Duration ago) {
    v1::RecordTouchpointRequest request;
    v1::Touchpoint* t = request.mutable_touchpoint();
    t->set_customer_id(customer_id);
    *t->mutable_occur_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() - ago));
    t->set_channel(v1::CHANNEL_PHONE);
    t->set_category(v1::CATEGORY_SALES);
    t->set_subject("电话回访");
    absl::Notification done;
    absl::StatusOr<Recorded> result;
    const auth::RequestContext caller{.tenant_id = kTenant,
                                      .caller_id = "rep-1",
                                      .request_id = "req",
                                      .scope = admin_,
                                      .client = ""};
    manager_->Record(caller, request, [&](absl::StatusOr<Recorded> r) {
      result = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }
  std::string Record(const std::string& customer_id, absl::Duration ago = absl::Hours(1)) {
    absl::StatusOr<Recorded> result = TryRecord(customer_id, ago);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->touchpoint.touchpoint_id() : "";
  }

  std::vector<std::string> Timeline(const std::string& customer_id) {
    absl::StatusOr<TouchpointPage> page =
        store_->List(*admin_, kTenant, customer_id, v1::TouchpointFilter(), 1000, std::nullopt);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> ids;
    if (page.ok()) {
      for (const v1::Touchpoint& t : page->touchpoints) ids.push_back(t.touchpoint_id());
    }
    return ids;
  }

  std::vector<ev::TouchpointsReassigned> Reassigned() {
    std::vector<ev::TouchpointsReassigned> moves;
    TL_EXPECT_OK(tp_pool_->Query([&](pqxx::nontransaction& txn) {
      for (const auto& row : txn.exec("SELECT envelope FROM outbox ORDER BY id")) {
        const pqxx::binarystring bytes(row[0]);
        ev::EventEnvelope envelope;
        envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
        ev::TouchpointsReassigned moved;
        if (envelope.payload().UnpackTo(&moved) &&
            envelope.payload().Is<ev::TouchpointsReassigned>()) {
          moves.push_back(moved);
        }
      }
      return absl::OkStatus();
    }));
    return moves;
  }

  long Count(const std::string& sql) {
    long n = -1;
    TL_EXPECT_OK(tp_pool_->Query([&](pqxx::nontransaction& txn) {
      n = txn.exec(sql)[0][0].as<long>();
      return absl::OkStatus();
    }));
    return n;
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  const std::string prefix_ = touchline::testing::UniqueRedisPrefix();
  touchline::testing::ScopedSchema tp_schema_{"tp_rm"};
  touchline::testing::ScopedSchema contacts_schema_{"ct_rm"};
  std::unique_ptr<pg::Pool> tp_pool_;
  std::unique_ptr<pg::Pool> contacts_pool_;
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<PgTouchpointStore> store_;
  std::shared_ptr<const auth::Scope> admin_;
  std::unique_ptr<audit::AuditPublisher> audit_;
  std::unique_ptr<TouchpointManager> manager_;
};

TEST_F(CustomerReadModelTest, CustomerCreatedInContactsCanBeRecordedAgainst) {
  const std::string id = ids::NewUuid(absl::Now());
  EXPECT_THAT(TryRecord(id, absl::Hours(1)),  // Not known yet.
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument));
  Created(Customer(id, 1));
  Deliver();
  EXPECT_NE(Record(id), "");
}

TEST_F(CustomerReadModelTest, OlderVersionArrivingLateDoesNotUndoANewerOne) {
  const std::string id = ids::NewUuid(absl::Now());
  ev::CustomerDeleted deleted;
  *deleted.mutable_customer() = Customer(id, 3, cv1::CUSTOMER_STATE_DELETED);
  Publish(deleted, id);
  ev::CustomerUpdated stale;
  *stale.mutable_customer() = Customer(id, 2);
  Publish(stale, id);
  Deliver();
  EXPECT_EQ(Count("SELECT state FROM customers"), cv1::CUSTOMER_STATE_DELETED);
  EXPECT_EQ(Count("SELECT version FROM customers"), 3);
}

TEST_F(CustomerReadModelTest, MergeMovesTouchpointsToTheSurvivorAndUnmergeMovesThemBack) {
  const std::string a = ids::NewUuid(absl::Now());
  const std::string b = ids::NewUuid(absl::Now());
  const std::string c = ids::NewUuid(absl::Now());
  for (const std::string& id : {a, b, c}) Created(Customer(id, 1));
  Deliver();
  const std::vector<std::string> of_a = {Record(a), Record(a, absl::Hours(24 * 35))};
  const std::vector<std::string> of_b = {Record(b)};
  const std::vector<std::string> of_c = {Record(c)};

  // c into a, then a into b (merge ids are UUIDs, as contacts makes them).
  const std::string m1 = ids::NewUuid(), m2 = ids::NewUuid();
  ev::CustomersMerged c_into_a;
  c_into_a.mutable_merge()->set_merge_id(m1);
  *c_into_a.mutable_survivor() = Customer(a, 2);
  *c_into_a.mutable_merged() = Customer(c, 2, cv1::CUSTOMER_STATE_MERGED, a);
  Publish(c_into_a, a);
  ev::CustomersMerged a_into_b;
  a_into_b.mutable_merge()->set_merge_id(m2);
  *a_into_b.mutable_survivor() = Customer(b, 2);
  *a_into_b.mutable_merged() = Customer(a, 3, cv1::CUSTOMER_STATE_MERGED, b);
  Publish(a_into_b, b);
  Deliver();
  std::vector<std::string> all = of_a;
  all.insert(all.end(), of_b.begin(), of_b.end());
  all.insert(all.end(), of_c.begin(), of_c.end());
  EXPECT_THAT(Timeline(b), UnorderedElementsAreArray(all));
  EXPECT_TRUE(Timeline(a).empty());
  EXPECT_TRUE(Timeline(c).empty());
  // A touchpoint recorded later for the merged customer lands on the survivor.
  const std::string late = Record(c);
  all.push_back(late);
  EXPECT_THAT(Timeline(b), UnorderedElementsAreArray(all));

  // Undo a into b: a gets back its own touchpoints and those of c (merged into a), and the
  // one recorded for c after the merge.
  ev::CustomersUnmerged undo;
  undo.mutable_merge()->set_merge_id(m2);
  *undo.mutable_survivor() = Customer(b, 3);
  *undo.mutable_restored() = Customer(a, 4);
  Publish(undo, b);
  Deliver();
  std::vector<std::string> back = of_a;
  back.insert(back.end(), of_c.begin(), of_c.end());
  back.push_back(late);
  EXPECT_THAT(Timeline(a), UnorderedElementsAreArray(back));
  EXPECT_THAT(Timeline(b), UnorderedElementsAreArray(of_b));

  const std::vector<ev::TouchpointsReassigned> moves = Reassigned();
  ASSERT_EQ(moves.size(), 3u);
  EXPECT_EQ(moves[0].to_customer_id(), a);  // c's one touchpoint.
  EXPECT_EQ(moves[0].count(), 1);
  EXPECT_EQ(moves[0].merge_id(), m1);
  EXPECT_EQ(moves[1].from_customer_id(), a);
  EXPECT_EQ(moves[1].to_customer_id(), b);
  EXPECT_EQ(moves[1].count(), 3);
  EXPECT_EQ(moves[2].from_customer_id(), b);
  EXPECT_EQ(moves[2].to_customer_id(), a);
  EXPECT_EQ(moves[2].count(), 4);
  EXPECT_EQ(moves[2].merge_id(), m2);
}

TEST_F(CustomerReadModelTest, RelayKilledMidPublishLosesNothingAndNothingIsAppliedTwice) {
  std::vector<std::string> customers;
  for (int i = 0; i < 7; ++i) {
    customers.push_back(ids::NewUuid(absl::Now()));
    Created(Customer(customers.back(), 1));
  }
  events::RelayOptions dying = RelayOptions();
  dying.after_publish_for_test = [](int64_t) { throw std::runtime_error("relay killed"); };
  {
    events::OutboxRelay relay(dying, redis_.get());
    EXPECT_FALSE(relay.PublishPending().ok());
  }
  // A consumer applies the batch that got out before the relay died...
  TL_ASSERT_OK(Consumer("c1")->PollOnce().status());
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 2);
  // ...the next relay publishes the rest, without repeating that batch...
  events::OutboxRelay relay(RelayOptions(), redis_.get());
  TL_ASSERT_OK(relay.PublishPending().status());
  // ...and two consumers, one of them re-reading the stream from the start under a new group
  // position, apply each event exactly once.
  TL_ASSERT_OK(Consumer("c2")->PollOnce().status());
  TL_ASSERT_OK(redis_
                   ->Command({"XGROUP", "SETID", events::StreamKey(prefix_, "customers"),
                              "touchpoints", "0"})
                   .status());
  TL_ASSERT_OK(Consumer("c1")->PollOnce().status());
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 7);
  EXPECT_EQ(Count("SELECT count(*) FROM apply_log"), 7);
  EXPECT_EQ(Count("SELECT count(DISTINCT event_id) FROM apply_log"), 7);
  TL_ASSERT_OK_AND_ASSIGN(
      const std::vector<ev::EventEnvelope> stream,
      touchline::testing::ReadEnvelopes(*redis_, events::StreamKey(prefix_, "customers")));
  EXPECT_EQ(stream.size(), 7u);
}

}  // namespace
}  // namespace touchline::touchpoints
