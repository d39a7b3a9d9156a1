#include "services/automation/tasks/task_change.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/audit/audit.h"
#include "common/status/errors.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"

namespace touchline::automation {
namespace {

using ::google::protobuf::util::TimeUtil;

const char* StateName(v1::TaskState state) {
  switch (state) {
    case v1::TASK_STATE_OPEN:
      return "open";
    case v1::TASK_STATE_COMPLETED:
      return "completed";
    case v1::TASK_STATE_CANCELLED:
      return "cancelled";
    default:
      return "in no known state";
  }
}

const char* Verb(TaskChange::Kind kind) {
  switch (kind) {
    case TaskChange::Kind::kComplete:
      return "complete";
    case TaskChange::Kind::kReassign:
      return "reassign";
    case TaskChange::Kind::kCancel:
      return "cancel";
  }
  return "change";
}

}  // namespace

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

absl::StatusOr<v1::Task> ApplyChange(const v1::Task& current, const TaskChange& change) {
  if (current.state() != v1::TASK_STATE_OPEN) {
    return absl::FailedPreconditionError(absl::StrCat("cannot ", Verb(change.kind), " task ",
                                                      current.task_id(), ": it is ",
                                                      StateName(current.state())));
  }
  if (!change.etag.empty() && change.etag != current.etag()) {
    return status::WithErrorInfo(
        absl::AbortedError(absl::StrCat("task ", current.task_id(),
                                        " was changed by someone else (etag ", change.etag,
                                        " is stale); read it again and retry")),
        "ETAG_MISMATCH", {{"task_id", current.task_id()}});
  }
  int64_t revision = 0;
  if (!absl::SimpleAtoi(current.etag(), &revision)) {
    return absl::InternalError(absl::StrCat(
        "task ", current.task_id(), " has no version number (etag '", current.etag(), "')"));
  }
  v1::Task next = current;
  switch (change.kind) {
    case TaskChange::Kind::kComplete:
      next.set_state(v1::TASK_STATE_COMPLETED);
      *next.mutable_complete_time() = ToProtoTime(change.context.now);
      next.set_resolution_note(change.resolution_note);
      break;
    case TaskChange::Kind::kReassign:
      next.set_assignee_id(change.assignee_id);
      break;
    case TaskChange::Kind::kCancel:
      next.set_state(v1::TASK_STATE_CANCELLED);
      next.set_resolution_note(change.resolution_note);
      break;
  }
  *next.mutable_update_time() = ToProtoTime(change.context.now);
  next.set_etag(std::to_string(revision + 1));
  return next;
}

bool SameSource(const v1::TaskSource& a, const v1::TaskSource& b) {
  if (a.has_rule() && b.has_rule()) {
    return google::protobuf::util::MessageDifferencer::Equals(a.rule(), b.rule());
  }
  return a.kind_case() == v1::TaskSource::kTouchpointId &&
         b.kind_case() == v1::TaskSource::kTouchpointId && a.touchpoint_id() == b.touchpoint_id();
}

events::v1::EventEnvelope CreatedAuditEntry(const NewTask& task) {
  const v1::Task& t = task.task;
  return audit::MakeAuditEnvelope(
      task.context.caller, "task.created", kTaskResource, t.task_id(),
      {"customer_id", "title", "body", "assignee_id", "due_time", "priority"},
      absl::StrCat("customer ", t.customer_id(), ", assigned to ", t.assignee_id()));
}

events::v1::EventEnvelope ChangeAuditEntry(const TaskChange& change) {
  switch (change.kind) {
    case TaskChange::Kind::kComplete:
      return audit::MakeAuditEnvelope(change.context.caller, "task.completed", kTaskResource,
                                      change.task_id,
                                      {"state", "complete_time", "resolution_note"});
    case TaskChange::Kind::kReassign:
      return audit::MakeAuditEnvelope(change.context.caller, "task.reassigned", kTaskResource,
                                      change.task_id, {"assignee_id"},
                                      absl::StrCat("to ", change.assignee_id));
    case TaskChange::Kind::kCancel:
      break;
  }
  return audit::MakeAuditEnvelope(change.context.caller, "task.cancelled", kTaskResource,
                                  change.task_id, {"state", "resolution_note"});
}

idempotency::Key CreateKey(const NewTask& task) {
  return idempotency::Key{.tenant_id = task.context.caller.tenant_id,
                          .request_id = task.request_id,
                          .method = kCreateTaskMethod,
                          .fingerprint = task.fingerprint};
}

absl::Status TaskNotFound(std::string_view task_id) {
  return absl::NotFoundError(absl::StrCat("task ", std::string(task_id), " not found"));
}
}  // namespace touchline::automation
