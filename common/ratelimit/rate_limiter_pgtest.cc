#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>

#include "absl/time/time.h"
#include "common/ratelimit/rate_limiter.h"
#include "common/redis/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::ratelimit {

void PrintTo(const RateDecision& decision, std::ostream* out) {
  *out << "{allowed=" << decision.allowed << " remaining=" << decision.remaining
       << " retry_after=" << decision.retry_after << " reset_after=" << decision.reset_after << "}";
}

namespace {

using ::testing::AllOf;
using ::testing::FieldsAre;
using ::testing::Gt;
using ::testing::HasSubstr;
using ::testing::Le;
using ::touchline::testing::StatusIs;

MATCHER_P(IsOkAndHolds, matcher, "") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

auto Allowed(int remaining, absl::Duration reset_after) {
  return IsOkAndHolds(FieldsAre(true, remaining, absl::ZeroDuration(), reset_after));
}

auto Refused(absl::Duration retry_after, absl::Duration reset_after) {
  return IsOkAndHolds(FieldsAre(false, 0, retry_after, reset_after));
}

std::unique_ptr<redis::Pool> PoolAt(const std::string& address) {
  absl::StatusOr<redis::RedisOptions> options = redis::ParseRedisAddress(address);
  EXPECT_THAT(options, touchline::testing::IsOk());
  if (!options.ok()) return nullptr;
  absl::StatusOr<std::unique_ptr<redis::Pool>> pool = redis::Pool::Create(*options);
  EXPECT_THAT(pool, touchline::testing::IsOk());
  return pool.ok() ? std::move(pool).value() : nullptr;
}

// How many times `command` has run on the server, from INFO commandstats.
long long CallsOf(redis::Pool& pool, std::string_view command) {
  absl::StatusOr<redis::Reply> info = pool.Command({"INFO", "commandstats"});
  EXPECT_THAT(info, touchline::testing::IsOk());
  if (!info.ok()) return -1;
  const std::string text(info->str());
  const std::string field = "cmdstat_" + std::string(command) + ":calls=";
  const size_t at = text.find(field);
  return at == std::string::npos ? 0 : std::stoll(text.substr(at + field.size()));
}

TEST(ParseRateLimitTest, ParsesRatePerSecondOrMinuteAndBurst) {
  struct Case {
    std::string_view text;
    double per_second;
    int burst;
  };
  for (const Case& c : {Case{"50/s:100", 50, 100}, Case{"600/m", 10, 10}, Case{"0.5/s", 0.5, 1},
                        Case{"2.5/s", 2.5, 3}, Case{"90/m", 1.5, 2}, Case{"1/m:5", 1.0 / 60, 5},
                        Case{"1000000/s", 1e6, 1000000}, Case{"3/s:1", 3, 1}}) {
    TL_ASSERT_OK_AND_ASSIGN(std::optional<RateLimit> limit, ParseRateLimit(c.text));
    ASSERT_TRUE(limit.has_value()) << c.text;
    EXPECT_DOUBLE_EQ(limit->per_second, c.per_second) << c.text;
    EXPECT_EQ(limit->burst, c.burst) << c.text;
  }
}

TEST(ParseRateLimitTest, EmptyOrOffIsNoLimit) {
  for (std::string_view text : {"", "off"}) {
    TL_ASSERT_OK_AND_ASSIGN(std::optional<RateLimit> limit, ParseRateLimit(text));
    EXPECT_FALSE(limit.has_value()) << text;
  }
}

TEST(ParseRateLimitTest, RejectsMalformedOrInvalidLimitsSayingWhy) {
  struct Case {
    std::string_view text;
    std::string_view problem;
  };
  for (const Case& c : {Case{"50", "expected <rate>/s"},
                        Case{"OFF", "expected <rate>/s"},
                        Case{"50/h", "unit"},
                        Case{"50/s ", "unit"},
                        Case{"50/sec", "unit"},
                        Case{"/s", "rate is not a number"},
                        Case{"x/s", "rate is not a number"},
                        Case{" 50/s", "rate is not a number"},
                        Case{"+5/s", "rate is not"},
                        Case{"0/s", "positive"},
                        Case{"-1/s", "positive"},
                        Case{"inf/s", "positive"},
                        Case{"nan/m", "positive"},
                        Case{"2000000/s", "at most 1000000"},
                        Case{"50/s:", "burst"},
                        Case{"50/s:x", "burst"},
                        Case{"50/s:1.5", "burst"},
                        Case{"50/s:0", "burst must be at least 1"},
                        Case{"50/s:-3", "burst"},
                        Case{"50/s:99999999999", "burst"},
                        Case{"1/m:2000", "within a day"},
                        Case{"0.00001/s", "within a day"}}) {
    EXPECT_THAT(ParseRateLimit(c.text), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 AllOf(HasSubstr("\"" + std::string(c.text) + "\""),
                                                       HasSubstr(std::string(c.problem)))))
        << c.text;
  }
}

class RateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = PoolAt(touchline::testing::TestRedisAddr());
    ASSERT_NE(pool_, nullptr);
    RateLimiter::Options options;
    options.key_prefix = prefix_;
    options.clock = [this] { return now_; };
    limiter_ = std::make_unique<RateLimiter>(pool_.get(), options);
  }

  absl::StatusOr<RateDecision> Take(std::string_view id, const RateLimit& limit) {
    return limiter_->Take("tenant-1", "api_key", id, limit);
  }

  const std::string prefix_ = touchline::testing::UniqueRedisPrefix();
  absl::Time now_ = absl::FromUnixMicros(1'700'000'000'123'456);
  std::unique_ptr<redis::Pool> pool_;
  std::unique_ptr<RateLimiter> limiter_;
};

TEST_F(RateLimiterTest, AllowsTheBurstThenRefusesWithExactRetryAfter) {
  const RateLimit limit{.per_second = 2, .burst = 3};
  EXPECT_THAT(Take("k", limit), Allowed(2, absl::Milliseconds(500)));
  EXPECT_THAT(Take("k", limit), Allowed(1, absl::Milliseconds(1000)));
  EXPECT_THAT(Take("k", limit), Allowed(0, absl::Milliseconds(1500)));
  EXPECT_THAT(Take("k", limit), Refused(absl::Milliseconds(500), absl::Milliseconds(1500)));
  // A refused request does not count against the bucket.
  EXPECT_THAT(Take("k", limit), Refused(absl::Milliseconds(500), absl::Milliseconds(1500)));
}

TEST_F(RateLimiterTest, OneRequestIsAllowedAgainExactlyOneIntervalLater) {
  const RateLimit limit{.per_second = 4, .burst = 2};
  TL_ASSERT_OK(Take("k", limit));
  TL_ASSERT_OK(Take("k", limit));
  now_ += absl::Microseconds(249'999);
  EXPECT_THAT(Take("k", limit), Refused(absl::Microseconds(1), absl::Microseconds(250'001)));
  now_ += absl::Microseconds(1);
  EXPECT_THAT(Take("k", limit), Allowed(0, absl::Milliseconds(500)));
  EXPECT_THAT(Take("k", limit), Refused(absl::Milliseconds(250), absl::Milliseconds(500)));
}

TEST_F(RateLimiterTest, RemainingCountsDownAndRefillsWithTime) {
  const RateLimit limit{.per_second = 10, .burst = 5};
  for (int remaining = 4; remaining >= 0; --remaining) {
    EXPECT_THAT(Take("k", limit), Allowed(remaining, absl::Milliseconds(100) * (5 - remaining)));
  }
  EXPECT_THAT(Take("k", limit), Refused(absl::Milliseconds(100), absl::Milliseconds(500)));
  // Two and a half intervals give two requests back; one is taken now.
  now_ += absl::Milliseconds(250);
  EXPECT_THAT(Take("k", limit), Allowed(1, absl::Milliseconds(350)));
  // After reset_after the bucket is full again; waiting longer adds nothing.
  now_ += absl::Milliseconds(350) + absl::Hours(1);
  EXPECT_THAT(Take("k", limit), Allowed(4, absl::Milliseconds(100)));
}

TEST_F(RateLimiterTest, BucketsOfOtherIdsKindsAndTenantsAreIndependent) {
  const RateLimit limit{.per_second = 1, .burst = 1};
  EXPECT_THAT(limiter_->Take("tenant-1", "api_key", "a", limit), Allowed(0, absl::Seconds(1)));
  EXPECT_THAT(limiter_->Take("tenant-1", "api_key", "b", limit), Allowed(0, absl::Seconds(1)));
  EXPECT_THAT(limiter_->Take("tenant-1", "partner", "a", limit), Allowed(0, absl::Seconds(1)));
  EXPECT_THAT(limiter_->Take("tenant-2", "api_key", "a", limit), Allowed(0, absl::Seconds(1)));
  for (const auto& [tenant, kind, id] :
       {std::tuple{"tenant-1", "api_key", "a"}, std::tuple{"tenant-1", "api_key", "b"},
        std::tuple{"tenant-1", "partner", "a"}, std::tuple{"tenant-2", "api_key", "a"}}) {
    EXPECT_THAT(limiter_->Take(tenant, kind, id, limit),
                Refused(absl::Seconds(1), absl::Seconds(1)))
        << tenant << " " << kind << " " << id;
  }
}

TEST_F(RateLimiterTest, BucketIsOneKeyNamedForItThatExpiresWhenFull) {
  const RateLimit limit{.per_second = 2, .burst = 3};
  // Ids may hold any bytes: they come last and only tenant and kind are checked.
  const std::string id = "key:7{x}";
  for (int i = 0; i < 3; ++i) TL_ASSERT_OK(Take(id, limit));
  const std::string key = prefix_ + ":ratelimit:{tenant-1:api_key:key:7{x}}";
  TL_ASSERT_OK_AND_ASSIGN(redis::Reply tat, pool_->Command({"GET", key}));
  EXPECT_EQ(tat.str(), std::to_string(absl::ToUnixMicros(now_ + absl::Milliseconds(1500))));
  TL_ASSERT_OK_AND_ASSIGN(redis::Reply ttl, pool_->Command({"PTTL", key}));
  ASSERT_TRUE(ttl.is_integer());
  EXPECT_GT(ttl.integer(), 1000);
  EXPECT_LE(ttl.integer(), 1500);
  TL_ASSERT_OK_AND_ASSIGN(redis::Reply keys, pool_->Command({"KEYS", prefix_ + ":*"}));
  EXPECT_EQ(keys.size(), 1u);
}

TEST_F(RateLimiterTest, WrongTypeKeyIsInternal) {
  TL_ASSERT_OK(pool_->Command({"RPUSH", prefix_ + ":ratelimit:{tenant-1:api_key:k}", "x"}));
  EXPECT_THAT(Take("k", {.per_second = 1, .burst = 1}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("WRONGTYPE")));
}

TEST_F(RateLimiterTest, UsesRedisTimeWithoutAClock) {
  RateLimiter limiter(pool_.get(), {.key_prefix = prefix_, .clock = nullptr});
  // One a minute: the microseconds between the calls cannot give a request back.
  const RateLimit limit{.per_second = 1.0 / 60, .burst = 3};
  for (int remaining = 2; remaining >= 0; --remaining) {
    EXPECT_THAT(limiter.Take("tenant-1", "api_key", "k", limit),
                IsOkAndHolds(FieldsAre(true, remaining, absl::ZeroDuration(),
                                       Le(absl::Minutes(3 - remaining)))));
  }
  EXPECT_THAT(limiter.Take("tenant-1", "api_key", "k", limit),
              IsOkAndHolds(FieldsAre(false, 0, AllOf(Gt(absl::Seconds(59)), Le(absl::Seconds(60))),
                                     AllOf(Gt(absl::Seconds(179)), Le(absl::Seconds(180))))));
  // The stored time is Redis's (the fixture's clock is in 2023): three minutes after the first
  // call.
  TL_ASSERT_OK_AND_ASSIGN(redis::Reply tat,
                          pool_->Command({"GET", prefix_ + ":ratelimit:{tenant-1:api_key:k}"}));
  TL_ASSERT_OK_AND_ASSIGN(redis::Reply time, pool_->Command({"TIME"}));
  ASSERT_EQ(time.size(), 2u);
  const long long redis_now_us =
      std::stoll(std::string(time[0].str())) * 1'000'000 + std::stoll(std::string(time[1].str()));
  EXPECT_GT(std::stoll(std::string(tat.str())), redis_now_us + 179'000'000);
  EXPECT_LE(std::stoll(std::string(tat.str())), redis_now_us + 180'000'000);
}

TEST(RateLimiterArgumentsTest, RejectsBadLimitsAndKeysWithoutCallingRedis) {
  // Nothing listens here, so a call that reached Redis would be UNAVAILABLE.
  touchline::testing::ThrowawayRedis server;
  std::unique_ptr<redis::Pool> pool = PoolAt(server.address());
  ASSERT_NE(pool, nullptr);
  RateLimiter limiter(pool.get(), {});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (const RateLimit& limit :
       {RateLimit{0, 1}, RateLimit{-1, 1}, RateLimit{nan, 1}, RateLimit{inf, 1}, RateLimit{2e6, 1},
        RateLimit{1, 0}, RateLimit{1, -1}, RateLimit{1e-6, 1}, RateLimit{1, 100'000}}) {
    EXPECT_THAT(limiter.Take("t", "api_key", "k", limit),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << limit.per_second << "/s:" << limit.burst;
  }
  const RateLimit limit{.per_second = 1, .burst = 1};
  for (const auto& [tenant, kind, id] :
       {std::tuple{"", "api_key", "k"}, std::tuple{"a:b", "api_key", "k"},
        std::tuple{"a{b", "api_key", "k"}, std::tuple{"a}b", "api_key", "k"},
        std::tuple{"t", "", "k"}, std::tuple{"t", "api:key", "k"},
        std::tuple{"t", "api_key", ""}}) {
    EXPECT_THAT(limiter.Take(tenant, kind, id, limit), StatusIs(absl::StatusCode::kInvalidArgument))
        << tenant << " " << kind << " " << id;
  }
  EXPECT_THAT(limiter.Take("t", "api_key", "k", limit), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(RateLimiterOutageTest, UnreachableRedisIsUnavailable) {
  touchline::testing::ThrowawayRedis server;  // Never started: the port is closed.
  std::unique_ptr<redis::Pool> pool = PoolAt(server.address());
  ASSERT_NE(pool, nullptr);
  RateLimiter limiter(pool.get(), {});
  EXPECT_THAT(limiter.Take("t", "api_key", "k", {.per_second = 1, .burst = 1}),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(RateLimiterOutageTest, ReadOnlyReplicaIsUnavailable) {
  // What a client still connected to a demoted primary sees after a failover.
  touchline::testing::ThrowawayRedis server;
  touchline::testing::ThrowawayRedis absent_primary;
  TL_ASSERT_OK(server.Start());
  std::unique_ptr<redis::Pool> pool = PoolAt(server.address());
  ASSERT_NE(pool, nullptr);
  TL_ASSERT_OK(pool->Command({"REPLICAOF", "127.0.0.1", std::to_string(absent_primary.port())}));
  RateLimiter limiter(pool.get(), {});
  EXPECT_THAT(limiter.Take("t", "api_key", "k", {.per_second = 1, .burst = 1}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("READONLY")));
}

TEST(RateLimiterScriptTest, SendsTheScriptOnlyWhenRedisDoesNotHaveIt) {
  touchline::testing::ThrowawayRedis server;
  TL_ASSERT_OK(server.Start());
  std::unique_ptr<redis::Pool> pool = PoolAt(server.address());
  ASSERT_NE(pool, nullptr);
  RateLimiter limiter(pool.get(), {});
  const RateLimit limit{.per_second = 1, .burst = 10};
  for (int remaining = 9; remaining >= 7; --remaining) {
    TL_ASSERT_OK_AND_ASSIGN(RateDecision decision, limiter.Take("t", "api_key", "k", limit));
    EXPECT_EQ(decision.remaining, remaining);
  }
  EXPECT_EQ(CallsOf(*pool, "evalsha"), 3);
  EXPECT_EQ(CallsOf(*pool, "eval"), 1);
  // As after a restart or a failover to a server that never ran it.
  TL_ASSERT_OK(pool->Command({"SCRIPT", "FLUSH"}));
  TL_ASSERT_OK_AND_ASSIGN(RateDecision decision, limiter.Take("t", "api_key", "k", limit));
  EXPECT_EQ(decision.remaining, 6);
  EXPECT_EQ(CallsOf(*pool, "evalsha"), 4);
  EXPECT_EQ(CallsOf(*pool, "eval"), 2);
}

}  // namespace
}  // namespace touchline::ratelimit
