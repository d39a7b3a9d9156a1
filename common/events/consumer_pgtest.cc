#include <google/protobuf/wrappers.pb.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <pqxx/result>
#include <pqxx/transaction>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/metrics/metrics.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "common/status/macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::events {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::touchline::events::v1::EventEnvelope;

constexpr char kTopic[] = "customers";
constexpr char kGroup[] = "touchpoints";

// Polls `done` until it holds or `timeout` passes: for the consumer's own thread, which
// reports progress only through PostgreSQL.
bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

class StreamConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK(pg::ApplyMigrations(dsn_, schema_.name(), "inbox", InboxMigrations()));
    pg::PoolOptions pg_options;
    pg_options.dsn = dsn_;
    pg_options.search_path = schema_.name();
    pg_options.size = 4;
    TL_ASSERT_OK_AND_ASSIGN(pg_, pg::Pool::Create(pg_options));
    // What the ApplyFn of these tests writes: one row per application, no uniqueness, so a
    // second application of an event would show.
    TL_ASSERT_OK(pg_->Transact([](pqxx::work& txn) {
      txn.exec("CREATE TABLE effects (event_id uuid NOT NULL, aggregate_id text NOT NULL)");
      return absl::OkStatus();
    }));
    TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                            redis::ParseRedisAddress(touchline::testing::TestRedisAddr()));
    redis_options.pool_size = 8;
    TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(redis_options));
  }

  ConsumerOptions Options(std::string consumer = "c1",
                          absl::Duration claim_idle = absl::Seconds(30)) const {
    ConsumerOptions options;
    options.claim_idle = claim_idle;
    options.stream_prefix = prefix_;
    options.topic = kTopic;
    options.group = kGroup;
    options.consumer = std::move(consumer);
    options.batch_size = 4;
    options.block = absl::Milliseconds(50);
    options.max_backoff = absl::Milliseconds(100);
    return options;
  }

  std::unique_ptr<StreamConsumer> Consumer(ConsumerOptions options, ApplyFn apply) {
    return std::make_unique<StreamConsumer>(std::move(options), redis_.get(), pg_.get(),
                                            std::move(apply));
  }
  std::unique_ptr<StreamConsumer> BatchConsumer(ConsumerOptions options, BatchApplyFn apply) {
    return std::make_unique<StreamConsumer>(std::move(options), redis_.get(), pg_.get(),
                                            std::move(apply));
  }
  // A batched consumer whose apply records each event in `effects`.
  std::unique_ptr<StreamConsumer> BatchConsumer(ConsumerOptions options) {
    return BatchConsumer(std::move(options), RecordEffects);
  }
  // A consumer whose apply records the event in `effects`.
  std::unique_ptr<StreamConsumer> Consumer(ConsumerOptions options) {
    return Consumer(std::move(options), RecordEffect);
  }

  static absl::Status RecordEffect(pqxx::work& txn, const EventEnvelope& event) {
    txn.exec_params("INSERT INTO effects (event_id, aggregate_id) VALUES ($1, $2)",
                    event.event_id(), event.aggregate_id());
    return absl::OkStatus();
  }

  static absl::Status RecordEffects(pqxx::work& txn, std::span<const EventEnvelope* const> events) {
    for (const EventEnvelope* event : events) TL_RETURN_IF_ERROR(RecordEffect(txn, *event));
    return absl::OkStatus();
  }

  static std::vector<std::string> Aggregates(std::span<const EventEnvelope* const> events) {
    std::vector<std::string> aggregates;
    for (const EventEnvelope* event : events) aggregates.push_back(event->aggregate_id());
    return aggregates;
  }

  static EventEnvelope Envelope(std::string_view aggregate_id) {
    google::protobuf::StringValue payload;
    payload.set_value("changed " + std::string(aggregate_id));
    return MakeEnvelope(payload, "tenant-1", "customer", aggregate_id, "req-1", "user-1");
  }

  // Adds `event` to the topic's stream with the fields the relay writes, as entry `id` (by
  // default the next one); returns the entry id.
  std::string Publish(const EventEnvelope& event, const std::string& id = "*") {
    return Add(id, {"event_id", event.event_id(), "type", event.event_type(), "tenant",
                event.tenant_id(), "aggregate", event.aggregate_id(), "event",
                event.SerializeAsString()});
  }

  // Publishes events for aggregates "c0", "c1", ...; returns the aggregate ids.
  std::vector<std::string> PublishMany(int count) {
    std::vector<std::string> aggregates;
    for (int i = 0; i < count; ++i) {
      aggregates.push_back(absl::StrCat("c", i));
      Publish(Envelope(aggregates.back()));
    }
    return aggregates;
  }

  std::string Add(const std::vector<std::string>& fields) { return Add("*", fields); }
  // As above with the entry id `id`: an explicit one, or "*" for the next.
  std::string Add(const std::string& id, const std::vector<std::string>& fields) {
    std::vector<std::string> argv = {"XADD", StreamKey(prefix_, kTopic), id};
    argv.insert(argv.end(), fields.begin(), fields.end());
    absl::StatusOr<redis::Reply> reply = redis_->Command(argv);
    EXPECT_THAT(reply, touchline::testing::IsOk());
    return reply.ok() ? std::string(reply->str()) : "";
  }

  // The group's pending entries.
  long long PendingCount() {
    absl::StatusOr<redis::Reply> reply =
        redis_->Command({"XPENDING", StreamKey(prefix_, kTopic), kGroup});
    EXPECT_THAT(reply, touchline::testing::IsOk());
    return reply.ok() && reply->is_array() ? (*reply)[0].integer() : -1;
  }

  // aggregate_id -> how many times it was applied.
  std::map<std::string, int> Effects() {
    std::map<std::string, int> effects;
    TL_EXPECT_OK(pg_->Transact([&](pqxx::work& txn) {
      for (const auto& row : txn.exec("SELECT aggregate_id, count(*) FROM effects GROUP BY 1")) {
        effects[row[0].as<std::string>()] = row[1].as<int>();
      }
      return absl::OkStatus();
    }));
    return effects;
  }

  // Each of `aggregates` (and nothing else) was applied exactly once, and nothing is pending.
  // Two consumers ("a" and "b", claim_idle 0, made by `make`) poll at once until `events`
  // were applied between them; how many were.
  int ApplyWithTwoConsumers(
      int events, const std::function<std::unique_ptr<StreamConsumer>(ConsumerOptions)>& make) {
    std::atomic<int> applied{0};
    std::vector<std::thread> threads;
    for (const char* name : {"a", "b"}) {
      threads.emplace_back([&, name] {
        ConsumerOptions options = Options(name, absl::ZeroDuration());
        options.max_deliveries = 1000;
        const std::unique_ptr<StreamConsumer> consumer = make(std::move(options));
        WaitUntil([&] {
          absl::StatusOr<int> pass = consumer->PollOnce();
          EXPECT_THAT(pass, touchline::testing::IsOk());
          applied += pass.value_or(0);
          return applied.load() >= events;
        });
      });
    }
    for (std::thread& thread : threads) thread.join();
    return applied.load();
  }

  void ExpectEachAppliedOnceAndAcked(const std::vector<std::string>& aggregates) {
    std::map<std::string, int> once;
    for (const std::string& aggregate : aggregates) once[aggregate] = 1;
    EXPECT_EQ(Effects(), once);
    EXPECT_EQ(PendingCount(), 0);
  }

  int EffectCount() {
    int count = 0;
    for (const auto& [aggregate, times] : Effects()) count += times;
    return count;
  }

  // The dead-letter stream's entries as field -> value maps.
  std::vector<std::map<std::string, std::string>> DeadLetters() {
    std::vector<std::map<std::string, std::string>> letters;
    absl::StatusOr<redis::Reply> range =
        redis_->Command({"XRANGE", DeadLetterKey(prefix_, kTopic, kGroup), "-", "+"});
    EXPECT_THAT(range, touchline::testing::IsOk());
    if (!range.ok()) return letters;
    for (size_t i = 0; i < range->size(); ++i) {
      const redis::ReplyView fields = (*range)[i][1];
      auto& letter = letters.emplace_back();
      for (size_t f = 0; f + 1 < fields.size(); f += 2) {
        letter[std::string(fields[f].str())] = std::string(fields[f + 1].str());
      }
    }
    return letters;
  }

  // The value of counter `name` for this fixture's topic and group (0 when it has none yet).
  static double CounterValue(const std::string& name) {
    for (const prometheus::MetricFamily& family : metrics::DefaultRegistry().Collect()) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        std::map<std::string, std::string> labels;
        for (const auto& label : metric.label) labels[label.name] = label.value;
        if (labels == std::map<std::string, std::string>{{"topic", kTopic}, {"group", kGroup}}) {
          return metric.counter.value;
        }
      }
    }
    return 0;
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"consumer"};
  const std::string prefix_ = touchline::testing::UniqueRedisPrefix();
  std::unique_ptr<pg::Pool> pg_;
  std::unique_ptr<redis::Pool> redis_;
};

TEST(DeadLetterKeyTest, SharesTheStreamsHashTag) {
  EXPECT_EQ(DeadLetterKey("touchline", "customers", "touchpoints"),
            "touchline:{customers}:dead:touchpoints");
}

TEST_F(StreamConsumerTest, AppliesEachEventOnceAndAcksIt) {
  const std::vector<std::string> aggregates = PublishMany(10);
  auto consumer = Consumer(Options());

  // batch_size is 4: one pass drains all ten.
  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
  EXPECT_EQ(applied, 10);
  ExpectEachAppliedOnceAndAcked(aggregates);

  TL_ASSERT_OK_AND_ASSIGN(const int again, consumer->PollOnce());
  EXPECT_EQ(again, 0);
  EXPECT_EQ(EffectCount(), 10);
}

TEST_F(StreamConsumerTest, RedeliveredEventIsAppliedOnce) {
  const EventEnvelope event = Envelope("c1");
  Publish(event);
  auto consumer = Consumer(Options());
  TL_ASSERT_OK_AND_ASSIGN(const int first, consumer->PollOnce());
  EXPECT_EQ(first, 1);

  // The relay never adds an event twice, but Redis could lose an ack on failover: the same
  // event arriving again is skipped and acknowledged.
  Publish(event);
  TL_ASSERT_OK_AND_ASSIGN(const int second, consumer->PollOnce());
  EXPECT_EQ(second, 0);
  ExpectEachAppliedOnceAndAcked({"c1"});
}

TEST_F(StreamConsumerTest, EntryCommittedButNotAckedIsSkippedOnRedelivery) {
  const EventEnvelope event = Envelope("c1");
  Publish(event);
  // What a consumer that died between its commit and its XACK leaves: the event recorded in
  // the inbox (with its effect) and the entry pending on it.
  TL_ASSERT_OK(pg_->Transact([&](pqxx::work& txn) {
    txn.exec_params("INSERT INTO applied_events (consumer_group, event_id) VALUES ($1, $2)", kGroup,
                    event.event_id());
    return RecordEffect(txn, event);
  }));
  TL_ASSERT_OK(
      redis_->Command({"XGROUP", "CREATE", StreamKey(prefix_, kTopic), kGroup, "0"}).status());
  TL_ASSERT_OK(redis_
                   ->Command({"XREADGROUP", "GROUP", kGroup, "crashed", "STREAMS",
                              StreamKey(prefix_, kTopic), ">"})
                   .status());
  ASSERT_EQ(PendingCount(), 1);

  auto consumer = Consumer(Options("c2", absl::ZeroDuration()));
  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
  EXPECT_EQ(applied, 0);
  ExpectEachAppliedOnceAndAcked({"c1"});
}

TEST_F(StreamConsumerTest, FailedApplyStaysPendingAndIsRetried) {
  Publish(Envelope("c1"));
  int calls = 0;
  auto consumer = Consumer(Options("c1", absl::ZeroDuration()),
                           [&](pqxx::work& txn, const EventEnvelope& event) {
                             ++calls;
                             // Written, then rolled back with the failure.
                             TL_RETURN_IF_ERROR(RecordEffect(txn, event));
                             if (calls == 1) return absl::UnavailableError("downstream is down");
                             return absl::OkStatus();
                           });

  TL_ASSERT_OK_AND_ASSIGN(const int first, consumer->PollOnce());
  EXPECT_EQ(first, 0);
  EXPECT_EQ(EffectCount(), 0);
  EXPECT_EQ(PendingCount(), 1);

  TL_ASSERT_OK_AND_ASSIGN(const int second, consumer->PollOnce());
  EXPECT_EQ(second, 1);
  EXPECT_EQ(calls, 2);
  ExpectEachAppliedOnceAndAcked({"c1"});
}

TEST_F(StreamConsumerTest, FailedApplyIsNotRetriedBeforeClaimIdle) {
  Publish(Envelope("c1"));
  int calls = 0;
  auto consumer = Consumer(Options("c1", absl::Hours(1)), [&](pqxx::work&, const EventEnvelope&) {
    ++calls;
    return absl::InternalError("bug");
  });
  TL_ASSERT_OK_AND_ASSIGN(const int first, consumer->PollOnce());
  TL_ASSERT_OK_AND_ASSIGN(const int second, consumer->PollOnce());
  EXPECT_EQ(first + second, 0);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(PendingCount(), 1);
}

TEST_F(StreamConsumerTest, EntryIsDeadLetteredAfterMaxDeliveries) {
  const EventEnvelope event = Envelope("c1");
  Publish(event);
  int calls = 0;
  ConsumerOptions options = Options("c1", absl::ZeroDuration());
  options.max_deliveries = 3;
  auto consumer = Consumer(options, [&](pqxx::work&, const EventEnvelope&) {
    ++calls;
    return absl::FailedPreconditionError(absl::StrCat("attempt ", calls, " failed"));
  });

  for (int pass = 0; pass < 5; ++pass) {
    TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
    EXPECT_EQ(applied, 0);
  }
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(EffectCount(), 0);
  const auto letters = DeadLetters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_THAT(letters[0], Contains(Pair("event_id", event.event_id())));
  EXPECT_THAT(letters[0], Contains(Pair("type", event.event_type())));
  EXPECT_THAT(letters[0], Contains(Pair("tenant", "tenant-1")));
  EXPECT_THAT(letters[0], Contains(Pair("aggregate", "c1")));
  EXPECT_THAT(letters[0], Contains(Pair("event", event.SerializeAsString())));
  EXPECT_THAT(letters[0], Contains(Pair("group", kGroup)));
  EXPECT_THAT(letters[0], Contains(Pair("error", HasSubstr("attempt 3 failed"))));
}

TEST_F(StreamConsumerTest, UnparseableEntryIsDeadLetteredAtOnce) {
  Add({"event_id", "x", "event", "not a protobuf \xff\xff"});
  Publish(Envelope("c1"));
  int calls = 0;
  auto consumer = Consumer(Options(), [&](pqxx::work& txn, const EventEnvelope& event) {
    ++calls;
    return RecordEffect(txn, event);
  });

  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
  EXPECT_EQ(applied, 1);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(PendingCount(), 0);
  const auto letters = DeadLetters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_THAT(letters[0], Contains(Pair("event_id", "x")));
  EXPECT_THAT(letters[0], Contains(Pair("error", HasSubstr("EventEnvelope"))));
}

TEST_F(StreamConsumerTest, EntryPendingOnDeadConsumerIsTakenOver) {
  const std::vector<std::string> aggregates = PublishMany(3);
  // Consumer "a" reads the entries and dies without acknowledging them.
  TL_ASSERT_OK(
      redis_->Command({"XGROUP", "CREATE", StreamKey(prefix_, kTopic), kGroup, "0"}).status());
  TL_ASSERT_OK(redis_
                   ->Command({"XREADGROUP", "GROUP", kGroup, "a", "STREAMS",
                              StreamKey(prefix_, kTopic), ">"})
                   .status());
  ASSERT_EQ(PendingCount(), 3);

  // Not idle long enough yet: "b" leaves them to "a".
  TL_ASSERT_OK_AND_ASSIGN(const int none, Consumer(Options("b", absl::Hours(1)))->PollOnce());
  EXPECT_EQ(none, 0);
  EXPECT_EQ(PendingCount(), 3);

  auto consumer = Consumer(Options("b", absl::Milliseconds(50)));
  int applied = 0;
  EXPECT_TRUE(WaitUntil([&] {
    absl::StatusOr<int> pass = consumer->PollOnce();
    EXPECT_THAT(pass, touchline::testing::IsOk());
    applied += pass.value_or(0);
    return applied == 3;
  }));
  ExpectEachAppliedOnceAndAcked(aggregates);
}

TEST_F(StreamConsumerTest, ConcurrentConsumersApplyEachEventExactlyOnce) {
  constexpr int kEvents = 200;
  const std::vector<std::string> aggregates = PublishMany(kEvents);

  // claim_idle 0 makes them take entries from each other while they are being applied, so
  // only the inbox keeps an event from being applied twice.
  const int applied = ApplyWithTwoConsumers(
      kEvents, [this](ConsumerOptions options) { return Consumer(std::move(options)); });

  EXPECT_EQ(applied, kEvents);
  ExpectEachAppliedOnceAndAcked(aggregates);
  EXPECT_TRUE(DeadLetters().empty());
}

TEST_F(StreamConsumerTest, BatchedConsumerAppliesTheEntriesOfOneReadInOneTransaction) {
  const std::vector<std::string> aggregates = PublishMany(10);
  std::vector<std::vector<std::string>> calls;
  std::set<std::string> transactions;
  auto consumer =
      BatchConsumer(Options(), [&](pqxx::work& txn, std::span<const EventEnvelope* const> events) {
        calls.push_back(Aggregates(events));
        transactions.insert(txn.exec("SELECT txid_current()::text")[0][0].as<std::string>());
        return RecordEffects(txn, events);
      });

  // batch_size is 4.
  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
  EXPECT_EQ(applied, 10);
  EXPECT_THAT(calls, ElementsAre(ElementsAre("c0", "c1", "c2", "c3"),
                                 ElementsAre("c4", "c5", "c6", "c7"), ElementsAre("c8", "c9")));
  EXPECT_EQ(transactions.size(), 3u);
  ExpectEachAppliedOnceAndAcked(aggregates);
}

TEST_F(StreamConsumerTest, BatchedConsumerHandsOnlyEventsNewToTheGroupToApply) {
  const EventEnvelope c1 = Envelope("c1");
  const EventEnvelope c2 = Envelope("c2");
  Publish(c1);
  Publish(c2);
  std::vector<std::vector<std::string>> calls;
  ConsumerOptions options = Options();
  options.batch_size = 16;
  auto consumer =
      BatchConsumer(options, [&](pqxx::work& txn, std::span<const EventEnvelope* const> events) {
        calls.push_back(Aggregates(events));
        return RecordEffects(txn, events);
      });
  TL_ASSERT_OK_AND_ASSIGN(const int first, consumer->PollOnce());
  EXPECT_EQ(first, 2);

  // Redelivered among new ones, and one new event twice in the same read.
  const EventEnvelope c4 = Envelope("c4");
  Publish(c2);
  Publish(Envelope("c3"));
  Publish(c1);
  Publish(c4);
  Publish(c4);
  TL_ASSERT_OK_AND_ASSIGN(const int second, consumer->PollOnce());
  EXPECT_EQ(second, 2);
  EXPECT_THAT(calls, ElementsAre(ElementsAre("c1", "c2"), ElementsAre("c3", "c4")));
  ExpectEachAppliedOnceAndAcked({"c1", "c2", "c3", "c4"});
}

TEST_F(StreamConsumerTest, BatchedConsumerIsolatesAFailingEventAndDeadLettersItAlone) {
  for (const char* aggregate : {"c0", "c1", "poison", "c3", "c4"}) Publish(Envelope(aggregate));
  ConsumerOptions options = Options("c1", absl::ZeroDuration());
  options.batch_size = 8;
  options.max_deliveries = 2;
  std::vector<std::vector<std::string>> calls;
  auto consumer =
      BatchConsumer(options, [&](pqxx::work& txn, std::span<const EventEnvelope* const> events) {
        calls.push_back(Aggregates(events));
        // Written, then rolled back with the failure.
        TL_RETURN_IF_ERROR(RecordEffects(txn, events));
        for (const EventEnvelope* event : events) {
          if (event->aggregate_id() == "poison") {
            return absl::FailedPreconditionError("poison cannot be applied");
          }
        }
        return absl::OkStatus();
      });

  // The batch fails, then each event goes alone: only the poison one stays pending.
  TL_ASSERT_OK_AND_ASSIGN(const int first, consumer->PollOnce());
  EXPECT_EQ(first, 4);
  EXPECT_THAT(calls, ElementsAre(ElementsAre("c0", "c1", "poison", "c3", "c4"), ElementsAre("c0"),
                                 ElementsAre("c1"), ElementsAre("poison"), ElementsAre("c3"),
                                 ElementsAre("c4")));
  EXPECT_EQ(PendingCount(), 1);

  // Second delivery fails again; the third is the dead letter.
  for (int pass = 0; pass < 3; ++pass) {
    TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
    EXPECT_EQ(applied, 0);
  }
  EXPECT_EQ(calls.size(), 7u);
  ExpectEachAppliedOnceAndAcked({"c0", "c1", "c3", "c4"});
  const auto letters = DeadLetters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_THAT(letters[0], Contains(Pair("aggregate", "poison")));
  EXPECT_THAT(letters[0], Contains(Pair("error", HasSubstr("poison cannot be applied"))));
}

TEST_F(StreamConsumerTest, BatchedConsumerCommittedButNotAckedSkipsTheBatchOnRedelivery) {
  // A server of the test's own, whose ACL the test changes: XACK refused is a consumer that
  // died between its commit and its acknowledgement.
  touchline::testing::ThrowawayRedis server;
  TL_ASSERT_OK(server.Start());
  TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                          redis::ParseRedisAddress(server.address()));
  TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(redis_options));
  const std::vector<std::string> aggregates = PublishMany(4);
  TL_ASSERT_OK(redis_->Command({"ACL", "SETUSER", "default", "-xack"}).status());
  int calls = 0;
  auto consumer = BatchConsumer(Options("c1", absl::ZeroDuration()),
                                [&](pqxx::work& txn, std::span<const EventEnvelope* const> events) {
                                  ++calls;
                                  return RecordEffects(txn, events);
                                });
  EXPECT_THAT(consumer->PollOnce(), touchline::testing::StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(EffectCount(), 4);
  EXPECT_EQ(PendingCount(), 4);

  TL_ASSERT_OK(redis_->Command({"ACL", "SETUSER", "default", "+xack"}).status());
  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
  EXPECT_EQ(applied, 0);
  EXPECT_EQ(calls, 1);
  ExpectEachAppliedOnceAndAcked(aggregates);
}

TEST_F(StreamConsumerTest, BatchedConcurrentConsumersApplyEachEventExactlyOnce) {
  constexpr int kEvents = 300;
  const std::vector<std::string> aggregates = PublishMany(kEvents);

  // claim_idle 0 makes them take batches from each other while they are being applied, so
  // only the inbox keeps an event from being applied twice.
  const int applied = ApplyWithTwoConsumers(kEvents, [this](ConsumerOptions options) {
    options.batch_size = 32;
    return BatchConsumer(std::move(options));
  });

  EXPECT_EQ(applied, kEvents);
  ExpectEachAppliedOnceAndAcked(aggregates);
  EXPECT_TRUE(DeadLetters().empty());
}

TEST_F(StreamConsumerTest, BackgroundLoopAppliesEventsWrittenWhileRunning) {
  auto consumer = Consumer(Options());
  consumer->Start();
  consumer->Start();  // No-op.
  std::vector<std::string> aggregates = PublishMany(10);
  EXPECT_TRUE(WaitUntil([&] { return EffectCount() == 10; }));
  aggregates.push_back("late");
  Publish(Envelope("late"));
  EXPECT_TRUE(WaitUntil([&] { return EffectCount() == 11; }));
  consumer->Stop();
  consumer->Stop();  // Safe twice.
  ExpectEachAppliedOnceAndAcked(aggregates);
}

TEST_F(StreamConsumerTest, BackgroundLoopRecoversWhenRedisComesBack) {
  touchline::testing::ThrowawayRedis server;
  TL_ASSERT_OK(server.Start());
  TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                          redis::ParseRedisAddress(server.address()));
  TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(redis_options));
  auto consumer = Consumer(Options());
  server.Stop();
  EXPECT_THAT(consumer->PollOnce(), touchline::testing::StatusIs(absl::StatusCode::kUnavailable));

  // The loop backs off while Redis is away and creates the group once it is back (the
  // restarted server has lost it).
  consumer->Start();
  TL_ASSERT_OK(server.Start());
  Publish(Envelope("c1"));
  EXPECT_TRUE(WaitUntil([&] { return EffectCount() == 1; }));
  consumer->Stop();
  ExpectEachAppliedOnceAndAcked({"c1"});
}

TEST_F(StreamConsumerTest, WithoutInboxAppliesEachEntryAndRetriesAFailedOne) {
  Publish(Envelope("c1"));
  Publish(Envelope("c2"));
  std::vector<std::string> seen;
  StreamConsumer consumer(Options("c1", absl::ZeroDuration()), redis_.get(),
                          [&](const EventEnvelope& event) {
                            seen.push_back(event.aggregate_id());
                            if (seen.size() == 1) return absl::UnavailableError("cache down");
                            return absl::OkStatus();
                          });

  TL_ASSERT_OK_AND_ASSIGN(const int first, consumer.PollOnce());
  EXPECT_EQ(first, 1);
  EXPECT_EQ(PendingCount(), 1);
  // The failed entry is claimed again (claim_idle is zero) and applied the second time.
  TL_ASSERT_OK_AND_ASSIGN(const int second, consumer.PollOnce());
  EXPECT_EQ(second, 1);
  EXPECT_THAT(seen, ::testing::ElementsAre("c1", "c2", "c1"));
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(EffectCount(), 0);
}

TEST_F(StreamConsumerTest, RejectsIncompleteOptions) {
  ConsumerOptions options = Options();
  options.group.clear();
  EXPECT_THAT(Consumer(options)->PollOnce(),
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(StreamConsumerTest, RejectsInboxRetentionShorterThanTheClaimWindow) {
  ConsumerOptions options = Options("c1", absl::Minutes(30));
  options.max_deliveries = 5;
  // 1h of clock allowance + 30 min * 6 deliveries = 4h.
  options.inbox_retention = absl::Hours(4) - absl::Seconds(1);
  EXPECT_THAT(ValidateConsumerOptions(options),
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("inbox_retention")));
  EXPECT_THAT(Consumer(options)->PollOnce(),
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument));
  options.inbox_retention = absl::Hours(4);
  TL_EXPECT_OK(ValidateConsumerOptions(options));
}

TEST_F(StreamConsumerTest, RejectsADeadLetterCapBelowOne) {
  ConsumerOptions options = Options();
  options.dead_letter_max_len = 0;
  EXPECT_THAT(ValidateConsumerOptions(options),
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("dead_letter_max_len")));
}

TEST_F(StreamConsumerTest, DeadLetterStreamKeepsItsCapAndCountsWhatItDrops) {
  const double dropped_before = CounterValue("touchline_events_dead_letters_dropped_total");
  const double lettered_before = CounterValue("touchline_events_dead_lettered_total");
  for (int i = 0; i < 5; ++i) Add({"event_id", absl::StrCat("bad-", i), "event", "\xff"});
  ConsumerOptions options = Options();
  options.dead_letter_max_len = 3;
  auto consumer = Consumer(options);

  TL_ASSERT_OK(consumer->PollOnce().status());

  const auto letters = DeadLetters();
  ASSERT_EQ(letters.size(), 3u);
  // The newest are kept.
  EXPECT_THAT(letters[0], Contains(Pair("event_id", "bad-2")));
  EXPECT_THAT(letters[2], Contains(Pair("event_id", "bad-4")));
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(CounterValue("touchline_events_dead_letters_dropped_total") - dropped_before, 2);
  EXPECT_EQ(CounterValue("touchline_events_dead_lettered_total") - lettered_before, 5);
}

TEST_F(StreamConsumerTest, RedeliveredEntryOlderThanTheInboxRetentionIsDeadLetteredNotApplied) {
  const EventEnvelope event = Envelope("c1");
  // An entry added to the stream in 1970 (its id says when), applied by a consumer that died
  // before its XACK, whose inbox row has since been purged: only the effect remains.
  Publish(event, /*id=*/"1000-1");
  TL_ASSERT_OK(pg_->Transact([&](pqxx::work& txn) { return RecordEffect(txn, event); }));
  TL_ASSERT_OK(
      redis_->Command({"XGROUP", "CREATE", StreamKey(prefix_, kTopic), kGroup, "0"}).status());
  TL_ASSERT_OK(redis_
                   ->Command({"XREADGROUP", "GROUP", kGroup, "crashed", "STREAMS",
                              StreamKey(prefix_, kTopic), ">"})
                   .status());

  auto consumer = Consumer(Options("c2", absl::ZeroDuration()));
  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());

  EXPECT_EQ(applied, 0);
  ExpectEachAppliedOnceAndAcked({"c1"});
  const auto letters = DeadLetters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_THAT(letters[0], Contains(Pair("event_id", event.event_id())));
  EXPECT_THAT(letters[0], Contains(Pair("error", HasSubstr("inbox retention"))));
}

TEST_F(StreamConsumerTest, NewEntryIsAppliedWhateverItsAge) {
  // Never delivered to the group, so never applied by it: the inbox need not remember it.
  const EventEnvelope event = Envelope("c1");
  Publish(event, /*id=*/"1000-1");
  auto consumer = Consumer(Options());
  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
  EXPECT_EQ(applied, 1);
  ExpectEachAppliedOnceAndAcked({"c1"});
}

TEST_F(StreamConsumerTest, InboxPurgeRemovesOnlyRowsOlderThanTheRetention) {
  const EventEnvelope old_event = Envelope("old");
  const EventEnvelope older_event = Envelope("older");
  const EventEnvelope recent = Envelope("recent");
  for (const EventEnvelope* event : {&old_event, &older_event, &recent}) Publish(*event);
  auto consumer = Consumer(Options());
  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
  ASSERT_EQ(applied, 3);
  TL_ASSERT_OK(pg_->Transact([&](pqxx::work& txn) {
    txn.exec_params(
        "UPDATE applied_events SET applied_at = now() - $2::interval WHERE event_id = $1",
        old_event.event_id(), "7 days 1 second");
    txn.exec_params(
        "UPDATE applied_events SET applied_at = now() - $2::interval WHERE event_id = $1",
        older_event.event_id(), "30 days");
    txn.exec_params(
        "UPDATE applied_events SET applied_at = now() - $2::interval WHERE event_id = $1",
        recent.event_id(), "6 days 23 hours");
    return absl::OkStatus();
  }));

  // One row per batch: three batches, the last one empty.
  TL_ASSERT_OK_AND_ASSIGN(const int64_t purged,
                          PurgeAppliedEvents(*pg_, absl::Hours(7 * 24), /*batch_size=*/1));
  EXPECT_EQ(purged, 2);

  std::vector<std::string> left;
  TL_ASSERT_OK(pg_->Transact([&](pqxx::work& txn) {
    for (const auto& row : txn.exec("SELECT event_id::text FROM applied_events")) {
      left.push_back(row[0].as<std::string>());
    }
    return absl::OkStatus();
  }));
  EXPECT_THAT(left, ElementsAre(recent.event_id()));

  // The recent event, delivered again, is still recognised and skipped.
  Publish(recent);
  TL_ASSERT_OK_AND_ASSIGN(const int again, consumer->PollOnce());
  EXPECT_EQ(again, 0);
  ExpectEachAppliedOnceAndAcked({"old", "older", "recent"});
  TL_ASSERT_OK_AND_ASSIGN(const int64_t purged_again,
                          PurgeAppliedEvents(*pg_, absl::Hours(7 * 24)));
  EXPECT_EQ(purged_again, 0);
}

TEST_F(StreamConsumerTest, InboxPurgeRejectsBadArguments) {
  EXPECT_THAT(PurgeAppliedEvents(*pg_, absl::ZeroDuration()),
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PurgeAppliedEvents(*pg_, absl::Hours(1), 0),
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::events
