#include "common/server/executor.h"

#include <atomic>
#include <latch>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace touchline::server {
namespace {

using ::touchline::testing::StatusIs;

TEST(ExecutorTest, RunsTasksOnItsThreads) {
  Executor executor(4, 100);
  std::latch done(50);
  std::atomic<int> ran = 0;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(executor.TrySubmit([&] {
      ran.fetch_add(1);
      done.count_down();
    }));
  }
  done.wait();
  EXPECT_EQ(ran.load(), 50);
}

TEST(ExecutorTest, RefusesTasksBeyondTheQueueLimit) {
  Executor executor(1, 2);
  absl::Notification started;
  absl::Notification release;
  ASSERT_TRUE(executor.TrySubmit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();  // The only thread is busy: later tasks wait in the queue.
  EXPECT_TRUE(executor.TrySubmit([] {}));
  EXPECT_TRUE(executor.TrySubmit([] {}));
  EXPECT_FALSE(executor.TrySubmit([] {}));
  EXPECT_THAT(executor.Submit([] {}),
              StatusIs(absl::StatusCode::kResourceExhausted, "server overloaded"));
  release.Notify();
}

TEST(ExecutorTest, ShutdownRunsQueuedTasksThenRefusesNewOnes) {
  std::atomic<int> ran = 0;
  Executor executor(1, 10);
  absl::Notification release;
  ASSERT_TRUE(executor.TrySubmit([&] { release.WaitForNotification(); }));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(executor.TrySubmit([&] { ran.fetch_add(1); }));
  release.Notify();

  executor.Shutdown();

  EXPECT_EQ(ran.load(), 5);
  EXPECT_FALSE(executor.TrySubmit([] {}));
  EXPECT_THAT(executor.Submit([] {}),
              StatusIs(absl::StatusCode::kUnavailable, "server shutting down"));
  executor.Shutdown();  // Idempotent.
}

TEST(ExecutorTest, TreatsNonPositiveSizesAsOne) {
  Executor executor(0, 0);
  absl::Notification ran;
  ASSERT_TRUE(executor.TrySubmit([&] { ran.Notify(); }));
  ran.WaitForNotification();
}

}  // namespace
}  // namespace touchline::server
