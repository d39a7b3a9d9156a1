// TaskStore in memory, for tests of what sits above it (TaskManager) without PostgreSQL: the
// same contract as PgTaskStore (the customer read model with shares, tasks with their unique
// sources, creates with an idempotency key, writes with an audit entry and a task event),
// every call atomic: a call that fails changes nothing. Thread-safe.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_IN_MEMORY_TASK_STORE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_IN_MEMORY_TASK_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/idempotency/idempotency.h"
#include "services/automation/tasks/task_store.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::automation::testing {

class InMemoryTaskStore final : public TaskStore {
 public:
  // --- Setup ---

  // Adds or replaces customer `customer.customer_id` of `tenant_id` in the read model.
  void AddCustomer(const std::string& tenant_id, auth::CustomerAttributes customer);

  // --- What the writes left ---

  // The audit entries writes committed, oldest first.
  std::vector<events::v1::EventEnvelope> audit_entries() const;
  // The events writes committed for the "tasks" topic (TaskCreated, TaskChanged), oldest
  // first.
  std::vector<events::v1::EventEnvelope> task_events() const;

  // --- TaskStore ---

  absl::StatusOr<std::optional<auth::CustomerAttributes>> FindCustomer(
      const std::string& tenant_id, const std::string& customer_id) override;
  absl::StatusOr<v1::Task> Create(const NewTask& task) override;
  absl::StatusOr<v1::Task> Get(const std::string& tenant_id, const std::string& task_id) override;
  // As PgTaskStore, a task whose customer the read model does not hold shows to no one.
  absl::StatusOr<std::vector<v1::Task>> List(const TaskQuery& query) override;
  absl::StatusOr<v1::Task> Change(const TaskChange& change) override;
  absl::StatusOr<int64_t> NextTeamTurn(const std::string& tenant_id,
                                       const std::string& team_id) override;

 private:
  using Key = std::pair<std::string, std::string>;  // (tenant, id)

  mutable absl::Mutex mu_;
  std::map<Key, auth::CustomerAttributes> customers_ ABSL_GUARDED_BY(mu_);
  // By (tenant, task id), ids lower case.
  std::map<Key, v1::Task> tasks_ ABSL_GUARDED_BY(mu_);
  // (tenant, request id) -> what the first create with it recorded.
  std::map<Key, idempotency::StoredRequest> keys_ ABSL_GUARDED_BY(mu_);
  std::vector<events::v1::EventEnvelope> audit_entries_ ABSL_GUARDED_BY(mu_);
  std::vector<events::v1::EventEnvelope> task_events_ ABSL_GUARDED_BY(mu_);
  std::map<Key, int64_t> team_turns_ ABSL_GUARDED_BY(mu_);  // (tenant, team) -> next turn
};

}  // namespace touchline::automation::testing

#endif  // TOUCHLINE_SERVICES_AUTOMATION_TASKS_TESTING_IN_MEMORY_TASK_STORE_H_
