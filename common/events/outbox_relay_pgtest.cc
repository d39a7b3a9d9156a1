#include <google/protobuf/wrappers.pb.h>

#include <functional>
#include <memory>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/events/outbox.h"
#include "common/events/outbox_relay.h"
#include "common/events/stream_trimmer.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::events {
namespace {

using ::touchline::events::v1::EventEnvelope;
using ::touchline::testing::StatusIs;

// Polls `done` until it holds or `timeout` passes: for the relay's own thread, which reports
// progress only through PostgreSQL and Redis.
bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

struct StreamEntry {
  std::string event_id;
  std::string type;
  std::string tenant;
  std::string aggregate;
  std::string event;
};

class OutboxRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK(pg::ApplyMigrations(dsn_, schema_.name(), "outbox", OutboxMigrations()));
    pg::PoolOptions writer_options;
    writer_options.dsn = dsn_;
    writer_options.search_path = schema_.name();
    writer_options.size = 2;
    TL_ASSERT_OK_AND_ASSIGN(writer_, pg::Pool::Create(writer_options));
    TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                            redis::ParseRedisAddress(touchline::testing::TestRedisAddr()));
    TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(redis_options));
  }

  RelayOptions Options() const {
    RelayOptions options;
    options.dsn = dsn_;
    options.schema = schema_.name();
    options.stream_prefix = prefix_;
    options.batch_size = 3;
    options.poll_interval = absl::Milliseconds(20);
    options.max_backoff = absl::Milliseconds(200);
    return options;
  }

  // Appends one event to `topic` in a transaction of `writer` (the fixture's schema by
  // default) that commits, or rolls back when `commit` is false; returns its envelope.
  EventEnvelope Write(std::string_view topic, std::string_view aggregate_id, bool commit = true) {
    return Write(*writer_, topic, aggregate_id, commit);
  }
  static EventEnvelope Write(pg::Pool& writer, std::string_view topic,
                             std::string_view aggregate_id, bool commit = true) {
    google::protobuf::StringValue payload;
    payload.set_value("changed " + std::string(aggregate_id));
    const EventEnvelope event =
        MakeEnvelope(payload, "tenant-1", "customer", aggregate_id, "req-1", "user-1");
    const absl::Status status = writer.Transact([&](pqxx::work& txn) {
      AppendToOutbox(txn, topic, event);
      return commit ? absl::OkStatus() : absl::CancelledError("rolled back on purpose");
    });
    EXPECT_EQ(status.ok(), commit) << status;
    return event;
  }

  // Writes `count` committed events to `topic`; returns their ids in commit order.
  std::vector<std::string> WriteMany(std::string_view topic, int count) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) ids.push_back(Write(topic, std::to_string(i)).event_id());
    return ids;
  }

  // Writes `count` events to `topic` in one committed transaction.
  void WriteTogether(std::string_view topic, int count) {
    std::vector<EventEnvelope> events;
    for (int i = 0; i < count; ++i) {
      google::protobuf::StringValue payload;
      payload.set_value(absl::StrCat("changed ", i));
      events.push_back(
          MakeEnvelope(payload, "tenant-1", "customer", absl::StrCat(i), "req-1", "user-1"));
    }
    TL_ASSERT_OK(writer_->Transact([&](pqxx::work& txn) {
      AppendToOutbox(txn, topic, events);
      return absl::OkStatus();
    }));
  }

  // Writes 600 events to "contacts" in one transaction and publishes them with a relay whose
  // guard is `stream_max_len`; returns how many entries the stream holds then.
  size_t PublishSixHundred(long long stream_max_len) {
    WriteTogether("contacts", 600);
    RelayOptions options = Options();
    options.batch_size = 100;
    options.stream_max_len = stream_max_len;
    absl::StatusOr<int> published = OutboxRelay(options, redis_.get()).PublishPending();
    EXPECT_THAT(published, touchline::testing::IsOk());
    EXPECT_EQ(published.value_or(0), 600);
    return Stream("contacts").size();
  }

  std::vector<StreamEntry> Stream(redis::Pool& pool, std::string_view topic) const {
    std::vector<StreamEntry> entries;
    absl::StatusOr<redis::Reply> range =
        pool.Command({"XRANGE", StreamKey(prefix_, topic), "-", "+"});
    EXPECT_THAT(range, touchline::testing::IsOk());
    if (!range.ok()) return entries;
    for (size_t i = 0; i < range->size(); ++i) {
      const redis::ReplyView fields = (*range)[i][1];
      StreamEntry entry;
      for (size_t f = 0; f + 1 < fields.size(); f += 2) {
        const std::string_view name = fields[f].str();
        std::string value(fields[f + 1].str());
        if (name == "event_id") entry.event_id = std::move(value);
        if (name == "type") entry.type = std::move(value);
        if (name == "tenant") entry.tenant = std::move(value);
        if (name == "aggregate") entry.aggregate = std::move(value);
        if (name == "event") entry.event = std::move(value);
      }
      entries.push_back(std::move(entry));
    }
    return entries;
  }
  std::vector<StreamEntry> Stream(std::string_view topic) const { return Stream(*redis_, topic); }

  std::vector<std::string> EventIds(redis::Pool& pool, std::string_view topic) const {
    std::vector<std::string> ids;
    for (const StreamEntry& entry : Stream(pool, topic)) ids.push_back(entry.event_id);
    return ids;
  }
  std::vector<std::string> EventIds(std::string_view topic) const {
    return EventIds(*redis_, topic);
  }

  // Rows still in the outbox (-1 on error).
  long OutboxRows() {
    long rows = -1;
    TL_EXPECT_OK(writer_->Query([&rows](pqxx::nontransaction& txn) {
      rows = txn.exec("SELECT count(*) FROM outbox")[0][0].as<long>();
      return absl::OkStatus();
    }));
    return rows;
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  const std::string prefix_ = touchline::testing::UniqueRedisPrefix();
  touchline::testing::ScopedSchema schema_{"outbox"};
  std::unique_ptr<pg::Pool> writer_;
  std::unique_ptr<redis::Pool> redis_;
};

TEST_F(OutboxRelayTest, CommittedEventReachesItsStreamWithAllFields) {
  const EventEnvelope written = Write("contacts", "cust-1");
  OutboxRelay relay(Options(), redis_.get());
  TL_ASSERT_OK_AND_ASSIGN(const int published, relay.PublishPending());
  EXPECT_EQ(published, 1);

  const std::vector<StreamEntry> entries = Stream("contacts");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].event_id, written.event_id());
  EXPECT_EQ(entries[0].type, "google.protobuf.StringValue");
  EXPECT_EQ(entries[0].tenant, "tenant-1");
  EXPECT_EQ(entries[0].aggregate, "cust-1");
  EventEnvelope read;
  ASSERT_TRUE(read.ParseFromString(entries[0].event));
  EXPECT_EQ(read.SerializeAsString(), written.SerializeAsString());
  EXPECT_EQ(OutboxRows(), 0);
}

TEST_F(OutboxRelayTest, EventsAppendedTogetherArePublishedWholeAndInOrder) {
  std::vector<EventEnvelope> written;
  for (const char* customer : {"客户-1", "客户-2", "客户-3"}) {
    google::protobuf::StringValue payload;
    payload.set_value(std::string("新建 ") + customer);
    written.push_back(MakeEnvelope(payload, "tenant-1", "customer", customer, "req-1", "user-1"));
  }
  TL_ASSERT_OK(writer_->Transact([&](pqxx::work& txn) {
    AppendToOutbox(txn, "contacts", written);
    return absl::OkStatus();
  }));
  OutboxRelay relay(Options(), redis_.get());
  TL_ASSERT_OK_AND_ASSIGN(const int published, relay.PublishPending());
  EXPECT_EQ(published, 3);
  const std::vector<StreamEntry> entries = Stream("contacts");
  ASSERT_EQ(entries.size(), 3u);
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].aggregate, written[i].aggregate_id());
    EventEnvelope read;
    ASSERT_TRUE(read.ParseFromString(entries[i].event));
    EXPECT_EQ(read.SerializeAsString(), written[i].SerializeAsString());
  }
}

TEST_F(OutboxRelayTest, RolledBackEventIsNeverPublished) {
  Write("contacts", "cust-1", /*commit=*/false);
  OutboxRelay relay(Options(), redis_.get());
  TL_ASSERT_OK_AND_ASSIGN(const int published, relay.PublishPending());
  EXPECT_EQ(published, 0);
  EXPECT_TRUE(Stream("contacts").empty());
  EXPECT_EQ(OutboxRows(), 0);
}

TEST_F(OutboxRelayTest, EventsOfEachTopicKeepTheirOrderAcrossBatches) {
  std::vector<std::string> contacts, deals;
  for (int i = 0; i < 10; ++i) {
    contacts.push_back(Write("contacts", std::to_string(i)).event_id());
    if (i % 2 == 0) deals.push_back(Write("deals", std::to_string(i)).event_id());
  }
  OutboxRelay relay(Options(), redis_.get());  // Batches of 3.
  TL_ASSERT_OK_AND_ASSIGN(const int published, relay.PublishPending());
  EXPECT_EQ(published, 15);
  EXPECT_EQ(EventIds("contacts"), contacts);
  EXPECT_EQ(EventIds("deals"), deals);
  TL_ASSERT_OK_AND_ASSIGN(const int again, relay.PublishPending());
  EXPECT_EQ(again, 0);
}

TEST_F(OutboxRelayTest, RelaysOfTwoSchemasPublishingToOneTopicLoseAndRepeatNothing) {
  touchline::testing::ScopedSchema other_schema{"outbox"};
  TL_ASSERT_OK(pg::ApplyMigrations(dsn_, other_schema.name(), "outbox", OutboxMigrations()));
  pg::PoolOptions other_writer_options;
  other_writer_options.dsn = dsn_;
  other_writer_options.search_path = other_schema.name();
  other_writer_options.size = 1;
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<pg::Pool> other_writer,
                          pg::Pool::Create(other_writer_options));
  RelayOptions other_options = Options();
  other_options.schema = other_schema.name();
  OutboxRelay relay(Options(), redis_.get());  // Batches of 3.
  OutboxRelay other_relay(other_options, redis_.get());

  // Both schemas' batch sequences start at 1: with one state key per topic, the relay that
  // went second found its batch ids recorded already and published nothing.
  std::vector<std::string> ours, theirs;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) {
      ours.push_back(Write("audit", absl::StrCat("ours-", round, "-", i)).event_id());
      theirs.push_back(
          Write(*other_writer, "audit", absl::StrCat("theirs-", round, "-", i)).event_id());
    }
    OutboxRelay& first = round % 2 == 0 ? relay : other_relay;
    OutboxRelay& second = round % 2 == 0 ? other_relay : relay;
    TL_ASSERT_OK_AND_ASSIGN(const int by_first, first.PublishPending());
    TL_ASSERT_OK_AND_ASSIGN(const int by_second, second.PublishPending());
    EXPECT_EQ(by_first, 4);
    EXPECT_EQ(by_second, 4);
  }

  std::vector<std::string> ours_published, theirs_published;
  for (const StreamEntry& entry : Stream("audit")) {
    (entry.aggregate.rfind("ours-", 0) == 0 ? ours_published : theirs_published)
        .push_back(entry.event_id);
  }
  EXPECT_EQ(ours_published, ours);
  EXPECT_EQ(theirs_published, theirs);
  EXPECT_EQ(OutboxRows(), 0);
  TL_ASSERT_OK_AND_ASSIGN(const redis::Reply state,
                          redis_->Command({"MGET", RelayStateKey(prefix_, "audit", schema_.name()),
                                           RelayStateKey(prefix_, "audit", other_schema.name())}));
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state[0].str(), "6");  // Two batches of each schema per round.
  EXPECT_EQ(state[1].str(), "6");
}

TEST_F(OutboxRelayTest, RelayKilledBetweenPublishAndAckLeavesEachEventOnce) {
  const std::vector<std::string> written = WriteMany("contacts", 7);
  RelayOptions dying = Options();
  dying.after_publish_for_test = [](int64_t) { throw std::runtime_error("relay killed"); };
  {
    OutboxRelay relay(dying, redis_.get());
    EXPECT_THAT(relay.PublishPending(), StatusIs(absl::StatusCode::kInternal));
  }                                          // Its connection closes, and the lock with it.
  EXPECT_EQ(Stream("contacts").size(), 3u);  // The first batch got out...
  EXPECT_EQ(OutboxRows(), 7);                // ...but was not deleted.

  OutboxRelay next(Options(), redis_.get());
  TL_ASSERT_OK_AND_ASSIGN(const int published, next.PublishPending());
  EXPECT_EQ(published, 4);  // The leftover batch added nothing.
  EXPECT_EQ(EventIds("contacts"), written);
  EXPECT_EQ(OutboxRows(), 0);
}

TEST_F(OutboxRelayTest, BatchPlannedButNotPublishedIsPublishedByTheNextRelay) {
  const std::vector<std::string> written = WriteMany("contacts", 5);
  // What a relay that died right after planning leaves behind.
  TL_ASSERT_OK(writer_->Transact([](pqxx::work& txn) {
    txn.exec(
        "UPDATE outbox SET batch_id = (SELECT nextval('outbox_batch_seq'))"
        " WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT 2)");
    return absl::OkStatus();
  }));
  OutboxRelay relay(Options(), redis_.get());
  TL_ASSERT_OK_AND_ASSIGN(const int published, relay.PublishPending());
  EXPECT_EQ(published, 5);
  EXPECT_EQ(EventIds("contacts"), written);
}

TEST_F(OutboxRelayTest, StandbyRelayPublishesNothingUntilTheLeaderStops) {
  OutboxRelay leader(Options(), redis_.get());
  OutboxRelay standby(Options(), redis_.get());
  TL_ASSERT_OK(leader.PublishPending());  // Takes the lock.
  const std::vector<std::string> written = WriteMany("contacts", 2);
  TL_ASSERT_OK_AND_ASSIGN(const int by_standby, standby.PublishPending());
  EXPECT_EQ(by_standby, 0);
  EXPECT_EQ(OutboxRows(), 2);

  leader.Stop();  // Releases the lock.
  TL_ASSERT_OK_AND_ASSIGN(const int after_handover, standby.PublishPending());
  EXPECT_EQ(after_handover, 2);
  EXPECT_EQ(EventIds("contacts"), written);
}

TEST_F(OutboxRelayTest, TwoRunningRelaysPublishEachEventOnceAndInOrder) {
  OutboxRelay first(Options(), redis_.get());
  OutboxRelay second(Options(), redis_.get());
  first.Start();
  second.Start();
  std::vector<std::string> contacts, deals;
  for (int i = 0; i < 40; ++i) {
    contacts.push_back(Write("contacts", std::to_string(i)).event_id());
    if (i % 2 == 0) deals.push_back(Write("deals", std::to_string(i)).event_id());
    first.Wake();
    second.Wake();
    if (i == 20) first.Stop();  // If it was the leader, the other takes over.
  }
  ASSERT_TRUE(WaitUntil([&] {
    return OutboxRows() == 0 && Stream("contacts").size() >= contacts.size() &&
           Stream("deals").size() >= deals.size();
  }));
  second.Stop();
  EXPECT_EQ(EventIds("contacts"), contacts);
  EXPECT_EQ(EventIds("deals"), deals);
}

TEST_F(OutboxRelayTest, RelayWhoseConnectionIsKilledTakesTheLockAgain) {
  OutboxRelay relay(Options(), redis_.get());
  TL_ASSERT_OK(relay.PublishPending());
  {
    pqxx::connection admin(dsn_);
    pqxx::nontransaction txn(admin);
    // The session holding this schema's relay lock (two-key advisory locks have objsubid 2).
    txn.exec_params(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE locktype = 'advisory'"
        " AND objsubid = 2 AND objid::int = hashtext($1) AND granted",
        schema_.name());
  }
  const std::vector<std::string> written = WriteMany("contacts", 4);
  // The first pass may find the connection gone; the lock is taken again on a new one.
  const absl::StatusOr<int> first = relay.PublishPending();
  if (!first.ok()) {
    EXPECT_THAT(first, StatusIs(absl::StatusCode::kUnavailable));
    TL_ASSERT_OK_AND_ASSIGN(const int second, relay.PublishPending());
    EXPECT_EQ(second, 4);
  } else {
    EXPECT_EQ(*first, 4);
  }
  EXPECT_EQ(EventIds("contacts"), written);
}

TEST_F(OutboxRelayTest, EventsWrittenWhileRedisIsDownArePublishedOnceItIsBack) {
  touchline::testing::ThrowawayRedis server(/*append_only=*/true);
  TL_ASSERT_OK(server.Start());
  TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                          redis::ParseRedisAddress(server.address()));
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::Pool> redis, redis::Pool::Create(redis_options));
  OutboxRelay relay(Options(), redis.get());

  std::vector<std::string> written = WriteMany("contacts", 2);
  TL_ASSERT_OK_AND_ASSIGN(const int before_outage, relay.PublishPending());
  EXPECT_EQ(before_outage, 2);

  server.Stop();
  for (const std::string& id : WriteMany("contacts", 5)) written.push_back(id);
  EXPECT_THAT(relay.PublishPending(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(OutboxRows(), 5);  // Kept in PostgreSQL.

  TL_ASSERT_OK(server.Start());  // Same port, same data.
  TL_ASSERT_OK_AND_ASSIGN(const int after_outage, relay.PublishPending());
  EXPECT_EQ(after_outage, 5);
  EXPECT_EQ(EventIds(*redis, "contacts"), written);
  EXPECT_EQ(OutboxRows(), 0);
}

TEST_F(OutboxRelayTest, BackgroundRelayBacksOffWhileRedisIsDownAndCatchesUp) {
  touchline::testing::ThrowawayRedis server(/*append_only=*/true);
  TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                          redis::ParseRedisAddress(server.address()));
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::Pool> redis, redis::Pool::Create(redis_options));
  OutboxRelay relay(Options(), redis.get());
  relay.Start();  // Redis is not up yet.
  const std::vector<std::string> written = WriteMany("contacts", 8);
  relay.Wake();
  TL_ASSERT_OK(server.Start());
  ASSERT_TRUE(WaitUntil([&] { return OutboxRows() == 0; }));
  relay.Stop();
  EXPECT_EQ(EventIds(*redis, "contacts"), written);
}

TEST_F(OutboxRelayTest, GuardCutsTheStreamAtStreamMaxLenAndTheTrimmerSaysSo) {
  // A group that reads nothing: nothing but the guard may cut its events.
  TL_ASSERT_OK(
      redis_
          ->Command({"XGROUP", "CREATE", StreamKey(prefix_, "contacts"), "asleep", "0", "MKSTREAM"})
          .status());
  // Approximate trimming keeps at least the guard's length and at most one radix-tree node
  // more.
  const size_t left = PublishSixHundred(/*stream_max_len=*/100);
  EXPECT_GE(left, 100u);
  EXPECT_LT(left, 300u);

  TrimmerOptions trimmer_options;
  trimmer_options.stream_prefix = prefix_;
  trimmer_options.topics = {"contacts"};
  trimmer_options.stream_max_len = 100;
  ::testing::internal::CaptureStderr();
  TL_ASSERT_OK_AND_ASSIGN(const std::vector<StreamTrim> trims,
                          StreamTrimmer(trimmer_options, redis_.get()).TrimOnce());
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(trims.size(), 1u);
  ASSERT_EQ(trims[0].groups.size(), 1u);
  EXPECT_TRUE(trims[0].groups[0].at_guard);
  EXPECT_THAT(log, ::testing::HasSubstr("length guard"));
  EXPECT_THAT(log, ::testing::HasSubstr("asleep"));
}

TEST_F(OutboxRelayTest, ZeroStreamMaxLenKeepsEveryEvent) {
  EXPECT_EQ(PublishSixHundred(/*stream_max_len=*/0), 600u);
}

TEST_F(OutboxRelayTest, RejectsANegativeStreamMaxLen) {
  RelayOptions options = Options();
  options.stream_max_len = -1;
  EXPECT_THAT(OutboxRelay(options, redis_.get()).PublishPending(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::events
