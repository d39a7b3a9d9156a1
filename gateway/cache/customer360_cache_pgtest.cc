// The customer 360 cache against a real Redis (TOUCHLINE_REDIS_ADDR): hits and misses, one
// loader per key, no write-back after an invalidation or of an entry not storable, TTL
// jitter, and Redis unreachable.
#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gateway/cache/customer360_cache.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::gateway {
namespace {

using Entry = Customer360Cache::Entry;
using Loaded = Customer360Cache::Loaded;

constexpr char kTenant[] = "acme";
constexpr char kCustomer[] = "0b6f3a52-8f7e-4c1e-9a57-3e2d7c1a0001";

Entry MakeEntry(const std::string& name) {
  Entry entry;
  entry.mutable_customer()->set_customer_id(kCustomer);
  entry.mutable_customer()->set_display_name(name);
  entry.add_touchpoints()->set_subject("客户投诉：物流太慢");
  journeys::v1::CustomerJourney* journey = entry.add_journeys();
  journey->set_journey_display_name("零售客户旅程");
  journey->set_stage_id("consideration");
  return entry;
}

class Customer360CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions options,
                            redis::ParseRedisAddress(touchline::testing::TestRedisAddr()));
    options.pool_size = 16;
    TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(options));
    options_.key_prefix = touchline::testing::UniqueRedisPrefix();
    options_.ttl = absl::Seconds(100);
  }

  std::unique_ptr<Customer360Cache> Cache() {
    return std::make_unique<Customer360Cache>(redis_.get(), options_);
  }

  // A load that counts its calls and returns `entry`.
  Customer360Cache::LoadFn Counting(std::atomic<int>* calls, Entry entry) {
    return [calls, entry] {
      ++*calls;
      return absl::StatusOr<Loaded>(Loaded{.entry = entry});
    };
  }

  long long Integer(const std::vector<std::string>& command) {
    absl::StatusOr<redis::Reply> reply = redis_->Command(command);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->integer() : -1;
  }

  std::unique_ptr<redis::Pool> redis_;
  Customer360CacheOptions options_;
};

TEST_F(Customer360CacheTest, EntryKeyCarriesTenantAndCustomerInOneHashTag) {
  EXPECT_EQ(Cache()->EntryKey(kTenant, kCustomer),
            options_.key_prefix + ":c360:{acme:" + kCustomer + "}");
}

TEST_F(Customer360CacheTest, MissLoadsAndStoresThenHitsWithoutLoading) {
  auto cache = Cache();
  std::atomic<int> calls = 0;
  TL_ASSERT_OK_AND_ASSIGN(
      auto first, cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("华为"))));
  EXPECT_EQ(first.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(first.entry.customer().display_name(), "华为");
  TL_ASSERT_OK_AND_ASSIGN(auto second,
                          cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("x"))));
  EXPECT_EQ(second.outcome, CacheOutcome::kHit);
  EXPECT_EQ(second.entry.customer().display_name(), "华为");
  EXPECT_EQ(second.entry.touchpoints(0).subject(), "客户投诉：物流太慢");
  ASSERT_EQ(second.entry.journeys_size(), 1);
  EXPECT_EQ(second.entry.journeys(0).stage_id(), "consideration");
  EXPECT_EQ(calls, 1);
}

TEST_F(Customer360CacheTest, EntriesOfTenantsAreSeparate) {
  auto cache = Cache();
  std::atomic<int> calls = 0;
  TL_ASSERT_OK(cache->GetOrLoad("acme", kCustomer, Counting(&calls, MakeEntry("a"))).status());
  TL_ASSERT_OK_AND_ASSIGN(auto other,
                          cache->GetOrLoad("globex", kCustomer, Counting(&calls, MakeEntry("g"))));
  EXPECT_EQ(other.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(other.entry.customer().display_name(), "g");
}

TEST_F(Customer360CacheTest, InvalidateMakesTheNextReadLoadAgain) {
  auto cache = Cache();
  std::atomic<int> calls = 0;
  TL_ASSERT_OK(cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("old"))).status());
  TL_ASSERT_OK(cache->Invalidate(kTenant, kCustomer));
  TL_ASSERT_OK_AND_ASSIGN(auto after,
                          cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("new"))));
  EXPECT_EQ(after.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(after.entry.customer().display_name(), "new");
  EXPECT_EQ(calls, 2);
}

TEST_F(Customer360CacheTest, LoadInvalidatedWhileRunningIsServedButNotStored) {
  auto cache = Cache();
  // The change lands (and its event is applied) after the load read the old data.
  TL_ASSERT_OK_AND_ASSIGN(auto slow, cache->GetOrLoad(kTenant, kCustomer, [&] {
    EXPECT_THAT(cache->Invalidate(kTenant, kCustomer), touchline::testing::IsOk());
    return absl::StatusOr<Loaded>(Loaded{.entry = MakeEntry("stale")});
  }));
  EXPECT_EQ(slow.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(slow.entry.customer().display_name(), "stale");

  std::atomic<int> calls = 0;
  TL_ASSERT_OK_AND_ASSIGN(
      auto next, cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("fresh"))));
  EXPECT_EQ(next.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(next.entry.customer().display_name(), "fresh");
  EXPECT_EQ(calls, 1);
}

TEST_F(Customer360CacheTest, InvalidatingAnAbsentEntryLeavesNoKey) {
  auto cache = Cache();
  TL_ASSERT_OK(cache->Invalidate(kTenant, kCustomer));
  EXPECT_EQ(Integer({"EXISTS", cache->EntryKey(kTenant, kCustomer)}), 0);
}

TEST_F(Customer360CacheTest, ConcurrentMissesLoadOnce) {
  auto cache = Cache();
  std::atomic<int> calls = 0;
  absl::Notification release;
  constexpr int kCallers = 8;
  std::vector<CacheOutcome> outcomes(kCallers);
  std::vector<std::string> names(kCallers);
  std::atomic<int> started = 0;
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      ++started;
      absl::StatusOr<Customer360Cache::Result> result = cache->GetOrLoad(kTenant, kCustomer, [&] {
        ++calls;
        // Hold the lock until every caller has asked.
        release.WaitForNotificationWithTimeout(absl::Seconds(2));
        return absl::StatusOr<Loaded>(Loaded{.entry = MakeEntry("once")});
      });
      ASSERT_TRUE(result.ok()) << result.status();
      outcomes[i] = result->outcome;
      names[i] = result->entry.customer().display_name();
    });
  }
  while (started < kCallers) std::this_thread::yield();
  absl::SleepFor(absl::Milliseconds(100));
  release.Notify();
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), CacheOutcome::kMiss), 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), CacheOutcome::kHit), kCallers - 1);
  EXPECT_THAT(names, ::testing::Each("once"));
}

TEST_F(Customer360CacheTest, FailedLoadIsNotStoredAndTheNextCallLoadsAgain) {
  auto cache = Cache();
  const absl::StatusOr<Customer360Cache::Result> failed = cache->GetOrLoad(
      kTenant, kCustomer, [] { return absl::StatusOr<Loaded>(absl::UnavailableError("down")); });
  EXPECT_THAT(failed.status(), touchline::testing::StatusIs(absl::StatusCode::kUnavailable));
  // The lock was given back: no wait for it to expire.
  EXPECT_EQ(Integer({"EXISTS", cache->EntryKey(kTenant, kCustomer) + ":lock"}), 0);
  std::atomic<int> calls = 0;
  TL_ASSERT_OK_AND_ASSIGN(auto next,
                          cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("ok"))));
  EXPECT_EQ(next.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(calls, 1);
}

TEST_F(Customer360CacheTest, AnEntryNotStorableIsServedAsBypassAndTheNextCallLoadsAgain) {
  auto cache = Cache();
  std::atomic<int> calls = 0;
  const auto partial = [&] {
    ++calls;
    return absl::StatusOr<Loaded>(Loaded{.entry = MakeEntry("缺旅程"), .storable = false});
  };
  for (int i = 0; i < 2; ++i) {
    TL_ASSERT_OK_AND_ASSIGN(auto served, cache->GetOrLoad(kTenant, kCustomer, partial));
    EXPECT_EQ(served.outcome, CacheOutcome::kBypass);
    EXPECT_EQ(served.entry.customer().display_name(), "缺旅程");
    // Nothing stored, and the lock given back: no wait for it to expire.
    EXPECT_EQ(Integer({"HEXISTS", cache->EntryKey(kTenant, kCustomer), "data"}), 0);
    EXPECT_EQ(Integer({"EXISTS", cache->EntryKey(kTenant, kCustomer) + ":lock"}), 0);
  }
  EXPECT_EQ(calls, 2);
  // A whole entry is stored as ever.
  TL_ASSERT_OK_AND_ASSIGN(auto whole,
                          cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("全"))));
  EXPECT_EQ(whole.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(Integer({"HEXISTS", cache->EntryKey(kTenant, kCustomer), "data"}), 1);
}

TEST_F(Customer360CacheTest, TtlIsJitteredWithinBounds) {
  options_.ttl_jitter = 0.1;
  auto cache = Cache();
  std::set<long long> ttls;
  for (int i = 0; i < 20; ++i) {
    const std::string customer = "customer-" + std::to_string(i);
    std::atomic<int> calls = 0;
    TL_ASSERT_OK(cache->GetOrLoad(kTenant, customer, Counting(&calls, MakeEntry("t"))).status());
    const long long ttl = Integer({"PTTL", cache->EntryKey(kTenant, customer)});
    EXPECT_GE(ttl, 89'000);
    EXPECT_LE(ttl, 110'000);
    ttls.insert(ttl / 1000);
  }
  // Twenty entries written together do not all expire in the same second.
  EXPECT_GT(ttls.size(), 3u);
}

TEST_F(Customer360CacheTest, UnreachableRedisServesFromTheLoaderEveryTime) {
  redis::RedisOptions closed;
  closed.port = 1;  // nothing listens there
  closed.timeout = absl::Milliseconds(200);
  TL_ASSERT_OK_AND_ASSIGN(auto down, redis::Pool::Create(closed));
  Customer360Cache cache(down.get(), options_);
  std::atomic<int> calls = 0;
  for (int i = 0; i < 3; ++i) {
    TL_ASSERT_OK_AND_ASSIGN(auto served,
                            cache.GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("d"))));
    EXPECT_EQ(served.outcome, CacheOutcome::kBypass);
    EXPECT_EQ(served.entry.customer().display_name(), "d");
  }
  EXPECT_EQ(calls, 3);
  EXPECT_THAT(cache.Invalidate(kTenant, kCustomer),
              touchline::testing::StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(Customer360CacheTest, CachingResumesAfterTheFailurePause) {
  options_.retry_after_failure = absl::ZeroDuration();
  auto cache = Cache();
  std::atomic<int> calls = 0;
  // A key of the wrong type makes Redis refuse the write, as a broken server would.
  const std::string key = cache->EntryKey(kTenant, kCustomer);
  TL_ASSERT_OK(redis_->Command({"SET", key, "not a hash"}).status());
  TL_ASSERT_OK_AND_ASSIGN(auto refused,
                          cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("r"))));
  EXPECT_EQ(refused.entry.customer().display_name(), "r");
  // The refused write gave the lock back: the next caller need not wait it out.
  EXPECT_EQ(Integer({"EXISTS", key + ":lock"}), 0);
  TL_ASSERT_OK(redis_->Command({"DEL", key}).status());
  TL_ASSERT_OK_AND_ASSIGN(auto miss,
                          cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("m"))));
  EXPECT_EQ(miss.outcome, CacheOutcome::kMiss);
  TL_ASSERT_OK_AND_ASSIGN(auto hit,
                          cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("h"))));
  EXPECT_EQ(hit.outcome, CacheOutcome::kHit);
  EXPECT_EQ(hit.entry.customer().display_name(), "m");
}

// Waits for one Lookup's answer, parsed.
absl::StatusOr<std::optional<Entry>> LookupNow(Customer360Cache& cache, const std::string& tenant,
                                               const std::string& customer) {
  absl::Notification answered;
  absl::StatusOr<std::optional<std::string>> result;
  cache.Lookup(tenant, customer, [&](absl::StatusOr<std::optional<std::string>> found) {
    result = std::move(found);
    answered.Notify();
  });
  answered.WaitForNotification();
  if (!result.ok()) return result.status();
  if (!result->has_value()) return std::optional<Entry>();
  Entry entry;
  if (!entry.ParseFromString(**result)) return absl::DataLossError("stored entry does not parse");
  return entry;
}

TEST_F(Customer360CacheTest, LookupFindsStoredEntriesAndReportsMisses) {
  auto cache = Cache();
  std::atomic<int> calls = 0;
  TL_ASSERT_OK(cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("查到"))).status());
  TL_ASSERT_OK_AND_ASSIGN(std::optional<Entry> found, LookupNow(*cache, kTenant, kCustomer));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->customer().display_name(), "查到");
  TL_ASSERT_OK_AND_ASSIGN(std::optional<Entry> other, LookupNow(*cache, "globex", kCustomer));
  EXPECT_FALSE(other.has_value());
  TL_ASSERT_OK(cache->Invalidate(kTenant, kCustomer));
  TL_ASSERT_OK_AND_ASSIGN(std::optional<Entry> dropped, LookupNow(*cache, kTenant, kCustomer));
  EXPECT_FALSE(dropped.has_value());
  EXPECT_EQ(calls, 1);
}

TEST_F(Customer360CacheTest, ConcurrentLookupsAllGetTheirOwnEntry) {
  auto cache = Cache();
  constexpr int kCustomers = 50;
  for (int i = 0; i < kCustomers; ++i) {
    std::atomic<int> calls = 0;
    TL_ASSERT_OK(cache
                     ->GetOrLoad(kTenant, "c" + std::to_string(i),
                                 Counting(&calls, MakeEntry("客户" + std::to_string(i))))
                     .status());
  }
  std::vector<std::string> names(kCustomers);
  std::atomic<int> pending = kCustomers;
  absl::Notification all;
  for (int i = 0; i < kCustomers; ++i) {
    cache->Lookup(kTenant, "c" + std::to_string(i),
                  [&, i](absl::StatusOr<std::optional<std::string>> found) {
                    Entry entry;
                    if (found.ok() && found->has_value() && entry.ParseFromString(**found)) {
                      names[i] = entry.customer().display_name();
                    }
                    if (--pending == 0) all.Notify();
                  });
  }
  all.WaitForNotification();
  for (int i = 0; i < kCustomers; ++i) EXPECT_EQ(names[i], "客户" + std::to_string(i));
}

TEST_F(Customer360CacheTest, LookupWithRedisUnreachableIsUnavailable) {
  redis::RedisOptions closed;
  closed.port = 1;
  TL_ASSERT_OK_AND_ASSIGN(auto down, redis::Pool::Create(closed));
  Customer360Cache cache(down.get(), options_);
  EXPECT_THAT(LookupNow(cache, kTenant, kCustomer).status(),
              touchline::testing::StatusIs(absl::StatusCode::kUnavailable));
  // Left alone after the failure: answered without trying Redis again.
  EXPECT_THAT(LookupNow(cache, kTenant, kCustomer).status(),
              touchline::testing::StatusIs(absl::StatusCode::kUnavailable));
}

// Waits for one LookupPrepared's answer.
absl::StatusOr<Customer360Cache::PreparedLookup> LookupPreparedNow(Customer360Cache& cache,
                                                                   const std::string& field) {
  absl::Notification answered;
  absl::StatusOr<Customer360Cache::PreparedLookup> result;
  cache.LookupPrepared(kTenant, kCustomer, field,
                       [&](absl::StatusOr<Customer360Cache::PreparedLookup> found) {
                         result = std::move(found);
                         answered.Notify();
                       });
  answered.WaitForNotification();
  return result;
}

TEST_F(Customer360CacheTest, LookupPreparedBringsTheViewOrElseTheEntryAndItsVersion) {
  auto cache = Cache();
  TL_ASSERT_OK_AND_ASSIGN(auto missing, LookupPreparedNow(*cache, "pv1:a:proto"));
  EXPECT_FALSE(missing.prepared.has_value());
  EXPECT_FALSE(missing.entry.has_value());

  std::atomic<int> calls = 0;
  TL_ASSERT_OK(cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("原样"))).status());
  TL_ASSERT_OK_AND_ASSIGN(auto entry_only, LookupPreparedNow(*cache, "pv1:a:proto"));
  EXPECT_FALSE(entry_only.prepared.has_value());
  ASSERT_TRUE(entry_only.entry.has_value());
  EXPECT_EQ(*entry_only.entry, MakeEntry("原样").SerializeAsString());
  EXPECT_EQ(entry_only.version, "0");

  TL_ASSERT_OK_AND_ASSIGN(bool stored,
                          cache->StorePrepared(kTenant, kCustomer, "pv1:a:proto", "view a",
                                               *entry_only.entry, entry_only.version));
  EXPECT_TRUE(stored);
  TL_ASSERT_OK_AND_ASSIGN(auto prepared, LookupPreparedNow(*cache, "pv1:a:proto"));
  EXPECT_EQ(prepared.prepared, "view a");
  EXPECT_FALSE(prepared.entry.has_value());  // the view comes alone
  // Another profile's field is not this one's.
  TL_ASSERT_OK_AND_ASSIGN(auto other, LookupPreparedNow(*cache, "pv1:b:proto"));
  EXPECT_FALSE(other.prepared.has_value());
  EXPECT_TRUE(other.entry.has_value());
}

TEST_F(Customer360CacheTest, InvalidationDropsPreparedViewsAndRefusesStalePrepares) {
  auto cache = Cache();
  std::atomic<int> calls = 0;
  TL_ASSERT_OK(cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("old"))).status());
  TL_ASSERT_OK_AND_ASSIGN(auto read, LookupPreparedNow(*cache, "pv1:a:json"));
  ASSERT_TRUE(read.entry.has_value());
  TL_ASSERT_OK_AND_ASSIGN(bool stored, cache->StorePrepared(kTenant, kCustomer, "pv1:a:json",
                                                            "view a", *read.entry, read.version));
  ASSERT_TRUE(stored);
  TL_ASSERT_OK_AND_ASSIGN(auto read_b, LookupPreparedNow(*cache, "pv1:b:json"));

  TL_ASSERT_OK(cache->Invalidate(kTenant, kCustomer));
  const std::string key = cache->EntryKey(kTenant, kCustomer);
  EXPECT_EQ(Integer({"HLEN", key}), 1);  // "ver" alone
  EXPECT_EQ(Integer({"HEXISTS", key, "ver"}), 1);
  TL_ASSERT_OK_AND_ASSIGN(auto dropped, LookupPreparedNow(*cache, "pv1:a:json"));
  EXPECT_FALSE(dropped.prepared.has_value());
  EXPECT_FALSE(dropped.entry.has_value());

  // A view prepared from what was read before the invalidation is not written back: not onto
  // the entry's remains, nor onto the entry reloaded since.
  TL_ASSERT_OK_AND_ASSIGN(
      bool stale, cache->StorePrepared(kTenant, kCustomer, "pv1:b:json", "view b", *read_b.entry,
                                       read_b.version));
  EXPECT_FALSE(stale);
  TL_ASSERT_OK(cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("new"))).status());
  TL_ASSERT_OK_AND_ASSIGN(stale, cache->StorePrepared(kTenant, kCustomer, "pv1:b:json", "view b",
                                                      *read_b.entry, read_b.version));
  EXPECT_FALSE(stale);
  EXPECT_EQ(Integer({"HLEN", key}), 2);  // "ver" and "data": no view
  // The entry's version is right but its data is not what the view was made from.
  TL_ASSERT_OK_AND_ASSIGN(auto fresh, LookupPreparedNow(*cache, "pv1:b:json"));
  ASSERT_TRUE(fresh.entry.has_value());
  TL_ASSERT_OK_AND_ASSIGN(stale, cache->StorePrepared(kTenant, kCustomer, "pv1:b:json", "view b",
                                                      *read_b.entry, fresh.version));
  EXPECT_FALSE(stale);
  TL_ASSERT_OK_AND_ASSIGN(
      bool current, cache->StorePrepared(kTenant, kCustomer, "pv1:b:json", "view b2", *fresh.entry,
                                         fresh.version));
  EXPECT_TRUE(current);
}

TEST_F(Customer360CacheTest, APrepareIsNotWrittenOntoAnExpiredEntry) {
  auto cache = Cache();
  std::atomic<int> calls = 0;
  TL_ASSERT_OK(cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("e"))).status());
  TL_ASSERT_OK_AND_ASSIGN(auto read, LookupPreparedNow(*cache, "pv1:a:proto"));
  ASSERT_TRUE(read.entry.has_value());
  const std::string key = cache->EntryKey(kTenant, kCustomer);
  TL_ASSERT_OK(redis_->Command({"DEL", key}).status());  // as when its TTL ran out
  TL_ASSERT_OK_AND_ASSIGN(bool stored, cache->StorePrepared(kTenant, kCustomer, "pv1:a:proto",
                                                            "view", *read.entry, read.version));
  EXPECT_FALSE(stored);
  EXPECT_EQ(Integer({"EXISTS", key}), 0);  // no hash without a TTL left behind
}

TEST_F(Customer360CacheTest, StoringNewDataDropsViewsPreparedFromEarlierData) {
  auto cache = Cache();
  const std::string key = cache->EntryKey(kTenant, kCustomer);
  // Views left without their data (as a gateway of an earlier version might).
  TL_ASSERT_OK(redis_->Command({"HSET", key, "pv1:a:proto@0", "orphan"}).status());
  std::atomic<int> calls = 0;
  TL_ASSERT_OK(cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("d"))).status());
  EXPECT_EQ(Integer({"HEXISTS", key, "pv1:a:proto@0"}), 0);
  EXPECT_EQ(Integer({"HEXISTS", key, "data"}), 1);
  EXPECT_GT(Integer({"PTTL", key}), 0);
}

TEST_F(Customer360CacheTest, AViewIsNotServedAfterAnInvalidationThatKeptIt) {
  // What an earlier gateway's invalidation does (during a rollout): the version bumped and
  // "data" dropped, views left in place; then data reloaded by it at the new version.
  auto cache = Cache();
  std::atomic<int> calls = 0;
  TL_ASSERT_OK(cache->GetOrLoad(kTenant, kCustomer, Counting(&calls, MakeEntry("old"))).status());
  TL_ASSERT_OK_AND_ASSIGN(auto read, LookupPreparedNow(*cache, "pv1:a:proto"));
  ASSERT_TRUE(read.entry.has_value());
  TL_ASSERT_OK_AND_ASSIGN(bool stored, cache->StorePrepared(kTenant, kCustomer, "pv1:a:proto",
                                                            "old view", *read.entry, read.version));
  ASSERT_TRUE(stored);
  const std::string key = cache->EntryKey(kTenant, kCustomer);
  TL_ASSERT_OK(redis_->Command({"HINCRBY", key, "ver", "1"}).status());
  TL_ASSERT_OK(redis_->Command({"HDEL", key, "data"}).status());
  TL_ASSERT_OK_AND_ASSIGN(auto after, LookupPreparedNow(*cache, "pv1:a:proto"));
  EXPECT_FALSE(after.prepared.has_value());
  EXPECT_FALSE(after.entry.has_value());
  TL_ASSERT_OK(
      redis_->Command({"HSET", key, "data", MakeEntry("new").SerializeAsString()}).status());
  TL_ASSERT_OK_AND_ASSIGN(auto reloaded, LookupPreparedNow(*cache, "pv1:a:proto"));
  EXPECT_FALSE(reloaded.prepared.has_value());
  ASSERT_TRUE(reloaded.entry.has_value());
  EXPECT_EQ(reloaded.version, "1");
}

TEST_F(Customer360CacheTest, LookupPreparedOfAKeyOfTheWrongTypeIsAMiss) {
  auto cache = Cache();
  TL_ASSERT_OK(
      redis_->Command({"SET", cache->EntryKey(kTenant, kCustomer), "not a hash"}).status());
  TL_ASSERT_OK_AND_ASSIGN(auto found, LookupPreparedNow(*cache, "pv1:a:proto"));
  EXPECT_FALSE(found.prepared.has_value());
  EXPECT_FALSE(found.entry.has_value());
}

TEST_F(Customer360CacheTest, LookupPreparedWithRedisUnreachableIsUnavailable) {
  redis::RedisOptions closed;
  closed.port = 1;
  TL_ASSERT_OK_AND_ASSIGN(auto down, redis::Pool::Create(closed));
  Customer360Cache cache(down.get(), options_);
  EXPECT_THAT(LookupPreparedNow(cache, "pv1:a:proto").status(),
              touchline::testing::StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(cache.StorePrepared(kTenant, kCustomer, "pv1:a:proto", "v", "e", "0").status(),
              touchline::testing::StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace touchline::gateway
