// A fixed pool of threads with a bounded queue, where RPC handlers do their blocking work
// (database and cache round trips) so gRPC's few callback threads never block.
#ifndef TOUCHLINE_COMMON_SERVER_EXECUTOR_H_
#define TOUCHLINE_COMMON_SERVER_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace touchline::server {

// Thread-safe. Tasks run in submission order as threads become free; they must not throw.
class Executor {
 public:
  // Starts `threads` threads and accepts up to `max_queue` tasks waiting for one. Values
  // below 1 are treated as 1 (config::ValidateCommonFlags rejects them earlier).
  Executor(int threads, int max_queue);

  // Shutdown().
  ~Executor();

  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`. Returns false, dropping it, when max_queue tasks are already waiting or
  // Shutdown() has begun.
  bool TrySubmit(std::function<void()> task);

  // As TrySubmit, saying why a task was refused: RESOURCE_EXHAUSTED ("server overloaded")
  // when the queue is full, UNAVAILABLE ("server shutting down") after Shutdown() began.
  absl::Status Submit(std::function<void()> task);

  // Refuses new tasks, runs every task already queued, and joins the threads. Idempotent;
  // concurrent callers all return once the threads are joined. Must not be called from a task.
  void Shutdown();

 private:
  void Work();

  const size_t max_queue_;
  absl::Mutex mutex_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mutex_);
  bool shutting_down_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
  std::once_flag join_once_;
};

}  // namespace touchline::server

#endif  // TOUCHLINE_COMMON_SERVER_EXECUTOR_H_
