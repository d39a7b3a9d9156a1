#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/customers/bootstrap.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/ids/ids.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::customers {
namespace {

namespace cv1 = ::touchline::contacts::v1;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::touchline::testing::StatusIs;

// contacts' feed over a fixed list of snapshots: the token is the index of the next one.
class FakeFeed final : public CustomerFeed {
 public:
  absl::StatusOr<cv1::ListCustomerSnapshotsResponse> List(const std::string& page_token,
                                                          int page_size) override {
    absl::MutexLock lock(&mu_);
    asked_.push_back(page_token);
    if (fail_at_ == page_token) return absl::UnavailableError("contacts is down");
    size_t start = 0;
    if (!page_token.empty() && !absl::SimpleAtoi(page_token, &start)) {
      return absl::InvalidArgumentError("bad token");
    }
    cv1::ListCustomerSnapshotsResponse page;
    for (size_t i = start; i < snapshots_.size() && i < start + page_size; ++i) {
      *page.add_customers() = snapshots_[i];
    }
    if (start + page_size < snapshots_.size())
      page.set_next_page_token(absl::StrCat(start + page_size));
    return page;
  }

  void Add(const cv1::CustomerSnapshot& snapshot) {
    absl::MutexLock lock(&mu_);
    snapshots_.push_back(snapshot);
  }
  void FailAt(std::string token) {
    absl::MutexLock lock(&mu_);
    fail_at_ = std::move(token);
  }
  std::vector<std::string> asked() {
    absl::MutexLock lock(&mu_);
    return std::exchange(asked_, {});
  }

 private:
  absl::Mutex mu_;
  std::vector<cv1::CustomerSnapshot> snapshots_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> asked_ ABSL_GUARDED_BY(mu_);
  std::string fail_at_ ABSL_GUARDED_BY(mu_) = "never";
};

cv1::CustomerSnapshot Snapshot(const std::string& tenant, int64_t version,
                               const std::string& owner = "u1") {
  cv1::CustomerSnapshot s;
  s.set_tenant_id(tenant);
  s.set_customer_id(ids::NewUuid());
  s.set_state(cv1::CUSTOMER_STATE_ACTIVE);
  s.set_owner_id(owner);
  s.set_region("西南");
  s.set_version(version);
  return s;
}

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK(pg::ApplyMigrations(dsn_, schema_.name(), "inbox", events::InboxMigrations()));
    TL_ASSERT_OK(
        pg::ApplyMigrations(dsn_, schema_.name(), "customer_read_model", ReadModelMigrations()));
    pg::PoolOptions options;
    options.dsn = dsn_;
    options.search_path = schema_.name();
    options.size = 2;
    TL_ASSERT_OK_AND_ASSIGN(pool_, pg::Pool::Create(options));
    TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                            redis::ParseRedisAddress(touchline::testing::TestRedisAddr()));
    TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(redis_options));
    events::ConsumerOptions consumer_options;
    consumer_options.stream_prefix = prefix_;
    consumer_options.topic = "customers";
    consumer_options.group = "journeys";
    consumer_options.consumer = "c1";
    consumer_ = std::make_unique<events::StreamConsumer>(
        consumer_options, redis_.get(), pool_.get(),
        [](pqxx::work&, const events::v1::EventEnvelope&) { return absl::OkStatus(); });
    bootstrapper_ = std::make_unique<Bootstrapper>(
        pool_.get(), &feed_, &model_,
        CustomersStream{.ensure_group = [this] { return consumer_->EnsureGroup(); },
                        .lost_entry_id = [this] { return consumer_->LostEntryId(); }},
        BootstrapOptions{.page_size = 100});
  }

  redis::Reply Run(const std::vector<std::string>& argv) {
    absl::StatusOr<redis::Reply> reply = redis_->Command(argv);
    EXPECT_THAT(reply, touchline::testing::IsOk());
    EXPECT_FALSE(reply.ok() && reply->is_error()) << reply->str();
    return *std::move(reply);
  }

  int64_t Count(const std::string& sql) {
    int64_t n = 0;
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
      n = txn.exec(sql)[0][0].as<int64_t>();
      return absl::OkStatus();
    }));
    return n;
  }

  std::optional<CustomerRow> Find(const cv1::CustomerSnapshot& s) {
    std::optional<CustomerRow> row;
    TL_EXPECT_OK(pool_->Transact([&](pqxx::work& txn) {
      row = FindCustomer(txn, s.tenant_id(), s.customer_id());
      return absl::OkStatus();
    }));
    return row;
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  const std::string prefix_ = touchline::testing::UniqueRedisPrefix();
  const std::string key_ = events::StreamKey(prefix_, "customers");
  touchline::testing::ScopedSchema schema_{"bootstrap"};
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<events::StreamConsumer> consumer_;
  FakeFeed feed_;
  int changed_without_cause_ = 0;
  const ReadModel model_{[this](pqxx::work&, const CustomerRow*, const CustomerRow&,
                                const events::v1::EventEnvelope* cause) {
    if (cause == nullptr) ++changed_without_cause_;
    return absl::OkStatus();
  }};
  std::unique_ptr<Bootstrapper> bootstrapper_;
};

TEST_F(BootstrapTest, FirstStartBuildsTheWholeModelOnce) {
  for (int i = 0; i < 250; ++i) feed_.Add(Snapshot(i % 2 ? "acme" : "示例公司", 1 + i % 5));
  TL_ASSERT_OK_AND_ASSIGN(const BootstrapStep first, bootstrapper_->RunOnce());
  EXPECT_TRUE(first.started);
  EXPECT_TRUE(first.finished);
  EXPECT_EQ(first.applied, 250);
  EXPECT_THAT(feed_.asked(), ElementsAre("", "100", "200"));
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 250);
  EXPECT_EQ(Count("SELECT count(*) FROM customers WHERE tenant_id = '示例公司' AND "
                  "region = '西南'"),
            125);
  EXPECT_EQ(changed_without_cause_, 250);
  // The group exists before the first page is read.
  EXPECT_EQ(Run({"EXISTS", key_}).integer(), 1);

  TL_ASSERT_OK_AND_ASSIGN(const BootstrapStep again, bootstrapper_->RunOnce());
  EXPECT_FALSE(again.started);
  EXPECT_EQ(again.applied, 0);
  EXPECT_TRUE(feed_.asked().empty());
  EXPECT_EQ(Count("SELECT count(*) FROM customer_read_model_passes WHERE finish_time IS NOT NULL"),
            1);
}

TEST_F(BootstrapTest, ResumesAfterTheLastPageApplied) {
  for (int i = 0; i < 350; ++i) feed_.Add(Snapshot("acme", 1));
  feed_.FailAt("200");
  EXPECT_THAT(bootstrapper_->RunOnce(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(feed_.asked(), ElementsAre("", "100", "200"));
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 200);

  feed_.FailAt("never");
  TL_ASSERT_OK_AND_ASSIGN(const BootstrapStep step, bootstrapper_->RunOnce());
  EXPECT_FALSE(step.started);
  EXPECT_TRUE(step.finished);
  EXPECT_EQ(step.applied, 150);
  EXPECT_THAT(feed_.asked(), ElementsAre("200", "300"));
  EXPECT_EQ(Count("SELECT customers FROM customer_read_model_passes"), 350);
}

TEST_F(BootstrapTest, PagesNeverReplaceNewerRows) {
  cv1::CustomerSnapshot stale = Snapshot("acme", 3, "old-owner");
  cv1::CustomerSnapshot fresh = Snapshot("acme", 7, "new-owner");
  feed_.Add(stale);
  feed_.Add(fresh);
  // Events got there first: version 5 of both.
  for (cv1::CustomerSnapshot* s : {&stale, &fresh}) {
    cv1::CustomerSnapshot held = *s;
    held.set_version(5);
    held.set_owner_id("event-owner");
    TL_ASSERT_OK_AND_ASSIGN(const CustomerRow row, RowOf(held));
    TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) { return model_.Apply(txn, row).status(); }));
  }
  TL_ASSERT_OK_AND_ASSIGN(const BootstrapStep step, bootstrapper_->RunOnce());
  EXPECT_EQ(step.applied, 1);
  EXPECT_EQ(Find(stale)->owner_id, "event-owner");
  EXPECT_EQ(Find(fresh)->owner_id, "new-owner");
}

TEST_F(BootstrapTest, EntriesLostBeforeTheGroupReadThemStartAnotherPass) {
  feed_.Add(Snapshot("acme", 1));
  TL_ASSERT_OK_AND_ASSIGN(BootstrapStep step, bootstrapper_->RunOnce());
  ASSERT_TRUE(step.started);
  feed_.asked();

  // The group reads two of five entries; a MAXLEN cut then removes the next two unread.
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.emplace_back(Run({"XADD", key_, "*", "event", "x"}).str());
  Run({"XREADGROUP", "GROUP", "journeys", "c1", "COUNT", "2", "STREAMS", key_, ">"});
  TL_ASSERT_OK_AND_ASSIGN(std::string lost, consumer_->LostEntryId());
  EXPECT_EQ(lost, "");
  Run({"XTRIM", key_, "MAXLEN", "1"});
  TL_ASSERT_OK_AND_ASSIGN(lost, consumer_->LostEntryId());
  EXPECT_EQ(lost, ids[4]);  // the first entry left: those before it the group lost

  feed_.Add(Snapshot("acme", 1));
  TL_ASSERT_OK_AND_ASSIGN(step, bootstrapper_->RunOnce());
  EXPECT_TRUE(step.started);
  EXPECT_EQ(step.applied, 1);  // the customer added since the first pass
  EXPECT_EQ(Count("SELECT count(*) FROM customer_read_model_passes "
                  "WHERE reason LIKE '%lost entries%'"),
            1);
  // The same loss starts nothing more.
  TL_ASSERT_OK_AND_ASSIGN(step, bootstrapper_->RunOnce());
  EXPECT_FALSE(step.started);
}

TEST_F(BootstrapTest, TrimmingWhatTheGroupReadLosesNothing) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.emplace_back(Run({"XADD", key_, "*", "event", "x"}).str());
  TL_ASSERT_OK(consumer_->EnsureGroup());
  Run({"XREADGROUP", "GROUP", "journeys", "c1", "COUNT", "3", "STREAMS", key_, ">"});
  Run({"XTRIM", key_, "MINID", ids[2]});
  TL_ASSERT_OK_AND_ASSIGN(std::string lost, consumer_->LostEntryId());
  EXPECT_EQ(lost, "");
  // Deleting the unread last entry from inside the stream loses it.
  Run({"XDEL", key_, ids[3]});
  TL_ASSERT_OK_AND_ASSIGN(lost, consumer_->LostEntryId());
  EXPECT_EQ(lost, ids[3]);
}

TEST_F(BootstrapTest, AGroupMadeAfterAHeadCutHasLostWhatWasCut) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.emplace_back(Run({"XADD", key_, "*", "event", "x"}).str());
  TL_ASSERT_OK_AND_ASSIGN(std::string lost, consumer_->LostEntryId());
  EXPECT_EQ(lost, "");  // nothing cut yet
  Run({"XTRIM", key_, "MAXLEN", "1"});
  TL_ASSERT_OK_AND_ASSIGN(lost, consumer_->LostEntryId());
  EXPECT_EQ(lost, ids[2]);
}

TEST_F(BootstrapTest, BackgroundThreadFinishesAPassAndStops) {
  for (int i = 0; i < 120; ++i) feed_.Add(Snapshot("acme", 1));
  bootstrapper_->Start();
  for (int i = 0; i < 200 && Count("SELECT count(*) FROM customers") < 120; ++i) {
    absl::SleepFor(absl::Milliseconds(25));
  }
  bootstrapper_->Stop();
  EXPECT_EQ(Count("SELECT count(*) FROM customers"), 120);
  EXPECT_THAT(feed_.asked(), ElementsAre("", "100"));
}

}  // namespace
}  // namespace touchline::customers
