// Storage of tasks (a row of `tasks`, migrations/0001_tasks.sql) and what decides who sees
// them: the customer read model with its shares. Every method is one transaction: what a write
// stores, its idempotency key, its audit entry and its task event (TaskCreated, TaskChanged on
// the "tasks" topic) commit together or not at all. Every method
// is scoped to one tenant. Errors are absl::Status (the mapped PostgreSQL error: UNAVAILABLE,
// DEADLINE_EXCEEDED ...); never a libpqxx exception.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_STORE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "touchline/automation/v1/task.pb.h"

namespace touchline::automation {

// Who asked for a write: its tenant, actor and request id go into its audit entry.
struct TaskWriteContext {
  auth::RequestContext caller;
  absl::Time now;  // Truncated to microseconds, as PostgreSQL stores it.
};

// A validated task to insert: task_id, customer_id, title, body, assignee_id, due_time,
// priority, source, state OPEN, create_time and update_time set (the store sets the etag).
struct NewTask {
  TaskWriteContext context;
  v1::Task task;
  // The idempotency key (CreateTaskRequest.request_id); empty for none.
  std::string request_id;
  // Tells a retry from another request reusing the key (ids::Fingerprint of the task as the
  // client sent it).
  std::string fingerprint;
};

// A change of an open task, as the manager checked it.
struct TaskChange {
  enum class Kind { kComplete, kReassign, kCancel };

  TaskWriteContext context;
  std::string task_id;
  Kind kind = Kind::kComplete;
  // kReassign: the new assignee.
  std::string assignee_id;
  // kComplete and kCancel: the resolution note (may be empty).
  std::string resolution_note;
  // When not empty, the change applies only to this version of the task (ABORTED otherwise).
  std::string etag;
};

// A place in ListTasks' order: soonest due first, then by task id.
struct TaskCursor {
  absl::Time due_time;
  std::string task_id;
};

// The tasks of one ListTasks page. The filters combine (AND).
struct TaskQuery {
  std::string tenant_id;
  // Only tasks whose customer this scope reads. Required.
  const auth::Scope* scope = nullptr;
  // Only tasks assigned to this user; empty: anyone.
  std::string assignee_id;
  // Only tasks assigned to one of these users; nullopt: anyone (an empty list: no one).
  std::optional<std::vector<std::string>> assignee_in;
  // Only tasks in this state; UNSPECIFIED: all.
  v1::TaskState state = v1::TASK_STATE_UNSPECIFIED;
  // Only open tasks due before this time (overdue); nullopt: any.
  std::optional<absl::Time> open_due_before;
  // Only tasks about this customer (a lower-case UUID); empty: any.
  std::string customer_id;
  // Only tasks after this place.
  std::optional<TaskCursor> after;
  // At most this many.
  int limit = 50;
};

class TaskStore {
 public:
  virtual ~TaskStore() = default;

  // What row decisions need of the customer (the customer read model with its shares); nullopt
  // when the read model has no such customer.
  virtual absl::StatusOr<std::optional<auth::CustomerAttributes>> FindCustomer(
      const std::string& tenant_id, const std::string& customer_id) = 0;

  // Inserts the task with its "task.created" audit entry and TaskCreated; returns it with etag "1".
  // A task with the same rule action (rule, version, run, action) or touchpoint as one stored is
  // not inserted: the stored one is returned and nothing is written. With a request id the key is
  // claimed in the same transaction: a key used before with the same fingerprint returns the
  // task the first call created, as it is now, and writes nothing; with another fingerprint (or
  // by another method) ALREADY_EXISTS with ErrorInfo reason REQUEST_ID_REUSED.
  virtual absl::StatusOr<v1::Task> Create(const NewTask& task) = 0;

  // The task; NOT_FOUND "task <id> not found" when the tenant has none with the id.
  virtual absl::StatusOr<v1::Task> Get(const std::string& tenant_id,
                                       const std::string& task_id) = 0;

  // The tasks `query` selects, soonest due first (then by task id), at most query.limit.
  virtual absl::StatusOr<std::vector<v1::Task>> List(const TaskQuery& query) = 0;

  // Applies `change` (task_change.h ApplyChange) to the task, locked, with its audit entry and
  // TaskChanged;
  // returns the task changed, its etag the next one. NOT_FOUND as Get; FAILED_PRECONDITION
  // when the task is not open; ABORTED when change.etag is set and is not the task's.
  // Concurrent changes of one task run one after the other, each on what the one before
  // committed.
  virtual absl::StatusOr<v1::Task> Change(const TaskChange& change) = 0;

  // The next turn of the team's round robin: 0 the first time, then 1, 2, ... (the member
  // at turn % size gets the task). Durable and shared by every replica.
  virtual absl::StatusOr<int64_t> NextTeamTurn(const std::string& tenant_id,
                                               const std::string& team_id) = 0;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_STORE_H_
