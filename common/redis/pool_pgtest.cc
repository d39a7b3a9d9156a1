#include "common/redis/pool.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::redis {
namespace {

using ::testing::HasSubstr;
using ::touchline::testing::StatusIs;

TEST(ParseRedisAddressTest, ParsesHostAndPort) {
  TL_ASSERT_OK_AND_ASSIGN(RedisOptions options, ParseRedisAddress("10.1.2.3:6380"));
  EXPECT_EQ(options.host, "10.1.2.3");
  EXPECT_EQ(options.port, 6380);
  TL_ASSERT_OK_AND_ASSIGN(RedisOptions v6, ParseRedisAddress("[::1]:7000"));
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 7000);
}

TEST(ParseRedisAddressTest, RejectsMalformedAddresses) {
  for (const char* bad : {"", "redis", ":6379", "redis:", "redis:0", "redis:65536", "redis:63a",
                          "redis:+6379", "redis: 6379"}) {
    EXPECT_THAT(ParseRedisAddress(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(PoolCreateTest, RejectsBadOptions) {
  RedisOptions options;
  options.pool_size = 0;
  EXPECT_THAT(Pool::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options.pool_size = 1;
  options.timeout = absl::ZeroDuration();
  EXPECT_THAT(Pool::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(RedisOptions options,
                            ParseRedisAddress(touchline::testing::TestRedisAddr()));
    options.pool_size = 2;
    TL_ASSERT_OK_AND_ASSIGN(pool_, Pool::Create(options));
  }

  std::string Key(std::string_view name) const { return prefix_ + ":" + std::string(name); }

  const std::string prefix_ = touchline::testing::UniqueRedisPrefix();
  std::unique_ptr<Pool> pool_;
};

TEST_F(PoolTest, SetAndGetAreBinarySafe) {
  const std::string key = Key(std::string("bin\0ary", 7));
  const std::string value = std::string("a\0b\r\n", 5) + "客户投诉";
  TL_ASSERT_OK_AND_ASSIGN(Reply set, pool_->Command({"SET", key, value}));
  EXPECT_TRUE(set.is_string());
  EXPECT_EQ(set.str(), "OK");
  TL_ASSERT_OK_AND_ASSIGN(Reply get, pool_->Command({"GET", key}));
  ASSERT_TRUE(get.is_string());
  EXPECT_EQ(get.str(), value);
  EXPECT_EQ(get.str().size(), 5u + 12u);
  // A key differing only after the NUL byte is a different key.
  TL_ASSERT_OK_AND_ASSIGN(Reply other, pool_->Command({"GET", Key(std::string("bin\0arx", 7))}));
  EXPECT_TRUE(other.is_nil());
}

TEST_F(PoolTest, MissingKeyIsNil) {
  TL_ASSERT_OK_AND_ASSIGN(Reply get, pool_->Command({"GET", Key("missing")}));
  EXPECT_TRUE(get.is_nil());
  EXPECT_FALSE(get.is_string());
  EXPECT_EQ(get.str(), "");
}

TEST_F(PoolTest, IntegerAndArrayReplies) {
  TL_ASSERT_OK_AND_ASSIGN(Reply pushed, pool_->Command({"RPUSH", Key("list"), "x", "", "z"}));
  ASSERT_TRUE(pushed.is_integer());
  EXPECT_EQ(pushed.integer(), 3);
  TL_ASSERT_OK_AND_ASSIGN(Reply range, pool_->Command({"LRANGE", Key("list"), "0", "-1"}));
  ASSERT_TRUE(range.is_array());
  ASSERT_EQ(range.size(), 3u);
  EXPECT_EQ(range[0].str(), "x");
  EXPECT_TRUE(range[1].is_string());
  EXPECT_EQ(range[1].str(), "");
  EXPECT_EQ(range[2].str(), "z");
}

TEST_F(PoolTest, ErrorReplyIsAReplyNotAStatus) {
  TL_ASSERT_OK(pool_->Command({"SET", Key("text"), "not a number"}));
  TL_ASSERT_OK_AND_ASSIGN(Reply incr, pool_->Command({"INCR", Key("text")}));
  EXPECT_TRUE(incr.is_error());
  EXPECT_FALSE(incr.is_string());
  EXPECT_THAT(std::string(incr.str()), HasSubstr("not an integer"));
  // The connection stays usable after an error reply.
  TL_ASSERT_OK_AND_ASSIGN(Reply ping, pool_->Command({"PING"}));
  EXPECT_EQ(ping.str(), "PONG");
}

TEST_F(PoolTest, EmptyCommandIsInvalidArgument) {
  EXPECT_THAT(pool_->Command({}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(pool_->Pipeline({{"PING"}, {}}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(PoolTest, PipelineReturnsRepliesInOrder) {
  TL_ASSERT_OK_AND_ASSIGN(std::vector<Reply> replies, pool_->Pipeline({{"SET", Key("n"), "41"},
                                                                       {"INCR", Key("n")},
                                                                       {"NO-SUCH-COMMAND"},
                                                                       {"GET", Key("n")},
                                                                       {"GET", Key("absent")}}));
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[0].str(), "OK");
  EXPECT_EQ(replies[1].integer(), 42);
  EXPECT_TRUE(replies[2].is_error());
  EXPECT_EQ(replies[3].str(), "42");
  EXPECT_TRUE(replies[4].is_nil());
  TL_ASSERT_OK_AND_ASSIGN(std::vector<Reply> none, pool_->Pipeline({}));
  EXPECT_TRUE(none.empty());
}

TEST_F(PoolTest, ConcurrentCallersShareTheConnections) {
  constexpr int kThreads = 6;
  constexpr int kEach = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < kEach; ++i) TL_EXPECT_OK(pool_->Command({"INCR", Key("counter")}));
    });
  }
  for (std::thread& thread : threads) thread.join();
  TL_ASSERT_OK_AND_ASSIGN(Reply total, pool_->Command({"GET", Key("counter")}));
  EXPECT_EQ(total.str(), std::to_string(kThreads * kEach));
}

TEST(PoolOutageTest, UnavailableWhileRedisIsDownAndRecoversWhenItIsBack) {
  touchline::testing::ThrowawayRedis server;
  TL_ASSERT_OK_AND_ASSIGN(RedisOptions options, ParseRedisAddress(server.address()));
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Pool> pool, Pool::Create(options));

  // Not started yet: the pool exists, calls fail.
  EXPECT_THAT(pool->Command({"PING"}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(pool->Pipeline({{"PING"}}), StatusIs(absl::StatusCode::kUnavailable));

  TL_ASSERT_OK(server.Start());
  TL_ASSERT_OK_AND_ASSIGN(Reply set, pool->Command({"SET", "k", "v"}));
  EXPECT_EQ(set.str(), "OK");

  server.Stop();
  EXPECT_THAT(pool->Command({"GET", "k"}), StatusIs(absl::StatusCode::kUnavailable));

  // Back on the same port (in memory only, so the key is gone): the first call succeeds.
  TL_ASSERT_OK(server.Start());
  TL_ASSERT_OK_AND_ASSIGN(Reply get, pool->Command({"GET", "k"}));
  EXPECT_TRUE(get.is_nil());
}

TEST(PoolOutageTest, IdleConnectionsClosedByARestartAreReplacedBeforeUse) {
  touchline::testing::ThrowawayRedis server;
  TL_ASSERT_OK(server.Start());
  TL_ASSERT_OK_AND_ASSIGN(RedisOptions options, ParseRedisAddress(server.address()));
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Pool> pool, Pool::Create(options));
  TL_ASSERT_OK(pool->Command({"PING"}));  // Leaves one idle connection.
  server.Stop();
  TL_ASSERT_OK(server.Start());
  TL_ASSERT_OK_AND_ASSIGN(Reply ping, pool->Command({"PING"}));
  EXPECT_EQ(ping.str(), "PONG");
}

}  // namespace
}  // namespace touchline::redis
