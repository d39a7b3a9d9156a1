// Background upkeep of a service (retention purges, partitions made ahead, one-off back-fills)
// on one thread, so each such job is a function and not a thread, a stop flag and a join of
// its own in every main.
//
//   PeriodicRunner runner;
//   runner.Add("purge requests", absl::Hours(1), [&] { return store.PurgeRequests(); });
//   runner.Add("index old rows", absl::InfiniteDuration(), [&] { ... runner.stopping() ... });
//   runner.Start();
//   ...
//   runner.Stop();
#ifndef TOUCHLINE_COMMON_SERVICE_HOST_PERIODIC_RUNNER_H_
#define TOUCHLINE_COMMON_SERVICE_HOST_PERIODIC_RUNNER_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace touchline::service_host {

// Runs tasks on one background thread. Thread-safe.
class PeriodicRunner {
 public:
  using Task = std::function<absl::Status()>;

  PeriodicRunner() = default;
  PeriodicRunner(const PeriodicRunner&) = delete;
  PeriodicRunner& operator=(const PeriodicRunner&) = delete;
  // Stops.
  ~PeriodicRunner();

  // Adds a task that runs as soon as the runner starts and then again `interval` after each
  // run began (a run that takes longer than `interval` is followed at once by the next). With
  // absl::InfiniteDuration() it runs once. Tasks run one at a time, in the order added when
  // due together; a task that fails (or throws) is logged with `name` and runs again at its
  // next time. Precondition: interval > 0, and Start not called yet.
  void Add(std::string name, absl::Duration interval, Task task);

  // Starts the thread. No-op when running or when no task was added.
  void Start();
  // Wakes the thread from its wait, lets a running task finish (long tasks should poll
  // stopping()) and joins it. Safe to call twice or without Start.
  void Stop();

  // Whether Stop has begun: for long tasks, to end early.
  bool stopping() const;

  // Times each task has run (finished), in the order added; for tests and metrics.
  std::vector<int> runs() const;

 private:
  struct Entry {
    std::string name;
    absl::Duration interval;
    Task task;
    absl::Time next;
    int runs = 0;
  };

  void Run();
  // Runs `task` and logs its failure under `name`.
  static void RunTask(const std::string& name, const Task& task);

  absl::Mutex lifecycle_mu_;
  std::thread thread_ ABSL_GUARDED_BY(lifecycle_mu_);

  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace touchline::service_host

#endif  // TOUCHLINE_COMMON_SERVICE_HOST_PERIODIC_RUNNER_H_
