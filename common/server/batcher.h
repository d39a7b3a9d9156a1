// Batcher: many threads add items, a few threads of its own hand them on in batches.
//
// This is how a service turns concurrent calls into fewer, larger database operations: a
// group commit for writes, one `= ANY($ids)` query for reads. Each worker takes whatever is
// queued (up to max_batch) as soon as it is free, so there is no waiting to fill a batch: at
// low load a batch is one item; at high load items pile up while the workers are busy and the
// batches grow by themselves.
#ifndef TOUCHLINE_COMMON_SERVER_BATCHER_H_
#define TOUCHLINE_COMMON_SERVER_BATCHER_H_

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace touchline::server {

template <typename Item>
class Batcher {
 public:
  using Process = std::function<void(std::vector<Item>& batch)>;

  // Starts `threads` workers (at least 1) that call `process` with batches of 1 to
  // `max_batch` items, in the order added. At most `max_queue` items wait at a time.
  Batcher(int threads, std::size_t max_batch, std::size_t max_queue, Process process)
      : max_batch_(std::max<std::size_t>(1, max_batch)),
        max_queue_(max_queue),
        process_(std::move(process)) {
    for (int i = 0; i < std::max(1, threads); ++i) workers_.emplace_back([this] { Work(); });
  }

  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Processes every item already added, then joins the workers.
  ~Batcher() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (std::thread& worker : workers_) worker.join();
  }

  // Queues `item`. Returns false, leaving `item` untouched, when max_queue items are already
  // waiting (the caller sheds load) or the batcher is being destroyed.
  bool Add(Item& item) {
    absl::MutexLock lock(&mu_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(item));
    return true;
  }

 private:
  void Work() {
    std::vector<Item> batch;
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Batcher* self) { return self->stopping_ || !self->queue_.empty(); }, this));
        if (queue_.empty()) return;  // Stopping, and nothing left to do.
        const std::size_t n = std::min(queue_.size(), max_batch_);
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + n));
        queue_.erase(queue_.begin(), queue_.begin() + n);
      }
      process_(batch);
      batch.clear();
    }
  }

  const std::size_t max_batch_;
  const std::size_t max_queue_;
  const Process process_;
  absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

// The group-commit pattern of a Batcher's process function: writes `items` through
// `commit_all` (one transaction for all of them, one result each). When that transaction
// fails as a whole, one item may have made the database refuse it, so each item is committed
// on its own and only the guilty one fails; when the database is unreachable (UNAVAILABLE,
// DEADLINE_EXCEEDED) every item gets that error at once instead.
template <typename In, typename Out>
std::vector<absl::StatusOr<Out>> CommitTogetherOrAlone(
    const std::vector<In>& items,
    const std::function<absl::StatusOr<std::vector<absl::StatusOr<Out>>>(const std::vector<In>&)>&
        commit_all) {
  absl::StatusOr<std::vector<absl::StatusOr<Out>>> together = commit_all(items);
  if (together.ok()) return *std::move(together);
  const absl::StatusCode code = together.status().code();
  if (items.size() == 1 || code == absl::StatusCode::kUnavailable ||
      code == absl::StatusCode::kDeadlineExceeded) {
    return std::vector<absl::StatusOr<Out>>(items.size(), together.status());
  }
  std::vector<absl::StatusOr<Out>> results;
  results.reserve(items.size());
  for (const In& item : items) {
    absl::StatusOr<std::vector<absl::StatusOr<Out>>> alone = commit_all({item});
    results.push_back(alone.ok() ? std::move((*alone)[0]) : alone.status());
  }
  return results;
}

}  // namespace touchline::server

#endif  // TOUCHLINE_COMMON_SERVER_BATCHER_H_
