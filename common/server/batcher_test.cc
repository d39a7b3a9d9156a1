#include "common/server/batcher.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::server {
namespace {

using ::testing::ElementsAreArray;

TEST(BatcherTest, ProcessesEveryItemOnceInOrderInBatchesOfAtMostMaxBatch) {
  absl::Mutex mu;
  std::vector<int> seen;
  size_t largest = 0;
  absl::Notification release;
  std::vector<int> expected;
  {
    Batcher<int> batcher(1, 4, 100, [&](std::vector<int>& batch) {
      release.WaitForNotification();  // Lets items pile up behind the first batch.
      absl::MutexLock lock(&mu);
      largest = std::max(largest, batch.size());
      seen.insert(seen.end(), batch.begin(), batch.end());
    });
    for (int i = 0; i < 50; ++i) {
      int item = i;
      ASSERT_TRUE(batcher.Add(item));
      expected.push_back(i);
    }
    release.Notify();
  }  // The destructor processes what is queued before joining.
  EXPECT_THAT(seen, ElementsAreArray(expected));
  EXPECT_EQ(largest, 4u);
}

TEST(BatcherTest, RefusesItemsBeyondMaxQueueAndLeavesThemUntouched) {
  absl::Notification started, release;
  std::atomic<int> processed{0};
  Batcher<std::vector<int>> batcher(1, 1, 2, [&](std::vector<std::vector<int>>& batch) {
    if (!started.HasBeenNotified()) started.Notify();
    release.WaitForNotification();
    processed += static_cast<int>(batch.size());
  });
  std::vector<int> first{1};
  ASSERT_TRUE(batcher.Add(first));
  started.WaitForNotification();  // The worker holds item 1; the queue is empty again.
  std::vector<int> second{2}, third{3}, fourth{4, 4};
  ASSERT_TRUE(batcher.Add(second));
  ASSERT_TRUE(batcher.Add(third));
  EXPECT_FALSE(batcher.Add(fourth));
  EXPECT_EQ(fourth, (std::vector<int>{4, 4}));
  release.Notify();
  while (processed.load() < 3) std::this_thread::yield();
  EXPECT_EQ(processed.load(), 3);
}

TEST(BatcherTest, SeveralWorkersShareTheLoad) {
  std::atomic<int> total{0};
  {
    Batcher<int> batcher(4, 8, 10000, [&](std::vector<int>& batch) {
      for (int v : batch) total += v;
    });
    for (int i = 1; i <= 1000; ++i) {
      int item = i;
      ASSERT_TRUE(batcher.Add(item));
    }
  }
  EXPECT_EQ(total.load(), 500500);
}

// A fake store: commits all-or-nothing, refusing a whole group that holds a negative number,
// and answers each item with its double.
struct FakeCommit {
  absl::StatusCode failure = absl::StatusCode::kInvalidArgument;
  int calls = 0;
  absl::StatusOr<std::vector<absl::StatusOr<int>>> operator()(const std::vector<int>& items) {
    ++calls;
    std::vector<absl::StatusOr<int>> out;
    for (const int i : items) {
      if (i < 0) return absl::Status(failure, "refused");
      out.push_back(2 * i);
    }
    return out;
  }
};

std::vector<absl::StatusOr<int>> Commit(const std::vector<int>& items, FakeCommit& fake) {
  return CommitTogetherOrAlone<int, int>(
      items, [&fake](const std::vector<int>& group) { return fake(group); });
}

TEST(CommitTogetherOrAloneTest, OneCommitWhenItSucceeds) {
  FakeCommit fake;
  const std::vector<absl::StatusOr<int>> results = Commit({1, 2, 3}, fake);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(*results[2], 6);
  EXPECT_EQ(fake.calls, 1);
}

TEST(CommitTogetherOrAloneTest, RefusedGroupIsRetriedItemByItemSoOnlyTheBadOneFails) {
  FakeCommit fake;
  const std::vector<absl::StatusOr<int>> results = Commit({1, -1, 3}, fake);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(*results[0], 2);
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*results[2], 6);
  EXPECT_EQ(fake.calls, 4);
}

TEST(CommitTogetherOrAloneTest, UnreachableDatabaseFailsEveryItemWithoutRetries) {
  FakeCommit fake;
  fake.failure = absl::StatusCode::kUnavailable;
  const std::vector<absl::StatusOr<int>> results = Commit({1, -1, 3}, fake);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fake.calls, 1);
}

}  // namespace
}  // namespace touchline::server
