// What both task stores decide and record the same way: what a change does to a task, which
// stored task a new one repeats, the audit entries of writes, the idempotency key of a create,
// and the errors they report. Pure.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_CHANGE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_CHANGE_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/idempotency/idempotency.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/automation/tasks/task_store.h"
#include "touchline/automation/v1/task.pb.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::automation {

// The resource type of the audit entries of task writes.
inline constexpr char kTaskResource[] = "task";
// The method idempotency keys of creates are claimed for.
inline constexpr char kCreateTaskMethod[] = "CreateTask";

google::protobuf::Timestamp ToProtoTime(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);

// `current` after `change` at change.context.now: completed (complete_time, resolution note),
// reassigned or cancelled (resolution note), update_time now, the next etag.
// FAILED_PRECONDITION when `current` is not open; ABORTED with ErrorInfo reason ETAG_MISMATCH
// when change.etag is set and is not current's.
absl::StatusOr<v1::Task> ApplyChange(const v1::Task& current, const TaskChange& change);

// Whether `a` and `b` come from the same rule action or the same touchpoint (tasks made by
// hand never repeat one another).
bool SameSource(const v1::TaskSource& a, const v1::TaskSource& b);

// The "task.created" audit entry of `task`.
events::v1::EventEnvelope CreatedAuditEntry(const NewTask& task);

// The audit entry of `change` ("task.completed", "task.reassigned", "task.cancelled").
events::v1::EventEnvelope ChangeAuditEntry(const TaskChange& change);

// The idempotency key of `task` (its request_id must not be empty).
idempotency::Key CreateKey(const NewTask& task);

// NOT_FOUND "task <id> not found".
absl::Status TaskNotFound(std::string_view task_id);
}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_CHANGE_H_
