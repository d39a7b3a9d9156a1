#include "common/audit/audit.h"

#include <memory>
#include <pqxx/transaction>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/events/outbox_relay.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::audit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::touchline::events::v1::AuditRecorded;
using ::touchline::events::v1::EventEnvelope;
using ::touchline::testing::StatusIs;

auth::RequestContext Caller() {
  auth::RequestContext caller;
  caller.tenant_id = "acme";
  caller.caller_id = "user-7";
  caller.request_id = "req-42";
  caller.client = "10.0.0.8:51234 grpc-c++/1.51";
  return caller;
}

AuditRecorded RecordedOf(const EventEnvelope& envelope) {
  AuditRecorded recorded;
  EXPECT_TRUE(envelope.payload().UnpackTo(&recorded));
  return recorded;
}

// The counter touchline_audit_events_dropped_total{reason}; 0 before its first increment.
double DroppedMetric(std::string_view reason) {
  for (const auto& family : metrics::DefaultRegistry().Collect()) {
    if (family.name != "touchline_audit_events_dropped_total") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "reason" && label.value == reason) return metric.counter.value;
      }
    }
  }
  return 0;
}

TEST(MakeAuditEnvelopeTest, CarriesTheCallerTheResourceAndTheFields) {
  const absl::Time before = absl::Now();
  const EventEnvelope envelope = MakeAuditEnvelope(Caller(), "customer.read_sensitive", "customer",
                                                   "cust-1", {"phones", "emails"}, "导出 客户资料");
  EXPECT_EQ(envelope.event_type(), "touchline.events.v1.AuditRecorded");
  EXPECT_EQ(envelope.tenant_id(), "acme");
  EXPECT_EQ(envelope.aggregate_type(), "audit");
  EXPECT_EQ(envelope.aggregate_id(), "cust-1");
  EXPECT_EQ(envelope.request_id(), "req-42");
  EXPECT_EQ(envelope.actor_id(), "user-7");
  const touchline::permissions::v1::AuditEvent event = RecordedOf(envelope).event();
  EXPECT_EQ(event.action(), "customer.read_sensitive");
  EXPECT_EQ(event.actor_id(), "user-7");
  EXPECT_EQ(event.client(), "10.0.0.8:51234 grpc-c++/1.51");
  EXPECT_EQ(event.resource_type(), "customer");
  EXPECT_EQ(event.resource_id(), "cust-1");
  EXPECT_THAT(event.fields(), ElementsAre("phones", "emails"));
  EXPECT_EQ(event.detail(), "导出 客户资料");
  EXPECT_EQ(event.request_id(), "req-42");
  EXPECT_EQ(event.sequence(), 0);
  EXPECT_EQ(event.hash(), "");
  const absl::Time occurred = absl::FromUnixSeconds(event.occur_time().seconds()) +
                              absl::Nanoseconds(event.occur_time().nanos());
  EXPECT_GE(occurred, before - absl::Microseconds(1));
  EXPECT_LE(occurred, absl::Now());
}

class AuditPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                            redis::ParseRedisAddress(touchline::testing::TestRedisAddr()));
    TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(redis_options));
  }

  AuditPublisherOptions Options(size_t queue_capacity = 100) const {
    AuditPublisherOptions options;
    options.stream_prefix = prefix_;
    options.queue_capacity = queue_capacity;
    options.batch_size = 3;
    options.retry_interval = absl::Milliseconds(10);
    options.max_backoff = absl::Milliseconds(50);
    return options;
  }

  // Publishes an envelope per resource "r<first>", "r<first+1>", ...; returns their event ids.
  static std::vector<std::string> PublishMany(AuditPublisher& publisher, int first, int count) {
    std::vector<std::string> ids;
    for (int i = first; i < first + count; ++i) {
      EventEnvelope envelope = MakeAuditEnvelope(Caller(), "customer.read_sensitive", "customer",
                                                 absl::StrCat("r", i), {"phones"});
      ids.push_back(envelope.event_id());
      publisher.Publish(std::move(envelope));
    }
    return ids;
  }

  // Each entry of the audit stream as its (field, value) pairs, oldest first.
  std::vector<std::vector<std::pair<std::string, std::string>>> Entries() const {
    std::vector<std::vector<std::pair<std::string, std::string>>> entries;
    absl::StatusOr<redis::Reply> range =
        redis_->Command({"XRANGE", events::StreamKey(prefix_, events::kAuditTopic), "-", "+"});
    EXPECT_THAT(range, touchline::testing::IsOk());
    if (!range.ok()) return entries;
    for (size_t i = 0; i < range->size(); ++i) {
      const redis::ReplyView fields = (*range)[i][1];
      auto& entry = entries.emplace_back();
      for (size_t f = 0; f + 1 < fields.size(); f += 2) {
        entry.emplace_back(std::string(fields[f].str()), std::string(fields[f + 1].str()));
      }
    }
    return entries;
  }

  std::vector<std::string> EventIds(redis::Pool& pool) const {
    std::vector<std::string> ids;
    absl::StatusOr<std::vector<EventEnvelope>> envelopes =
        touchline::testing::ReadEnvelopes(pool, events::StreamKey(prefix_, events::kAuditTopic));
    EXPECT_THAT(envelopes, touchline::testing::IsOk());
    if (envelopes.ok()) {
      for (const EventEnvelope& envelope : *envelopes) ids.push_back(envelope.event_id());
    }
    return ids;
  }
  std::vector<std::string> EventIds() const { return EventIds(*redis_); }

  // A pool on `schema` after applying `migrations` of `component` to it.
  static std::unique_ptr<pg::Pool> PoolOn(const touchline::testing::ScopedSchema& schema,
                                          std::string_view component,
                                          const std::vector<pg::Migration>& migrations) {
    const std::string dsn = touchline::testing::TestPgDsn();
    EXPECT_THAT(pg::ApplyMigrations(dsn, schema.name(), component, migrations),
                touchline::testing::IsOk());
    pg::PoolOptions options;
    options.dsn = dsn;
    options.search_path = schema.name();
    options.size = 1;
    absl::StatusOr<std::unique_ptr<pg::Pool>> pool = pg::Pool::Create(options);
    EXPECT_THAT(pool, touchline::testing::IsOk());
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  const std::string prefix_ = touchline::testing::UniqueRedisPrefix();
  std::unique_ptr<redis::Pool> redis_;
};

TEST_F(AuditPublisherTest, CreateRejectsBadOptions) {
  AuditPublisherOptions no_room = Options(0);
  EXPECT_THAT(AuditPublisher::Create(no_room, redis_.get()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  AuditPublisherOptions no_batch = Options();
  no_batch.batch_size = 0;
  EXPECT_THAT(AuditPublisher::Create(no_batch, redis_.get()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  AuditPublisherOptions no_wait = Options();
  no_wait.retry_interval = absl::ZeroDuration();
  EXPECT_THAT(AuditPublisher::Create(no_wait, redis_.get()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(AuditPublisher::Create(Options(), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
  AuditPublisherOptions negative_guard = Options();
  negative_guard.stream_max_len = -1;
  EXPECT_THAT(AuditPublisher::Create(negative_guard, redis_.get()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// --events_stream_max_len 0: no guard on the stream's length; entries are added without one.
TEST_F(AuditPublisherTest, WithoutALengthGuardEntriesStillReachTheStream) {
  AuditPublisherOptions options = Options();
  options.stream_max_len = 0;
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AuditPublisher> publisher,
                          AuditPublisher::Create(options, redis_.get()));
  publisher->Start();
  const std::vector<std::string> published = PublishMany(*publisher, 0, 4);
  publisher->Stop();
  EXPECT_EQ(EventIds(), published);
  EXPECT_EQ(publisher->dropped(), 0);
}

TEST_F(AuditPublisherTest, PublishedEnvelopesReachTheStreamAndTheConsumerAppliesThem) {
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AuditPublisher> publisher,
                          AuditPublisher::Create(Options(), redis_.get()));
  publisher->Start();
  const std::vector<std::string> published = PublishMany(*publisher, 0, 7);  // 3 batches.
  publisher->Stop();
  EXPECT_EQ(EventIds(), published);
  EXPECT_EQ(publisher->dropped(), 0);

  touchline::testing::ScopedSchema schema{"audit"};
  const std::unique_ptr<pg::Pool> pg = PoolOn(schema, "inbox", events::InboxMigrations());
  ASSERT_NE(pg, nullptr);
  events::ConsumerOptions consumer_options;
  consumer_options.stream_prefix = prefix_;
  consumer_options.topic = events::kAuditTopic;
  consumer_options.group = "permissions-audit";
  consumer_options.consumer = "c1";
  std::vector<std::string> applied_ids, applied_resources;
  events::StreamConsumer consumer(
      consumer_options, redis_.get(), pg.get(), [&](pqxx::work&, const EventEnvelope& event) {
        applied_ids.push_back(event.event_id());
        applied_resources.push_back(RecordedOf(event).event().resource_id());
        return absl::OkStatus();
      });
  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer.PollOnce());
  EXPECT_EQ(applied, 7);
  EXPECT_EQ(applied_ids, published);
  EXPECT_THAT(applied_resources, ElementsAre("r0", "r1", "r2", "r3", "r4", "r5", "r6"));
}

TEST_F(AuditPublisherTest, EntriesHaveExactlyTheFieldsTheOutboxRelayWrites) {
  touchline::testing::ScopedSchema schema{"audit"};
  const std::unique_ptr<pg::Pool> pg = PoolOn(schema, "outbox", events::OutboxMigrations());
  ASSERT_NE(pg, nullptr);
  const EventEnvelope relayed =
      MakeAuditEnvelope(Caller(), "customer.updated", "customer", "cust-1", {"display_name"});
  TL_ASSERT_OK(pg->Transact([&](pqxx::work& txn) {
    events::AppendToOutbox(txn, events::kAuditTopic, relayed);
    return absl::OkStatus();
  }));
  events::RelayOptions relay_options;
  relay_options.dsn = touchline::testing::TestPgDsn();
  relay_options.schema = schema.name();
  relay_options.stream_prefix = prefix_;
  events::OutboxRelay relay(relay_options, redis_.get());
  TL_ASSERT_OK_AND_ASSIGN(const int relayed_count, relay.PublishPending());
  ASSERT_EQ(relayed_count, 1);

  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AuditPublisher> publisher,
                          AuditPublisher::Create(Options(), redis_.get()));
  const EventEnvelope published =
      MakeAuditEnvelope(Caller(), "customer.read_sensitive", "customer", "cust-2", {"phones"});
  publisher->Publish(published);
  publisher->Stop();

  const auto entries = Entries();
  ASSERT_EQ(entries.size(), 2u);
  const auto values = [](const EventEnvelope& envelope) {
    return std::vector<std::pair<std::string, std::string>>{
        {"event_id", envelope.event_id()},
        {"type", envelope.event_type()},
        {"tenant", envelope.tenant_id()},
        {"aggregate", envelope.aggregate_id()},
        {"event", envelope.SerializeAsString()}};
  };
  EXPECT_EQ(entries[0], values(relayed));
  EXPECT_EQ(entries[1], values(published));
}

TEST_F(AuditPublisherTest, FullQueueDropsTheOldestAndCountsThem) {
  const double dropped_before = DroppedMetric("queue_full");
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AuditPublisher> publisher,
                          AuditPublisher::Create(Options(/*queue_capacity=*/4), redis_.get()));
  std::vector<std::string> lines;
  absl::Mutex lines_mu;
  log::SetSinkForTest([&](std::string_view line) {
    absl::MutexLock lock(&lines_mu);
    lines.emplace_back(line);
  });
  // Not started: everything stays queued until Stop flushes it.
  const std::vector<std::string> published = PublishMany(*publisher, 0, 10);
  EXPECT_EQ(publisher->queued(), 4u);
  EXPECT_EQ(publisher->dropped(), 6);
  EXPECT_EQ(DroppedMetric("queue_full") - dropped_before, 6);
  publisher->Stop();
  log::SetSinkForTest(nullptr);
  EXPECT_EQ(EventIds(), std::vector<std::string>(published.begin() + 6, published.end()));
  EXPECT_EQ(publisher->queued(), 0u);
  ASSERT_EQ(lines.size(), 1u);  // One line per run of drops, not one per drop.
  EXPECT_THAT(lines[0], HasSubstr("queue full"));
}

TEST_F(AuditPublisherTest, EnvelopesPublishedWhileRedisIsDownGoOutWhenItIsBack) {
  touchline::testing::ThrowawayRedis server;
  TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                          redis::ParseRedisAddress(server.address()));
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::Pool> redis, redis::Pool::Create(redis_options));
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AuditPublisher> publisher,
                          AuditPublisher::Create(Options(), redis.get()));
  // What the background thread reports: the test waits for it rather than polling Redis.
  absl::Mutex log_mu;
  int failures = 0;
  bool recovered = false;
  log::SetSinkForTest([&](std::string_view line) {
    absl::MutexLock lock(&log_mu);
    if (line.find("audit publisher: Redis failed") != std::string_view::npos) ++failures;
    if (line.find("audit publisher: Redis is back") != std::string_view::npos) recovered = true;
  });
  publisher->Start();  // Redis is not up yet.
  const std::vector<std::string> published = PublishMany(*publisher, 0, 5);
  {
    absl::MutexLock lock(&log_mu);
    const auto retried = [&failures]() { return failures >= 2; };
    ASSERT_TRUE(log_mu.AwaitWithTimeout(absl::Condition(&retried), absl::Seconds(20)));
  }
  TL_ASSERT_OK(server.Start());
  {
    absl::MutexLock lock(&log_mu);
    ASSERT_TRUE(log_mu.AwaitWithTimeout(absl::Condition(&recovered), absl::Seconds(20)));
  }
  publisher->Stop();
  log::SetSinkForTest(nullptr);
  EXPECT_EQ(EventIds(*redis), published);
  EXPECT_EQ(publisher->dropped(), 0);
}

TEST_F(AuditPublisherTest, StopWhileRedisIsDownDropsAndCountsWhatIsLeft) {
  const double dropped_before = DroppedMetric("stopped");
  touchline::testing::ThrowawayRedis server;  // Never started.
  TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                          redis::ParseRedisAddress(server.address()));
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::Pool> redis, redis::Pool::Create(redis_options));
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AuditPublisher> publisher,
                          AuditPublisher::Create(Options(), redis.get()));
  log::SetSinkForTest([](std::string_view) {});
  PublishMany(*publisher, 0, 4);
  publisher->Stop();
  log::SetSinkForTest(nullptr);
  EXPECT_EQ(publisher->queued(), 0u);
  EXPECT_EQ(publisher->dropped(), 4);
  EXPECT_EQ(DroppedMetric("stopped") - dropped_before, 4);
}

}  // namespace
}  // namespace touchline::audit
