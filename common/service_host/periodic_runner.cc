#include "common/service_host/periodic_runner.h"

#include <exception>
#include <utility>

#include "absl/time/clock.h"
#include "common/log/log.h"

namespace touchline::service_host {

PeriodicRunner::~PeriodicRunner() { Stop(); }

void PeriodicRunner::Add(std::string name, absl::Duration interval, Task task) {
  absl::MutexLock lock(&mu_);
  entries_.push_back(Entry{.name = std::move(name),
                           .interval = interval,
                           .task = std::move(task),
                           .next = absl::InfinitePast(),
                           .runs = 0});
}

void PeriodicRunner::Start() {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (started_ || entries_.empty()) return;
    started_ = true;
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void PeriodicRunner::Stop() {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  started_ = false;
}

bool PeriodicRunner::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

std::vector<int> PeriodicRunner::runs() const {
  absl::MutexLock lock(&mu_);
  std::vector<int> runs;
  runs.reserve(entries_.size());
  for (const Entry& entry : entries_) runs.push_back(entry.runs);
  return runs;
}

void PeriodicRunner::Run() {
  mu_.Lock();
  while (!stopping_) {
    // The task due first; ties go to the one added first.
    size_t due = 0;
    for (size_t i = 1; i < entries_.size(); ++i) {
      if (entries_[i].next < entries_[due].next) due = i;
    }
    const absl::Time next = entries_[due].next;
    if (next == absl::InfiniteFuture()) break;  // Only finished one-off tasks are left.
    const absl::Time now = absl::Now();
    if (next > now) {
      // Stop wakes this wait; so does nothing else, since tasks are added before Start.
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), next - now);
      continue;
    }
    entries_[due].next = now + entries_[due].interval;  // Infinite for a one-off task.
    const std::string name = entries_[due].name;
    const Task task = entries_[due].task;
    mu_.Unlock();
    RunTask(name, task);
    mu_.Lock();
    ++entries_[due].runs;
  }
  mu_.Unlock();
}

void PeriodicRunner::RunTask(const std::string& name, const Task& task) {
  absl::Status status;
  try {
    status = task();
  } catch (const std::exception& e) {
    status = absl::InternalError(e.what());
  } catch (...) {
    status = absl::InternalError("unknown exception");
  }
  if (!status.ok()) {
    log::Error("background task failed", {{"task", name}, {"error", status.ToString()}});
  }
}

}  // namespace touchline::service_host
