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

}  // namespace
}  // namespace touchline::server
