#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/events/outbox.h"
#include "common/events/stream_trimmer.h"
#include "common/metrics/metrics.h"
#include "common/redis/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::events {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTopic[] = "customers";

// The value of gauge `name` labelled with `topic` and `group` (empty: no group label), or
// nullopt when there is none.
std::optional<double> GaugeValue(const std::string& name, const std::string& topic,
                                 const std::string& group = "") {
  for (const prometheus::MetricFamily& family : metrics::DefaultRegistry().Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::map<std::string, std::string> labels;
      for (const prometheus::ClientMetric::Label& label : metric.label) {
        labels[label.name] = label.value;
      }
      std::map<std::string, std::string> wanted = {{"topic", topic}};
      if (!group.empty()) wanted["group"] = group;
      if (labels == wanted) return metric.gauge.value;
    }
  }
  return std::nullopt;
}

// The backlog of `group` in `trim`; a default one (and a test failure) when it is missing.
GroupBacklog Backlog(const StreamTrim& trim, const std::string& group) {
  for (const GroupBacklog& backlog : trim.groups) {
    if (backlog.group == group) return backlog;
  }
  ADD_FAILURE() << "no group " << group;
  return GroupBacklog{};
}

class StreamTrimmerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                            redis::ParseRedisAddress(touchline::testing::TestRedisAddr()));
    TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(redis_options));
  }

  // Runs one command that must not fail.
  redis::Reply Run(const std::vector<std::string>& argv) {
    absl::StatusOr<redis::Reply> reply = redis_->Command(argv);
    EXPECT_THAT(reply, touchline::testing::IsOk());
    EXPECT_FALSE(reply.ok() && reply->is_error()) << reply->str();
    return *std::move(reply);
  }

  // Adds `count` entries of about 200 bytes (so the stream spans many radix-tree nodes, which
  // approximate trimming removes whole); returns their ids.
  std::vector<std::string> AddEntries(int count) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      ids.emplace_back(Run({"XADD", key_, "*", "event", std::string(200, 'x')}).str());
    }
    return ids;
  }

  void CreateGroup(const std::string& group) {
    Run({"XGROUP", "CREATE", key_, group, "0", "MKSTREAM"});
  }

  // Delivers the next `count` entries to `group`; acknowledges the first `acked` of them.
  void Read(const std::string& group, int count, int acked) {
    const redis::Reply read = Run(
        {"XREADGROUP", "GROUP", group, "c1", "COUNT", std::to_string(count), "STREAMS", key_, ">"});
    ASSERT_TRUE(read.is_array());
    const redis::ReplyView entries = read[0][1];
    ASSERT_EQ(entries.size(), static_cast<size_t>(count));
    for (int i = 0; i < acked; ++i) {
      Run({"XACK", key_, group, std::string(entries[static_cast<size_t>(i)][0].str())});
    }
  }

  std::vector<std::string> Ids(const std::string& from = "-") {
    std::vector<std::string> ids;
    const redis::Reply range = Run({"XRANGE", key_, from, "+"});
    for (size_t i = 0; i < range.size(); ++i) ids.emplace_back(range[i][0].str());
    return ids;
  }

  StreamTrimmer Trimmer(long long stream_max_len = 1000000) {
    TrimmerOptions options;
    options.stream_prefix = prefix_;
    options.topics = {kTopic};
    options.stream_max_len = stream_max_len;
    options.keep_recent = absl::ZeroDuration();  // The entries here are all seconds old.
    return StreamTrimmer(options, redis_.get());
  }

  // One pass over the one topic.
  StreamTrim TrimOnce(long long stream_max_len = 1000000) {
    absl::StatusOr<std::vector<StreamTrim>> trims = Trimmer(stream_max_len).TrimOnce();
    EXPECT_THAT(trims, touchline::testing::IsOk());
    EXPECT_EQ(trims.ok() ? trims->size() : 0, 1u);
    return trims.ok() && !trims->empty() ? (*trims)[0] : StreamTrim{};
  }

  const std::string prefix_ = touchline::testing::UniqueRedisPrefix();
  const std::string key_ = StreamKey(prefix_, kTopic);
  std::unique_ptr<redis::Pool> redis_;
};

TEST_F(StreamTrimmerTest, TrimsBehindTheSlowestGroupAndKeepsEverythingItStillNeeds) {
  CreateGroup("fast");
  CreateGroup("slow");
  const std::vector<std::string> ids = AddEntries(1000);
  Read("fast", 1000, 1000);
  // slow: entries 0..399 delivered, 0..349 acknowledged, so it needs 350 onwards.
  Read("slow", 400, 350);

  const StreamTrim trim = TrimOnce();

  EXPECT_GT(trim.trimmed, 0);
  const std::vector<std::string> left = Ids();
  EXPECT_EQ(trim.length, static_cast<long long>(left.size()));
  EXPECT_EQ(static_cast<long long>(left.size()), 1000 - trim.trimmed);
  // Every entry from the slow group's oldest pending one on is still there.
  EXPECT_EQ(Ids(ids[350]), std::vector<std::string>(ids.begin() + 350, ids.end()));
  ASSERT_EQ(trim.groups.size(), 2u);
  EXPECT_EQ(Backlog(trim, "slow").oldest_needed_id, ids[350]);
  EXPECT_EQ(Backlog(trim, "slow").lag, 600);
  EXPECT_EQ(Backlog(trim, "slow").pending, 50);
  EXPECT_EQ(Backlog(trim, "fast").lag, 0);

  // The slow group goes on reading where it was.
  const redis::Reply rest =
      Run({"XREADGROUP", "GROUP", "slow", "c1", "COUNT", "1000", "STREAMS", key_, ">"});
  ASSERT_TRUE(rest.is_array());
  EXPECT_EQ(rest[0][1].size(), 600u);
  EXPECT_EQ(std::string(rest[0][1][0][0].str()), ids[400]);
}

TEST_F(StreamTrimmerTest, CaughtUpGroupsLetTheStreamBeTrimmedToItsEnd) {
  CreateGroup("a");
  AddEntries(1000);
  Read("a", 1000, 1000);

  const StreamTrim trim = TrimOnce();

  // Approximate trimming keeps the last radix-tree node, which holds a few entries at most.
  EXPECT_GE(trim.trimmed, 900);
  EXPECT_EQ(trim.groups[0].lag, 0);
  EXPECT_EQ(trim.groups[0].pending, 0);
}

// A reader by id (not a group) that is a moment behind still finds what came after its last
// id: recent entries stay even when every group has acknowledged them.
TEST_F(StreamTrimmerTest, RecentEntriesStayForReadersThatAreNotGroups) {
  CreateGroup("a");
  const std::vector<std::string> ids = AddEntries(1000);
  Read("a", 1000, 1000);
  TrimmerOptions options;
  options.stream_prefix = prefix_;
  options.topics = {kTopic};
  options.keep_recent = absl::Minutes(10);
  absl::StatusOr<std::vector<StreamTrim>> trims = StreamTrimmer(options, redis_.get()).TrimOnce();
  ASSERT_THAT(trims, touchline::testing::IsOk());
  EXPECT_EQ((*trims)[0].trimmed, 0);
  EXPECT_EQ(Ids(), ids);
  // Without it, the same stream is trimmed to its last node (as in the test above).
  EXPECT_GE(TrimOnce().trimmed, 900);
}

TEST_F(StreamTrimmerTest, GroupThatReadNothingKeepsTheWholeStream) {
  CreateGroup("a");
  CreateGroup("idle");
  AddEntries(500);
  Read("a", 500, 500);

  const StreamTrim trim = TrimOnce();

  EXPECT_EQ(trim.trimmed, 0);
  EXPECT_EQ(trim.length, 500);
  EXPECT_EQ(Backlog(trim, "idle").lag, 500);
  EXPECT_EQ(Backlog(trim, "idle").oldest_needed_id, "0-1");
}

TEST_F(StreamTrimmerTest, StreamWithoutGroupsIsLeftToTheGuard) {
  AddEntries(500);

  const StreamTrim trim = TrimOnce();

  EXPECT_EQ(trim.trimmed, 0);
  EXPECT_EQ(trim.length, 500);
  EXPECT_TRUE(trim.groups.empty());
}

TEST_F(StreamTrimmerTest, MissingStreamIsNoError) {
  const StreamTrim trim = TrimOnce();
  EXPECT_EQ(trim.trimmed, 0);
  EXPECT_EQ(trim.length, 0);
}

TEST_F(StreamTrimmerTest, ExportsEachGroupsLagAndPendingAndTheStreamLength) {
  const std::string group = absl::StrCat("lagging-", prefix_);
  CreateGroup(group);
  AddEntries(300);
  Read(group, 120, 100);

  const StreamTrim trim = TrimOnce();

  EXPECT_EQ(GaugeValue("touchline_events_group_lag", kTopic, group), 180);
  EXPECT_EQ(GaugeValue("touchline_events_group_pending", kTopic, group), 20);
  EXPECT_EQ(GaugeValue("touchline_events_group_at_guard", kTopic, group), 0);
  EXPECT_EQ(GaugeValue("touchline_events_stream_length", kTopic), static_cast<double>(trim.length));
}

TEST_F(StreamTrimmerTest, GroupNearTheGuardIsReportedLoggedAndExported) {
  const std::string slow = absl::StrCat("slow-", prefix_);
  const std::string fast = absl::StrCat("fast-", prefix_);
  CreateGroup(slow);
  CreateGroup(fast);
  AddEntries(100);
  Read(fast, 100, 100);
  Read(slow, 20, 10);  // lag 80 + pending 10 = 90: 90% of a guard of 100.

  ::testing::internal::CaptureStderr();
  const StreamTrim trim = TrimOnce(/*stream_max_len=*/100);
  const std::string log = ::testing::internal::GetCapturedStderr();

  EXPECT_TRUE(Backlog(trim, slow).at_guard);
  EXPECT_FALSE(Backlog(trim, fast).at_guard);
  EXPECT_EQ(GaugeValue("touchline_events_group_at_guard", kTopic, slow), 1);
  EXPECT_EQ(GaugeValue("touchline_events_group_at_guard", kTopic, fast), 0);
  EXPECT_THAT(log, HasSubstr("length guard"));
  EXPECT_THAT(log, HasSubstr(slow));
  EXPECT_THAT(log, Not(HasSubstr(fast)));
}

TEST_F(StreamTrimmerTest, GroupJustUnderTheGuardIsNotReported) {
  CreateGroup("slow");
  AddEntries(100);
  Read("slow", 11, 11);  // lag 89.
  EXPECT_FALSE(TrimOnce(/*stream_max_len=*/100).groups[0].at_guard);
}

TEST_F(StreamTrimmerTest, WithoutAGuardNoGroupIsAtIt) {
  CreateGroup("idle");
  AddEntries(100);
  EXPECT_FALSE(TrimOnce(/*stream_max_len=*/0).groups[0].at_guard);
}

TEST_F(StreamTrimmerTest, RejectsIncompleteOptions) {
  TrimmerOptions options;
  options.stream_prefix = prefix_;
  EXPECT_THAT(StreamTrimmer(options, redis_.get()).TrimOnce(),
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument));
  options.topics = {kTopic};
  options.trim_limit = 0;
  EXPECT_THAT(StreamTrimmer(options, redis_.get()).TrimOnce(),
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchline::events
