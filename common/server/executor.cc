#include "common/server/executor.h"

#include <algorithm>
#include <utility>

namespace touchline::server {

Executor::Executor(int threads, int max_queue)
    : max_queue_(static_cast<size_t>(std::max(1, max_queue))) {
  const int count = std::max(1, threads);
  threads_.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) threads_.emplace_back([this] { Work(); });
}

Executor::~Executor() { Shutdown(); }

bool Executor::TrySubmit(std::function<void()> task) { return Submit(std::move(task)).ok(); }

absl::Status Executor::Submit(std::function<void()> task) {
  absl::MutexLock lock(&mutex_);
  if (shutting_down_) return absl::UnavailableError("server shutting down");
  if (queue_.size() >= max_queue_) return absl::ResourceExhaustedError("server overloaded");
  queue_.push_back(std::move(task));
  return absl::OkStatus();
}

void Executor::Shutdown() {
  {
    absl::MutexLock lock(&mutex_);
    shutting_down_ = true;
  }
  std::call_once(join_once_, [this] {
    for (std::thread& thread : threads_) thread.join();
  });
}

void Executor::Work() {
  const auto has_work_or_stops = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return !queue_.empty() || shutting_down_;
  };
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(&has_work_or_stops));
      // Queued work still runs after Shutdown(): each task finishes an RPC someone waits for.
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace touchline::server
