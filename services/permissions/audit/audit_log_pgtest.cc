#include "services/permissions/audit/audit_log.h"

#include <google/protobuf/util/time_util.h>
#include <google/protobuf/wrappers.pb.h>

#include <algorithm>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/audit/audit.h"
#include "common/auth/request_context.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/permissions/migrations.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::permissions {
namespace {

namespace v1 = ::touchline::permissions::v1;
using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::touchline::events::v1::EventEnvelope;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";

v1::AuditEvent Event(std::string action, std::string actor_id = "user-1",
                     std::string resource_type = "customer", std::string resource_id = "c-1") {
  v1::AuditEvent event;
  event.set_action(std::move(action));
  event.set_actor_id(std::move(actor_id));
  event.set_client("10.0.0.8:51234 grpc-c++/1.51");
  event.set_resource_type(std::move(resource_type));
  event.set_resource_id(std::move(resource_id));
  event.add_fields("display_name");
  event.set_detail("changed");
  event.set_request_id("req-1");
  return event;
}

google::protobuf::Timestamp At(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp time;
  time.set_seconds(seconds);
  time.set_nanos(nanos);
  return time;
}

std::vector<int64_t> Sequences(const v1::ListAuditEventsResponse& response) {
  std::vector<int64_t> sequences;
  for (const v1::AuditEvent& event : response.events()) sequences.push_back(event.sequence());
  return sequences;
}

TEST(ChainHashTest, IsSha256OfThePreviousHashAndTheDeterministicBytesOfTheEntry) {
  // Expected values computed outside this code (Python hashlib over hand-encoded protobuf).
  v1::AuditEvent first;
  first.set_sequence(1);
  first.set_action("a");
  first.set_hash("ignored");
  first.set_previous_hash("ignored too");
  EXPECT_EQ(AuditLog::ChainHash(kAuditGenesisHash, first),
            "9f3e63b5c8c1cc6eaafb1f18a76f00d91fb4c9d77c627dd574e4f0bfa1c4245e");
  v1::AuditEvent second;
  second.set_sequence(2);
  *second.mutable_occur_time() = At(1700000000, 5000);
  second.set_action("登录");
  second.add_fields("x");
  std::string previous;
  for (int i = 0; i < 32; ++i) previous += "ab";
  EXPECT_EQ(AuditLog::ChainHash(previous, second),
            "1cbc7e6083b854794cd0454255675dbe9770b4429fd8c5ff7c9d0cc246463d43");
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK(
        pg::ApplyMigrations(dsn_, schema_.name(), "permissions", pg::permissions_migrations()));
    TL_ASSERT_OK(
        pg::ApplyMigrations(dsn_, schema_.name(), "page_tokens", paging::PageTokenMigrations()));
    pg::PoolOptions options;
    options.dsn = dsn_;
    options.search_path = schema_.name();
    options.size = 10;
    TL_ASSERT_OK_AND_ASSIGN(pg_, pg::Pool::Create(options));
    TL_ASSERT_OK_AND_ASSIGN(paging::PageTokens page_tokens, paging::PageTokens::Load(*pg_));
    log_ = std::make_unique<AuditLog>(pg_.get(), std::move(page_tokens), /*verify_chunk_size=*/7);
  }

  absl::Status Append(const std::string& tenant, const v1::AuditEvent& event) {
    return pg_->Transact([&](pqxx::work& txn) {
      AuditLog::Append(txn, tenant, event);
      return absl::OkStatus();
    });
  }

  // Appends `count` entries "a0", "a1", ... to kTenant.
  void AppendMany(int count) {
    for (int i = 0; i < count; ++i) TL_ASSERT_OK(Append(kTenant, Event(absl::StrCat("a", i))));
  }

  // Runs `sql` as a tamperer would: with the append-only triggers disabled.
  void Tamper(const std::string& sql) {
    TL_ASSERT_OK(pg_->Transact([&](pqxx::work& txn) {
      txn.exec("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only");
      txn.exec(sql);
      txn.exec("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only");
      return absl::OkStatus();
    }));
  }

  v1::VerifyAuditChainResponse Verify(const std::string& tenant = kTenant) {
    absl::StatusOr<v1::VerifyAuditChainResponse> verified = log_->Verify(tenant);
    EXPECT_THAT(verified, touchline::testing::IsOk());
    return verified.ok() ? *verified : v1::VerifyAuditChainResponse();
  }

  // Expects Verify to report the first break at `sequence`, found after reading `checked`
  // entries, saying `detail`.
  void ExpectBrokenAt(int64_t sequence, int64_t checked, std::string_view detail) {
    const v1::VerifyAuditChainResponse verified = Verify();
    EXPECT_FALSE(verified.intact());
    EXPECT_EQ(verified.first_broken_sequence(), sequence);
    EXPECT_EQ(verified.entries_checked(), checked);
    EXPECT_EQ(verified.detail(), detail);
  }

  v1::ListAuditEventsResponse List(v1::ListAuditEventsRequest request,
                                   const std::string& tenant = kTenant) {
    absl::StatusOr<v1::ListAuditEventsResponse> listed = log_->List(tenant, request);
    EXPECT_THAT(listed, touchline::testing::IsOk());
    return listed.ok() ? *listed : v1::ListAuditEventsResponse();
  }

  // The sequences of every page of `request` (page_size as given), newest first.
  std::vector<int64_t> ListAll(v1::ListAuditEventsRequest request) {
    std::vector<int64_t> sequences;
    for (int page = 0; page < 100; ++page) {
      const v1::ListAuditEventsResponse response = List(request);
      for (int64_t sequence : Sequences(response)) sequences.push_back(sequence);
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return sequences;
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"perm_audit"};
  std::unique_ptr<pg::Pool> pg_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, ChainOfEntriesVerifies) {
  AppendMany(25);  // Four chunks of 7.
  const v1::VerifyAuditChainResponse verified = Verify();
  EXPECT_TRUE(verified.intact());
  EXPECT_EQ(verified.entries_checked(), 25);
  EXPECT_EQ(verified.first_broken_sequence(), 0);
  EXPECT_EQ(verified.detail(), "");

  v1::ListAuditEventsRequest request;
  request.set_page_size(1000);
  const v1::ListAuditEventsResponse listed = List(request);
  ASSERT_EQ(listed.events_size(), 25);
  // Newest first: entry n is at index 25 - n.
  EXPECT_EQ(listed.events(24).sequence(), 1);
  EXPECT_EQ(listed.events(24).previous_hash(), kAuditGenesisHash);
  for (int i = 0; i < 25; ++i) {
    const v1::AuditEvent& entry = listed.events(i);
    EXPECT_EQ(entry.sequence(), 25 - i);
    EXPECT_EQ(entry.action(), absl::StrCat("a", 24 - i));
    EXPECT_EQ(entry.hash(), AuditLog::ChainHash(entry.previous_hash(), entry));
    if (i + 1 < 25) {
      EXPECT_EQ(entry.previous_hash(), listed.events(i + 1).hash());
    }
  }
}

TEST_F(AuditLogTest, EmptyChainIsIntact) {
  const v1::VerifyAuditChainResponse verified = Verify();
  EXPECT_TRUE(verified.intact());
  EXPECT_EQ(verified.entries_checked(), 0);
}

TEST_F(AuditLogTest, EachTenantHasItsOwnChain) {
  TL_ASSERT_OK(Append("acme", Event("a0")));
  TL_ASSERT_OK(Append("beta", Event("b0")));
  TL_ASSERT_OK(Append("acme", Event("a1")));
  v1::ListAuditEventsRequest request;
  EXPECT_THAT(Sequences(List(request, "acme")), ElementsAre(2, 1));
  const v1::ListAuditEventsResponse beta = List(request, "beta");
  ASSERT_EQ(beta.events_size(), 1);
  EXPECT_EQ(beta.events(0).sequence(), 1);
  EXPECT_EQ(beta.events(0).action(), "b0");
  EXPECT_EQ(beta.events(0).previous_hash(), kAuditGenesisHash);
  EXPECT_EQ(Verify("acme").entries_checked(), 2);
  EXPECT_EQ(Verify("beta").entries_checked(), 1);
}

TEST_F(AuditLogTest, ChangedEntryIsReportedAtItsSequence) {
  AppendMany(10);
  Tamper("UPDATE audit_events SET detail = 'nothing to see' WHERE sequence = 6");
  ExpectBrokenAt(6, 6, "hash does not match the entry's content");
}

TEST_F(AuditLogTest, ChangedEntryWithItsHashRecomputedBreaksTheNextLink) {
  AppendMany(10);
  v1::ListAuditEventsRequest request;
  request.set_page_size(1000);
  v1::AuditEvent forged = List(request).events(10 - 3);  // Entry 3.
  ASSERT_EQ(forged.sequence(), 3);
  forged.set_actor_id("someone-else");
  const std::string forged_hash = AuditLog::ChainHash(forged.previous_hash(), forged);
  Tamper(absl::StrCat("UPDATE audit_events SET actor_id = 'someone-else', hash = '", forged_hash,
                      "' WHERE sequence = 3"));
  ExpectBrokenAt(4, 4, "previous_hash is not the hash of entry 3");
}

TEST_F(AuditLogTest, DeletedEntryIsReportedAsAGap) {
  AppendMany(10);
  Tamper("DELETE FROM audit_events WHERE sequence = 8");
  ExpectBrokenAt(8, 8, "entry 8 is missing: the entry after 7 is 9");  // 1..7, then 9.
}

TEST_F(AuditLogTest, DeletedFirstEntryIsReportedAsAGap) {
  AppendMany(3);
  Tamper("DELETE FROM audit_events WHERE sequence = 1");
  ExpectBrokenAt(1, 1, "entry 1 is missing: the first entry is 2");
}

TEST_F(AuditLogTest, EntriesCutOffTheEndAreReported) {
  AppendMany(10);
  Tamper("DELETE FROM audit_events WHERE sequence >= 9");
  ExpectBrokenAt(9, 8, "entries 9 to 10 are missing: the chain head records 10");
}

TEST_F(AuditLogTest, ChainHeadMovedBackIsReported) {
  AppendMany(5);
  TL_ASSERT_OK(pg_->Transact([](pqxx::work& txn) {
    txn.exec("UPDATE audit_chain_heads SET last_sequence = 3");
    return absl::OkStatus();
  }));
  ExpectBrokenAt(4, 5, "the chain head records 3 entries but the chain goes on to 5");
}

TEST_F(AuditLogTest, UpdateDeleteAndTruncateThroughSqlAreRefused) {
  AppendMany(2);
  for (const char* sql : {"UPDATE audit_events SET detail = 'x' WHERE sequence = 1",
                          "DELETE FROM audit_events WHERE sequence = 2", "TRUNCATE audit_events"}) {
    const absl::Status status = pg_->Transact([&](pqxx::work& txn) {
      txn.exec(sql);
      return absl::OkStatus();
    });
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInternal)) << sql;
  }
  v1::ListAuditEventsRequest request;
  const v1::ListAuditEventsResponse listed = List(request);
  ASSERT_EQ(listed.events_size(), 2);
  EXPECT_EQ(listed.events(1).detail(), "changed");
  EXPECT_TRUE(Verify().intact());
}

TEST_F(AuditLogTest, ConcurrentAppendsMakeAGaplessValidChain) {
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(kThreads * kEach);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &results] {
      for (int i = 0; i < kEach; ++i) {
        results[t * kEach + i] = Append(kTenant, Event(absl::StrCat("t", t, "-", i)));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& result : results) TL_EXPECT_OK(result);
  const v1::VerifyAuditChainResponse verified = Verify();
  EXPECT_TRUE(verified.intact()) << verified.detail();
  EXPECT_EQ(verified.entries_checked(), kThreads * kEach);
  // Every append is there once.
  v1::ListAuditEventsRequest request;
  request.set_page_size(1000);
  std::vector<std::string> actions;
  const v1::ListAuditEventsResponse all = List(request);
  for (const v1::AuditEvent& event : all.events()) actions.push_back(event.action());
  std::vector<std::string> expected;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) expected.push_back(absl::StrCat("t", t, "-", i));
  }
  std::sort(actions.begin(), actions.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(actions, expected);

  const v1::ListAuditEventsResponse first_page = List(v1::ListAuditEventsRequest());
  ASSERT_EQ(first_page.events_size(), 100);  // page_size 0 means 100.
  EXPECT_EQ(first_page.events(0).sequence(), kThreads * kEach);
  EXPECT_EQ(first_page.events(99).sequence(), kThreads * kEach - 99);
  EXPECT_NE(first_page.next_page_token(), "");
}

TEST_F(AuditLogTest, TextRoundTripsAndTimesAreKeptToTheMicrosecond) {
  v1::AuditEvent event = Event("customer.updated");
  event.set_detail("客户资料已导出：北京分公司 🙂");
  event.clear_fields();
  event.add_fields("contact_points[0].value");
  event.add_fields("a,b \"quoted\" {braced} \\ NULL");
  event.add_fields("");
  *event.mutable_occur_time() = At(1700000000, 123456789);
  TL_ASSERT_OK(Append(kTenant, event));
  v1::AuditEvent broken = Event("login.failed");
  broken.set_detail(std::string("user\0name \xff\xfe end", 16));
  TL_ASSERT_OK(Append(kTenant, broken));

  v1::ListAuditEventsRequest request;
  const v1::ListAuditEventsResponse listed = List(request);
  ASSERT_EQ(listed.events_size(), 2);
  const v1::AuditEvent& stored = listed.events(1);
  EXPECT_EQ(stored.detail(), "客户资料已导出：北京分公司 🙂");
  EXPECT_THAT(stored.fields(),
              ElementsAre("contact_points[0].value", "a,b \"quoted\" {braced} \\ NULL", ""));
  EXPECT_EQ(stored.occur_time().seconds(), 1700000000);
  EXPECT_EQ(stored.occur_time().nanos(), 123456000);
  EXPECT_EQ(stored.client(), "10.0.0.8:51234 grpc-c++/1.51");
  EXPECT_EQ(stored.request_id(), "req-1");
  EXPECT_EQ(listed.events(0).detail(), "user\xEF\xBF\xBDname \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_TRUE(Verify().intact());
}

TEST_F(AuditLogTest, UnsetOccurTimeIsNow) {
  const int64_t before = absl::ToUnixMicros(absl::Now());
  TL_ASSERT_OK(Append(kTenant, Event("login.succeeded")));
  const int64_t after = absl::ToUnixMicros(absl::Now());
  v1::ListAuditEventsRequest request;
  const v1::ListAuditEventsResponse listed = List(request);
  ASSERT_EQ(listed.events_size(), 1);
  const int64_t stored = TimeUtil::TimestampToMicroseconds(listed.events(0).occur_time());
  EXPECT_GE(stored, before);
  EXPECT_LE(stored, after);
}

TEST_F(AuditLogTest, InvalidOccurTimeIsRefused) {
  v1::AuditEvent event = Event("x");
  *event.mutable_occur_time() = At(1700000000, -1);
  EXPECT_THAT(Append(kTenant, event), StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(Verify().entries_checked(), 0);
}

// Entries 1..12 over actors, resources, actions and times (one minute apart from t0).
class AuditLogListTest : public AuditLogTest {
 protected:
  static constexpr int64_t kT0 = 1700000000;

  void SetUp() override {
    AuditLogTest::SetUp();
    for (int i = 0; i < 12; ++i) {
      v1::AuditEvent event = Event(
          i % 3 == 0 ? "login.succeeded" : (i % 3 == 1 ? "customer.updated" : "login.failed"),
          i % 2 == 0 ? "alice" : "bob", i < 6 ? "customer" : "role", absl::StrCat("id-", i % 4));
      *event.mutable_occur_time() = At(kT0 + 60 * i, 500000);  // + 0.5 ms
      TL_ASSERT_OK(Append(kTenant, event));
    }
  }
};

TEST_F(AuditLogListTest, NewestFirstWithTheDefaultPageSize) {
  v1::ListAuditEventsRequest request;
  const v1::ListAuditEventsResponse listed = List(request);
  EXPECT_THAT(Sequences(listed), ElementsAre(12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1));
  EXPECT_EQ(listed.next_page_token(), "");
}

TEST_F(AuditLogListTest, FiltersSelectExactly) {
  v1::ListAuditEventsRequest by_actor;
  by_actor.set_actor_id("bob");
  EXPECT_THAT(Sequences(List(by_actor)), ElementsAre(12, 10, 8, 6, 4, 2));

  v1::ListAuditEventsRequest by_resource;
  by_resource.set_resource_type("customer");
  by_resource.set_resource_id("id-1");
  EXPECT_THAT(Sequences(List(by_resource)), ElementsAre(6, 2));  // i = 1, 5.

  v1::ListAuditEventsRequest by_type;
  by_type.set_resource_type("role");
  EXPECT_THAT(Sequences(List(by_type)), ElementsAre(12, 11, 10, 9, 8, 7));

  v1::ListAuditEventsRequest by_action;
  by_action.set_action_prefix("login.");
  EXPECT_THAT(Sequences(List(by_action)), ElementsAre(12, 10, 9, 7, 6, 4, 3, 1));

  v1::ListAuditEventsRequest by_time;  // [entry 3's time, entry 6's time)
  *by_time.mutable_start_time() = At(kT0 + 120, 500000);
  *by_time.mutable_end_time() = At(kT0 + 300, 500000);
  EXPECT_THAT(Sequences(List(by_time)), ElementsAre(5, 4, 3));

  // Stored to the microsecond: a start 1 ns after an entry excludes it, an end 1 ns after
  // includes it.
  v1::ListAuditEventsRequest nanos;
  *nanos.mutable_start_time() = At(kT0 + 120, 500001);
  *nanos.mutable_end_time() = At(kT0 + 300, 500001);
  EXPECT_THAT(Sequences(List(nanos)), ElementsAre(6, 5, 4));

  v1::ListAuditEventsRequest combined;
  combined.set_actor_id("alice");
  combined.set_action_prefix("login.s");
  *combined.mutable_start_time() = At(kT0 + 60);
  EXPECT_THAT(Sequences(List(combined)), ElementsAre(7));  // i = 6 (i = 0 is before start).

  v1::ListAuditEventsRequest none;
  none.set_actor_id("carol");
  const v1::ListAuditEventsResponse empty = List(none);
  EXPECT_EQ(empty.events_size(), 0);
  EXPECT_EQ(empty.next_page_token(), "");
}

TEST_F(AuditLogListTest, PagesWalkTheFilteredEntriesExactlyOnce) {
  v1::ListAuditEventsRequest request;
  request.set_page_size(5);
  EXPECT_THAT(ListAll(request), ElementsAre(12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1));

  v1::ListAuditEventsRequest filtered;
  filtered.set_page_size(2);
  filtered.set_action_prefix("login.");
  const v1::ListAuditEventsResponse first = List(filtered);
  EXPECT_THAT(Sequences(first), ElementsAre(12, 10));
  EXPECT_NE(first.next_page_token(), "");
  EXPECT_THAT(ListAll(filtered), ElementsAre(12, 10, 9, 7, 6, 4, 3, 1));

  // Exactly a page left: the last page says so.
  v1::ListAuditEventsRequest exact;
  exact.set_page_size(6);
  exact.set_actor_id("bob");
  EXPECT_EQ(List(exact).next_page_token(), "");
}

TEST_F(AuditLogListTest, NulInAFilterIsInvalidArgumentNamingIt) {
  v1::ListAuditEventsRequest request;
  request.set_actor_id(std::string("u\0", 2));
  request.set_action_prefix(std::string("customer.\0", 10));
  const absl::StatusOr<v1::ListAuditEventsResponse> listed = log_->List(kTenant, request);
  EXPECT_THAT(listed, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status::FieldViolationsOf(listed.status()),
              ElementsAre(Pair("actor_id", "must not contain NUL characters"),
                          Pair("action_prefix", "must not contain NUL characters")));
}

TEST_F(AuditLogListTest, BadRequestsNameTheirFields) {
  v1::ListAuditEventsRequest too_big;
  too_big.set_page_size(1001);
  const absl::StatusOr<v1::ListAuditEventsResponse> big = log_->List(kTenant, too_big);
  EXPECT_THAT(big, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status::FieldViolationsOf(big.status()),
              ElementsAre(Pair("page_size", "must be between 0 and 1000")));

  v1::ListAuditEventsRequest negative;
  negative.set_page_size(-1);
  EXPECT_THAT(log_->List(kTenant, negative), StatusIs(absl::StatusCode::kInvalidArgument));

  v1::ListAuditEventsRequest backwards;
  *backwards.mutable_start_time() = At(kT0 + 60);
  *backwards.mutable_end_time() = At(kT0 + 60);
  const absl::StatusOr<v1::ListAuditEventsResponse> empty_range = log_->List(kTenant, backwards);
  EXPECT_THAT(status::FieldViolationsOf(empty_range.status()),
              ElementsAre(Pair("end_time", "must be after start_time")));

  v1::ListAuditEventsRequest bad_times;
  *bad_times.mutable_start_time() = At(kT0, 1000000000);
  *bad_times.mutable_end_time() = At(300000000000);
  const absl::StatusOr<v1::ListAuditEventsResponse> times = log_->List(kTenant, bad_times);
  EXPECT_THAT(status::FieldViolationsOf(times.status()),
              ElementsAre(Pair("start_time", "nanos must be between 0 and 999999999"),
                          Pair("end_time", "must be a time between the years 1 and 9999")));

  v1::ListAuditEventsRequest paged;
  paged.set_page_size(2);
  const std::string token = List(paged).next_page_token();
  v1::ListAuditEventsRequest other_query;
  other_query.set_page_size(2);
  other_query.set_actor_id("alice");
  other_query.set_page_token(token);
  const absl::StatusOr<v1::ListAuditEventsResponse> mismatched = log_->List(kTenant, other_query);
  EXPECT_THAT(status::FieldViolationsOf(mismatched.status()),
              ElementsAre(Pair("page_token", "is not a token this query returned")));
  paged.set_page_token("garbage");
  EXPECT_THAT(log_->List(kTenant, paged), StatusIs(absl::StatusCode::kInvalidArgument));
}

class AuditLogStreamTest : public AuditLogTest {
 protected:
  void SetUp() override {
    AuditLogTest::SetUp();
    TL_ASSERT_OK(pg::ApplyMigrations(dsn_, schema_.name(), "inbox", events::InboxMigrations()));
    TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                            redis::ParseRedisAddress(touchline::testing::TestRedisAddr()));
    TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(redis_options));
    events::ConsumerOptions options;
    options.stream_prefix = prefix_;
    options.topic = events::kAuditTopic;
    options.group = "permissions-audit";
    options.consumer = "c1";
    consumer_ = std::make_unique<events::StreamConsumer>(options, redis_.get(), pg_.get(),
                                                         AuditLog::ApplyFromStream());
    audit::AuditPublisherOptions publisher_options;
    publisher_options.stream_prefix = prefix_;
    TL_ASSERT_OK_AND_ASSIGN(publisher_,
                            audit::AuditPublisher::Create(publisher_options, redis_.get()));
  }

  static auth::RequestContext Caller(std::string tenant) {
    auth::RequestContext caller;
    caller.tenant_id = std::move(tenant);
    caller.caller_id = "user-9";
    caller.request_id = "req-9";
    caller.client = "gateway";
    return caller;
  }

  const std::string prefix_ = touchline::testing::UniqueRedisPrefix();
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<events::StreamConsumer> consumer_;
  std::unique_ptr<audit::AuditPublisher> publisher_;
};

TEST_F(AuditLogStreamTest, EventsFromTheStreamAreAppendedOnceToTheirTenantsChain) {
  const EventEnvelope read = audit::MakeAuditEnvelope(Caller("acme"), "customer.read_sensitive",
                                                      "customer", "c-7", {"phones"}, "查看电话");
  const EventEnvelope other_tenant =
      audit::MakeAuditEnvelope(Caller("beta"), "customer.updated", "customer", "c-8", {});
  publisher_->Publish(read);
  publisher_->Publish(other_tenant);
  publisher_->Publish(read);  // Delivered twice.
  publisher_->Stop();
  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer_->PollOnce());
  EXPECT_EQ(applied, 2);
  TL_ASSERT_OK_AND_ASSIGN(const int again, consumer_->PollOnce());
  EXPECT_EQ(again, 0);

  v1::ListAuditEventsRequest request;
  const v1::ListAuditEventsResponse acme = List(request, "acme");
  ASSERT_EQ(acme.events_size(), 1);
  const v1::AuditEvent& entry = acme.events(0);
  EXPECT_EQ(entry.sequence(), 1);
  EXPECT_EQ(entry.action(), "customer.read_sensitive");
  EXPECT_EQ(entry.actor_id(), "user-9");
  EXPECT_EQ(entry.client(), "gateway");
  EXPECT_EQ(entry.resource_id(), "c-7");
  EXPECT_THAT(entry.fields(), ElementsAre("phones"));
  EXPECT_EQ(entry.detail(), "查看电话");
  EXPECT_EQ(entry.request_id(), "req-9");
  events::v1::AuditRecorded recorded;
  ASSERT_TRUE(read.payload().UnpackTo(&recorded));
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(entry.occur_time()),
            TimeUtil::TimestampToMicroseconds(recorded.event().occur_time()));
  const v1::ListAuditEventsResponse beta = List(request, "beta");
  ASSERT_EQ(beta.events_size(), 1);
  EXPECT_EQ(beta.events(0).action(), "customer.updated");
  EXPECT_TRUE(Verify("acme").intact());
  EXPECT_TRUE(Verify("beta").intact());
}

TEST_F(AuditLogStreamTest, ApplyRefusesWhatIsNotAnAuditEvent) {
  const events::ApplyFn apply = AuditLog::ApplyFromStream();
  google::protobuf::StringValue payload;
  payload.set_value("not audit");
  const EventEnvelope foreign = events::MakeEnvelope(payload, "acme", "x", "1", "r", "u");
  events::v1::AuditRecorded recorded;
  recorded.mutable_event()->set_action("x");
  const EventEnvelope bad_tenant =
      events::MakeEnvelope(recorded, "Not A Tenant", "audit", "1", "r", "u");
  for (const EventEnvelope& envelope : {foreign, bad_tenant}) {
    const absl::Status status =
        pg_->Transact([&](pqxx::work& txn) { return apply(txn, envelope); });
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_EQ(Verify("acme").entries_checked(), 0);
}

// The audit consumer as the service runs it: batched (ApplyBatchFromStream).
class AuditLogBatchTest : public AuditLogStreamTest {
 protected:
  std::unique_ptr<events::StreamConsumer> BatchConsumer(redis::Pool* redis,
                                                        absl::Duration claim_idle,
                                                        int max_deliveries = 5) {
    events::ConsumerOptions options;
    options.stream_prefix = prefix_;
    options.topic = events::kAuditTopic;
    options.group = "permissions-audit";
    options.consumer = "c1";
    options.batch_size = 256;
    options.claim_idle = claim_idle;
    options.max_deliveries = max_deliveries;
    return std::make_unique<events::StreamConsumer>(options, redis, pg_.get(),
                                                    AuditLog::ApplyBatchFromStream());
  }

  // A read of customer `resource_id`'s phones in `tenant`.
  static EventEnvelope Read(const std::string& tenant, const std::string& resource_id) {
    return audit::MakeAuditEnvelope(Caller(tenant), "customer.read_sensitive", "customer",
                                    resource_id, {"phones"});
  }

  // Adds `envelope` to the audit stream as AuditPublisher does.
  void Publish(redis::Pool* redis, const EventEnvelope& envelope) {
    TL_EXPECT_OK(redis
                     ->Command({"XADD", events::StreamKey(prefix_, events::kAuditTopic), "*",
                                "event_id", envelope.event_id(), "type", envelope.event_type(),
                                "tenant", envelope.tenant_id(), "aggregate",
                                envelope.aggregate_id(), "event", envelope.SerializeAsString()})
                     .status());
  }

  // (sequence, resource_id) of `tenant`'s entries, oldest first.
  std::vector<std::pair<int64_t, std::string>> Chain(const std::string& tenant) {
    v1::ListAuditEventsRequest request;
    request.set_page_size(1000);
    const v1::ListAuditEventsResponse listed = List(request, tenant);
    std::vector<std::pair<int64_t, std::string>> chain;
    for (auto event = listed.events().rbegin(); event != listed.events().rend(); ++event) {
      chain.emplace_back(event->sequence(), event->resource_id());
    }
    return chain;
  }

  // (1, "<prefix>0"), (2, "<prefix>1"), ...: `count` entries from sequence `first`.
  static std::vector<std::pair<int64_t, std::string>> Expected(const std::string& prefix, int count,
                                                               int64_t first = 1) {
    std::vector<std::pair<int64_t, std::string>> chain;
    for (int i = 0; i < count; ++i) chain.emplace_back(first + i, absl::StrCat(prefix, i));
    return chain;
  }

  // How many transactions wrote `tenant`'s entries from sequence `from` on.
  int Transactions(const std::string& tenant, int64_t from = 1) {
    int count = -1;
    TL_EXPECT_OK(pg_->Transact([&](pqxx::work& txn) {
      count = txn.exec_params(
                     "SELECT count(DISTINCT xmin::text) FROM audit_events"
                     " WHERE tenant_id = $1 AND sequence >= $2",
                     tenant, from)[0][0]
                  .as<int>();
      return absl::OkStatus();
    }));
    return count;
  }

  long long PendingCount(redis::Pool* redis) {
    absl::StatusOr<redis::Reply> reply = redis->Command(
        {"XPENDING", events::StreamKey(prefix_, events::kAuditTopic), "permissions-audit"});
    EXPECT_THAT(reply, touchline::testing::IsOk());
    return reply.ok() && reply->is_array() ? (*reply)[0].integer() : -1;
  }
};

TEST_F(AuditLogBatchTest, BatchIsAppendedInStreamOrderInOneTransaction) {
  constexpr int kEvents = 40;
  for (int i = 0; i < kEvents; ++i) Publish(redis_.get(), Read("acme", absl::StrCat("c-", i)));
  auto consumer = BatchConsumer(redis_.get(), absl::Seconds(30));

  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
  EXPECT_EQ(applied, kEvents);
  EXPECT_EQ(Chain("acme"), Expected("c-", kEvents));
  EXPECT_EQ(Transactions("acme"), 1);
  const v1::VerifyAuditChainResponse verified = Verify("acme");
  EXPECT_TRUE(verified.intact()) << verified.detail();
  EXPECT_EQ(verified.entries_checked(), kEvents);
  EXPECT_EQ(PendingCount(redis_.get()), 0);
}

TEST_F(AuditLogBatchTest, BatchCommittedButNotAcknowledgedIsNotAppendedTwice) {
  // A server of the test's own, whose ACL the test changes: XACK refused is a consumer that
  // died between its commit and its acknowledgement.
  touchline::testing::ThrowawayRedis server;
  TL_ASSERT_OK(server.Start());
  TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                          redis::ParseRedisAddress(server.address()));
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::Pool> redis, redis::Pool::Create(redis_options));
  constexpr int kEvents = 12;
  for (int i = 0; i < kEvents; ++i) Publish(redis.get(), Read("acme", absl::StrCat("c-", i)));
  TL_ASSERT_OK(redis->Command({"ACL", "SETUSER", "default", "-xack"}).status());
  auto consumer = BatchConsumer(redis.get(), absl::ZeroDuration());
  EXPECT_THAT(consumer->PollOnce(), StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(Chain("acme"), Expected("c-", kEvents));
  EXPECT_EQ(PendingCount(redis.get()), kEvents);

  // The whole batch is delivered again (claim_idle is zero) and skipped.
  TL_ASSERT_OK(redis->Command({"ACL", "SETUSER", "default", "+xack"}).status());
  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
  EXPECT_EQ(applied, 0);
  EXPECT_EQ(PendingCount(redis.get()), 0);
  EXPECT_EQ(Chain("acme"), Expected("c-", kEvents));
  EXPECT_TRUE(Verify("acme").intact());
}

TEST_F(AuditLogBatchTest, PoisonEventIsDeadLetteredAloneAndTheOthersAppendedOnce) {
  events::v1::AuditRecorded bad_time;
  ASSERT_TRUE(Read("acme", "x").payload().UnpackTo(&bad_time));
  bad_time.mutable_event()->mutable_occur_time()->set_seconds(300000000000);  // Year 11476.
  const EventEnvelope poison =
      events::MakeEnvelope(bad_time, "acme", "customer", "poison", "req-9", "user-9");
  Publish(redis_.get(), Read("acme", "c-0"));
  Publish(redis_.get(), Read("acme", "c-1"));
  Publish(redis_.get(), poison);
  Publish(redis_.get(), Read("acme", "c-2"));
  Publish(redis_.get(), Read("acme", "c-3"));
  auto consumer = BatchConsumer(redis_.get(), absl::ZeroDuration(), /*max_deliveries=*/2);

  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
  EXPECT_EQ(applied, 4);
  EXPECT_EQ(PendingCount(redis_.get()), 1);
  // Delivered a second time, failing again; the third delivery is the dead letter.
  for (int pass = 0; pass < 3; ++pass) {
    TL_ASSERT_OK_AND_ASSIGN(const int again, consumer->PollOnce());
    EXPECT_EQ(again, 0);
  }
  EXPECT_EQ(PendingCount(redis_.get()), 0);
  EXPECT_EQ(Chain("acme"), Expected("c-", 4));
  EXPECT_TRUE(Verify("acme").intact());

  absl::StatusOr<redis::Reply> letters = redis_->Command(
      {"XRANGE", events::DeadLetterKey(prefix_, events::kAuditTopic, "permissions-audit"), "-",
       "+"});
  TL_ASSERT_OK(letters.status());
  ASSERT_EQ(letters->size(), 1u);
  const redis::ReplyView fields = (*letters)[0][1];
  std::map<std::string, std::string> letter;
  for (size_t f = 0; f + 1 < fields.size(); f += 2) {
    letter[std::string(fields[f].str())] = std::string(fields[f + 1].str());
  }
  EXPECT_EQ(letter["event_id"], poison.event_id());
  EXPECT_THAT(letter["error"], HasSubstr("occur_time is not a valid timestamp"));
}

TEST_F(AuditLogBatchTest, SeveralTenantsInOneBatchEachGetTheirOwnGaplessChain) {
  // beta's chain has begun before the batch; acme's and gamma's begin in it.
  TL_ASSERT_OK(Append("beta", Event("earlier", "user-1", "customer", "before")));
  const std::vector<std::string> tenants = {"gamma", "acme", "beta"};
  constexpr int kPerTenant = 10;
  for (int i = 0; i < kPerTenant; ++i) {
    for (const std::string& tenant : tenants) {
      Publish(redis_.get(), Read(tenant, absl::StrCat(tenant, "-", i)));
    }
  }
  auto consumer = BatchConsumer(redis_.get(), absl::Seconds(30));

  TL_ASSERT_OK_AND_ASSIGN(const int applied, consumer->PollOnce());
  EXPECT_EQ(applied, 3 * kPerTenant);
  EXPECT_EQ(Chain("acme"), Expected("acme-", kPerTenant));
  EXPECT_EQ(Chain("gamma"), Expected("gamma-", kPerTenant));
  std::vector<std::pair<int64_t, std::string>> beta = {{1, "before"}};
  for (const auto& entry : Expected("beta-", kPerTenant, 2)) beta.push_back(entry);
  EXPECT_EQ(Chain("beta"), beta);
  for (const std::string& tenant : tenants) {
    const v1::VerifyAuditChainResponse verified = Verify(tenant);
    EXPECT_TRUE(verified.intact()) << tenant << ": " << verified.detail();
    EXPECT_EQ(Transactions(tenant, tenant == "beta" ? 2 : 1), 1) << tenant;
  }
}

TEST_F(AuditLogTest, ConcurrentMultiTenantAppendsNeitherDeadlockNorLeaveGaps) {
  // Each transaction appends to the three tenants in a different order; heads locked in the
  // order met would deadlock, and without retries (0) a deadlock fails the append.
  const std::vector<std::vector<std::string>> orders = {
      {"acme", "beta", "gamma"}, {"gamma", "beta", "acme"}, {"beta", "gamma", "acme"}};
  constexpr int kRounds = 30;
  std::vector<std::thread> threads;
  for (const std::vector<std::string>& order : orders) {
    threads.emplace_back([&, order] {
      for (int round = 0; round < kRounds; ++round) {
        std::vector<TenantAuditEvent> batch;
        for (const std::string& tenant : order) {
          batch.push_back({tenant, Event(absl::StrCat("round ", round))});
          batch.push_back({tenant, Event(absl::StrCat("round ", round, " again"))});
        }
        TL_EXPECT_OK(pg_->Transact(
            [&](pqxx::work& txn) {
              AuditLog::Append(txn, batch);
              return absl::OkStatus();
            },
            /*retries=*/0));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const char* tenant : {"acme", "beta", "gamma"}) {
    const v1::VerifyAuditChainResponse verified = Verify(tenant);
    EXPECT_TRUE(verified.intact()) << tenant << ": " << verified.detail();
    EXPECT_EQ(verified.entries_checked(), 2 * kRounds * static_cast<int>(orders.size()));
  }
}

}  // namespace
}  // namespace touchline::permissions
