// The task RPCs of AutomationService: CreateTask, GetTask, ListTasks, CompleteTask,
// ReassignTask, CancelTask. Owns the rules: field checks (INVALID_ARGUMENT naming each bad
// field; nothing is written by a failed call); a task shows to the caller exactly when its
// customer does (NOT_FOUND worded as for a missing task otherwise); creating or changing one
// needs PERMISSION_CUSTOMERS_WRITE and a customer the caller may write; CreateTask is made once
// per request_id; changes only of open tasks (FAILED_PRECONDITION), and with an etag only of
// the version read (ABORTED); lists soonest due first, with sealed page tokens.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_MANAGER_H_
#define TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_MANAGER_H_

#include <functional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "common/paging/page_token.h"
#include "services/automation/tasks/task_store.h"
#include "touchline/automation/v1/automation_service.pb.h"

namespace touchline::automation {

inline constexpr int kDefaultTaskPageSize = 50;
inline constexpr int kMaxTaskPageSize = 200;

// Thread-safe.
class TaskManager {
 public:
  // Not owned; must outlive the manager. `clock` is now: the time of writes and what overdue
  // is measured against.
  TaskManager(TaskStore* store, const paging::PageTokens* page_tokens,
              std::function<absl::Time()> clock)
      : store_(store), page_tokens_(page_tokens), clock_(std::move(clock)) {}

  absl::StatusOr<v1::CreateTaskResponse> CreateTask(const auth::RequestContext& caller,
                                                    const v1::CreateTaskRequest& request) const;
  absl::StatusOr<v1::GetTaskResponse> GetTask(const auth::RequestContext& caller,
                                              const v1::GetTaskRequest& request) const;
  absl::StatusOr<v1::ListTasksResponse> ListTasks(const auth::RequestContext& caller,
                                                  const v1::ListTasksRequest& request) const;
  absl::StatusOr<v1::CompleteTaskResponse> CompleteTask(
      const auth::RequestContext& caller, const v1::CompleteTaskRequest& request) const;
  absl::StatusOr<v1::ReassignTaskResponse> ReassignTask(
      const auth::RequestContext& caller, const v1::ReassignTaskRequest& request) const;
  absl::StatusOr<v1::CancelTaskResponse> CancelTask(const auth::RequestContext& caller,
                                                    const v1::CancelTaskRequest& request) const;

 private:
  // Now, truncated to microseconds as PostgreSQL keeps times, so what a write returns is what
  // a read returns.
  TaskWriteContext NewWriteContext(const auth::RequestContext& caller) const;
  // The task `task_id` (a checked UUID) when the caller may do `access` to its customer;
  // NOT_FOUND "task <id> not found" when it cannot see it (or the read model does not know the
  // customer), PERMISSION_DENIED when it sees but may not write it.
  absl::StatusOr<v1::Task> VisibleTask(const auth::RequestContext& caller,
                                       const std::string& task_id, auth::Access access) const;
  // Checks the fields of `change` (task_id; assignee_id or resolution_note by its kind), the
  // permission and the task, then stores it.
  absl::StatusOr<v1::Task> Change(const auth::RequestContext& caller, TaskChange change) const;

  TaskStore* const store_;
  const paging::PageTokens* const page_tokens_;
  const std::function<absl::Time()> clock_;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_MANAGER_H_
