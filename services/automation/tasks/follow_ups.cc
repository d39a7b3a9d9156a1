#include "services/automation/tasks/follow_ups.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/audit/audit.h"
#include "common/auth/request_context.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/ids/ids.h"
#include "common/pg/array.h"
#include "common/status/macros.h"
#include "common/text/text.h"
#include "services/automation/tasks/pg_task_store.h"
#include "services/automation/tasks/sql.h"
#include "services/automation/tasks/task_change.h"
#include "services/automation/tasks/task_events.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::automation {
namespace {

namespace ev = ::touchline::events::v1;
namespace sql = tasks_sql;

// The column of follow_up_cancel in the rows of the follow-up statements (sql.h).
constexpr int kCancelColumn = 20;

// The first `max` code points of valid UTF-8 `s`.
std::string CutToCodePoints(std::string_view s, size_t max) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    // A lead byte starts a code point; continuation bytes are 10xxxxxx.
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && count++ == max) {
      return std::string(s.substr(0, i));
    }
  }
  return std::string(s);
}

absl::Time TruncatedToMicros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

// `current` as its next write stores it: the next version (etag) and update_time `now`.
absl::StatusOr<FollowUpTask> Bumped(const FollowUpTask& current, absl::Time now) {
  int64_t version = 0;
  if (!absl::SimpleAtoi(current.task.etag(), &version)) {
    return absl::InternalError(absl::StrCat("task ", current.task.task_id(),
                                            " has no version number (etag '", current.task.etag(),
                                            "')"));
  }
  FollowUpTask next = current;
  next.task.set_etag(std::to_string(version + 1));
  *next.task.mutable_update_time() = ToProtoTime(now);
  return next;
}

// Sets what `follow_up` decides of `task` (title, body, assignee, due time) and adds to
// `fields` the names of those that changed.
void Follow(const FollowUp& follow_up, v1::Task& task, std::vector<std::string>& fields) {
  const auto set = [&](const char* name, const std::string& value, std::string* field) {
    if (*field == value) return;
    *field = value;
    fields.push_back(name);
  };
  set("title", follow_up.title, task.mutable_title());
  set("body", follow_up.body, task.mutable_body());
  set("assignee_id", follow_up.assignee_id, task.mutable_assignee_id());
  if (FromProtoTime(task.due_time()) != follow_up.due_time) {
    *task.mutable_due_time() = ToProtoTime(follow_up.due_time);
    fields.push_back("due_time");
  }
}

// Cancels `task` (open) because of its touchpoint, with `note`.
void Cancel(FollowUpTask& task, FollowUpCancel why, const char* note,
            std::vector<std::string>& fields) {
  task.task.set_state(v1::TASK_STATE_CANCELLED);
  task.task.set_resolution_note(note);
  task.cancel = why;
  fields.insert(fields.end(), {"state", "resolution_note"});
}

}  // namespace

std::optional<FollowUp> FollowUpOf(const touchpoints::v1::Touchpoint& touchpoint,
                                   const std::string& actor) {
  const touchpoints::v1::NextAction& next = touchpoint.next_action();
  const std::string description = text::TrimSpace(next.description());
  if (description.empty()) return std::nullopt;
  FollowUp follow_up;
  follow_up.customer_id = touchpoint.customer_id();
  follow_up.title = CutToCodePoints(description, kMaxTaskTitleChars);
  follow_up.body = absl::StrCat("Next action agreed in touchpoint ", touchpoint.touchpoint_id());
  if (!touchpoint.subject().empty()) absl::StrAppend(&follow_up.body, ": ", touchpoint.subject());
  if (!touchpoint.summary().empty()) absl::StrAppend(&follow_up.body, "\n\n", touchpoint.summary());
  for (const std::string* who : {&next.owner_id(), &touchpoint.recorded_by(), &actor}) {
    if (!who->empty()) {
      follow_up.assignee_id = *who;
      break;
    }
  }
  if (follow_up.assignee_id.empty()) return std::nullopt;
  if (next.has_due_time()) {
    follow_up.due_time = FromProtoTime(next.due_time());
  } else {
    const absl::CivilDay day =
        absl::ToCivilDay(FromProtoTime(touchpoint.occur_time()), absl::UTCTimeZone());
    follow_up.due_time =
        absl::FromCivil(absl::CivilSecond(day + 1) + (24 * 3600 - 1), absl::UTCTimeZone());
  }
  return follow_up;
}

absl::StatusOr<FollowUpWrite> DecideFollowUp(const std::optional<FollowUpTask>& current,
                                             const TouchpointChange& change, absl::Time now,
                                             const std::string& new_task_id) {
  now = TruncatedToMicros(now);
  const touchpoints::v1::Touchpoint& touchpoint = change.touchpoint;
  const std::optional<FollowUp> wanted = change.kind == TouchpointChange::Kind::kDeleted
                                             ? std::nullopt
                                             : FollowUpOf(touchpoint, change.actor);
  FollowUpWrite write;
  if (!current.has_value()) {
    // A task is made when a next action is recorded, or added by a correction.
    if (!wanted.has_value() ||
        (change.kind == TouchpointChange::Kind::kUpdated && !change.next_action_changed)) {
      return write;
    }
    v1::Task& task = write.after.task;
    task.set_task_id(new_task_id);
    task.set_customer_id(wanted->customer_id);
    task.set_state(v1::TASK_STATE_OPEN);
    task.mutable_source()->set_touchpoint_id(touchpoint.touchpoint_id());
    *task.mutable_create_time() = ToProtoTime(now);
    *task.mutable_update_time() = ToProtoTime(now);
    task.set_etag("1");
    std::vector<std::string> ignored;
    Follow(*wanted, task, ignored);
    write.kind = FollowUpWrite::Kind::kInsert;
    write.action = "task.created";
    write.fields = {"customer_id", "title", "body", "assignee_id", "due_time"};
    write.detail =
        absl::StrCat("follow-up of touchpoint ", touchpoint.touchpoint_id(), ", customer ",
                     wanted->customer_id, ", assigned to ", wanted->assignee_id);
    return write;
  }
  TL_ASSIGN_OR_RETURN(FollowUpTask next, Bumped(*current, now));
  const bool open = current->task.state() == v1::TASK_STATE_OPEN;
  std::vector<std::string> fields;
  std::string action = "task.updated";
  std::string detail;
  switch (change.kind) {
    case TouchpointChange::Kind::kRecorded:
      // Replayed, or the task exists already: it is not made twice.
      return write;
    case TouchpointChange::Kind::kDeleted:
      if (open) {
        Cancel(next, FollowUpCancel::kTouchpointDeleted, kTouchpointDeletedNote, fields);
        action = "task.cancelled";
        detail = absl::StrCat("touchpoint ", touchpoint.touchpoint_id(), " deleted");
      } else if (current->cancel == FollowUpCancel::kNextActionRemoved) {
        // Cancelled for good now: no next action can reopen it.
        next.cancel = FollowUpCancel::kTouchpointDeleted;
        next.task.set_resolution_note(kTouchpointDeletedNote);
        fields.push_back("resolution_note");
        detail = absl::StrCat("touchpoint ", touchpoint.touchpoint_id(), " deleted");
      }
      break;
    case TouchpointChange::Kind::kUpdated:
      if (change.next_action_changed) {
        if (open && !wanted.has_value()) {
          Cancel(next, FollowUpCancel::kNextActionRemoved, kNextActionRemovedNote, fields);
          action = "task.cancelled";
          detail =
              absl::StrCat("next action of touchpoint ", touchpoint.touchpoint_id(), " removed");
        } else if (open) {
          Follow(*wanted, next.task, fields);
          detail =
              absl::StrCat("next action of touchpoint ", touchpoint.touchpoint_id(), " corrected");
        } else if (wanted.has_value() && current->cancel == FollowUpCancel::kNextActionRemoved) {
          // The same row comes back: the touchpoint keeps one task.
          next.task.set_state(v1::TASK_STATE_OPEN);
          next.task.clear_resolution_note();
          next.cancel = FollowUpCancel::kNone;
          fields = {"state", "resolution_note"};
          Follow(*wanted, next.task, fields);
          action = "task.reopened";
          detail =
              absl::StrCat("next action of touchpoint ", touchpoint.touchpoint_id(), " set again");
        }
      }
      if (change.customer_changed && next.task.customer_id() != touchpoint.customer_id()) {
        next.task.set_customer_id(touchpoint.customer_id());
        fields.push_back("customer_id");
        if (detail.empty()) {
          detail = absl::StrCat("touchpoint ", touchpoint.touchpoint_id(), " moved to customer ",
                                touchpoint.customer_id());
        }
      }
      break;
  }
  if (fields.empty()) return write;
  write.kind = FollowUpWrite::Kind::kUpdate;
  write.after = std::move(next);
  write.action = std::move(action);
  write.fields = std::move(fields);
  write.detail = std::move(detail);
  return write;
}

absl::StatusOr<FollowUpWrite> DecideMove(const FollowUpTask& current,
                                         const std::string& to_customer_id,
                                         const std::string& merge_id, bool undo, absl::Time now) {
  FollowUpWrite write;
  if (current.task.customer_id() == to_customer_id) return write;
  TL_ASSIGN_OR_RETURN(write.after, Bumped(current, TruncatedToMicros(now)));
  write.after.task.set_customer_id(to_customer_id);
  write.kind = FollowUpWrite::Kind::kUpdate;
  write.action = "task.updated";
  write.fields = {"customer_id"};
  write.detail =
      absl::StrCat(undo ? "merge " : "customers merged (merge ", merge_id, undo ? " undone" : ")",
                   ": from customer ", current.task.customer_id(), " to ", to_customer_id);
  return write;
}

namespace {

FollowUpTask FollowUpFromRow(const pqxx::row& row) {
  return FollowUpTask{.task = task_rows::TaskFromRow(row),
                      .cancel = static_cast<FollowUpCancel>(row[kCancelColumn].as<int>())};
}

// The caller of the audit entries of `event`'s writes.
auth::RequestContext CallerOf(const ev::EventEnvelope& event) {
  auth::RequestContext caller;
  caller.tenant_id = event.tenant_id();
  caller.caller_id = event.actor_id();
  caller.request_id = event.request_id().empty() ? event.event_id() : event.request_id();
  caller.client = absl::StrCat("event ", event.event_id());
  return caller;
}

// Stores `write` (not kNone) with its audit entry and its event on the "tasks" topic;
// `previous_customer_id` is the customer the task was about before (empty for a new task).
absl::Status Store(pqxx::work& txn, const ev::EventEnvelope& event, const FollowUpWrite& write,
                   absl::Time now, const std::string& previous_customer_id) {
  const v1::Task& task = write.after.task;
  if (write.kind == FollowUpWrite::Kind::kInsert) {
    if (!task_rows::InsertTask(txn, event.tenant_id(), task, TruncatedToMicros(now))) {
      return absl::AbortedError(absl::StrCat("the task of touchpoint ",
                                             task.source().touchpoint_id(),
                                             " was created meanwhile; applying again"));
    }
  } else {
    const auto micros = [](const google::protobuf::Timestamp& t) {
      return absl::ToUnixMicros(FromProtoTime(t));
    };
    txn.exec_params(sql::kUpdateFollowUp, event.tenant_id(), task.task_id(), task.customer_id(),
                    task.title(), task.body(), task.assignee_id(), micros(task.due_time()),
                    static_cast<int>(task.state()),
                    task.has_complete_time() ? micros(task.complete_time()) : int64_t{-1},
                    task.resolution_note(), micros(task.update_time()), std::stoll(task.etag()),
                    static_cast<int>(write.after.cancel));
  }
  const auth::RequestContext caller = CallerOf(event);
  events::AppendToOutbox(txn, events::kAuditTopic,
                         audit::MakeAuditEnvelope(caller, write.action, kTaskResource,
                                                  task.task_id(), write.fields, write.detail));
  events::AppendToOutbox(txn, events::kTasksTopic,
                         write.kind == FollowUpWrite::Kind::kInsert
                             ? TaskCreatedEvent(caller, task)
                             : TaskChangedEvent(caller, task, write.fields, previous_customer_id));
  return absl::OkStatus();
}

// The change `event` tells of one touchpoint; nullopt for other events.
absl::StatusOr<std::optional<TouchpointChange>> ChangeOf(const ev::EventEnvelope& event) {
  const google::protobuf::Any& payload = event.payload();
  TouchpointChange change;
  change.actor = event.actor_id();
  const auto unpack = [&](auto message,
                          TouchpointChange::Kind kind) -> absl::StatusOr<decltype(message)> {
    if (!payload.UnpackTo(&message)) {
      return absl::InvalidArgumentError(
          absl::StrCat("event ", event.event_id(), ": ", message.GetTypeName(), " does not parse"));
    }
    change.kind = kind;
    change.touchpoint = message.touchpoint();
    return message;
  };
  if (payload.Is<ev::TouchpointRecorded>()) {
    TL_RETURN_IF_ERROR(
        unpack(ev::TouchpointRecorded(), TouchpointChange::Kind::kRecorded).status());
  } else if (payload.Is<ev::TouchpointDeleted>()) {
    TL_RETURN_IF_ERROR(unpack(ev::TouchpointDeleted(), TouchpointChange::Kind::kDeleted).status());
  } else if (payload.Is<ev::TouchpointUpdated>()) {
    TL_ASSIGN_OR_RETURN(const ev::TouchpointUpdated updated,
                        unpack(ev::TouchpointUpdated(), TouchpointChange::Kind::kUpdated));
    for (const std::string& path : updated.changed_fields().paths()) {
      change.next_action_changed = change.next_action_changed || path == "next_action" ||
                                   absl::StartsWith(path, "next_action.");
      change.customer_changed = change.customer_changed || path == "customer_id";
    }
  } else {
    return std::nullopt;
  }
  if (change.touchpoint.touchpoint_id().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("event ", event.event_id(), ": the touchpoint has no id"));
  }
  return change;
}

// Moves the touchpoints' tasks as `moved` says (see the top of follow_ups.h).
absl::Status ApplyReassigned(pqxx::work& txn, const ev::EventEnvelope& event,
                             const ev::TouchpointsReassigned& moved, absl::Time now) {
  const std::string& tenant = event.tenant_id();
  const std::string& from = moved.from_customer_id();
  const std::string& to = moved.to_customer_id();
  if (from.empty() || to.empty() || moved.merge_id().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event ", event.event_id(), ": TouchpointsReassigned needs both customers and a merge"));
  }
  // An undo finds what its merge moved the other way.
  std::vector<std::string> merged;
  for (const pqxx::row& row :
       txn.exec_params(sql::kForgetMergeMoves, tenant, moved.merge_id(), to, from)) {
    merged.push_back(row[0].as<std::string>());
  }
  const bool undo = !merged.empty();
  const pqxx::result rows =
      undo ? txn.exec_params(sql::kLockTasksOfCustomer, tenant, pg::TextArrayLiteral(merged), from)
           : txn.exec_params(sql::kLockAllTasksOfCustomer, tenant, from);
  std::vector<std::string> moved_ids;
  for (const pqxx::row& row : rows) {
    TL_ASSIGN_OR_RETURN(const FollowUpWrite write,
                        DecideMove(FollowUpFromRow(row), to, moved.merge_id(), undo, now));
    if (write.kind == FollowUpWrite::Kind::kNone) continue;
    TL_RETURN_IF_ERROR(Store(txn, event, write, now, from));
    moved_ids.push_back(write.after.task.task_id());
  }
  if (!undo && !moved_ids.empty()) {
    txn.exec_params(sql::kRememberMergeMoves, tenant, moved.merge_id(),
                    pg::TextArrayLiteral(moved_ids), from, to);
  }
  return absl::OkStatus();
}

absl::Status ApplyOne(pqxx::work& txn, const ev::EventEnvelope& event, absl::Time now) {
  if (event.payload().Is<ev::TouchpointsReassigned>()) {
    ev::TouchpointsReassigned moved;
    if (!event.payload().UnpackTo(&moved)) {
      return absl::InvalidArgumentError(
          absl::StrCat("event ", event.event_id(), ": TouchpointsReassigned does not parse"));
    }
    return ApplyReassigned(txn, event, moved, now);
  }
  TL_ASSIGN_OR_RETURN(const std::optional<TouchpointChange> change, ChangeOf(event));
  if (!change.has_value()) return absl::OkStatus();
  std::optional<FollowUpTask> current;
  const pqxx::result rows =
      txn.exec_params(sql::kLockFollowUp, event.tenant_id(), change->touchpoint.touchpoint_id());
  if (!rows.empty()) current = FollowUpFromRow(rows[0]);
  TL_ASSIGN_OR_RETURN(const FollowUpWrite write,
                      DecideFollowUp(current, *change, now, ids::NewUuid(now)));
  if (write.kind == FollowUpWrite::Kind::kNone) return absl::OkStatus();
  return Store(txn, event, write, now, current.has_value() ? current->task.customer_id() : "");
}

}  // namespace

absl::Status ApplyFollowUps(pqxx::work& txn,
                            std::span<const events::v1::EventEnvelope* const> events,
                            absl::Time now) {
  for (const ev::EventEnvelope* event : events) {
    TL_RETURN_IF_ERROR(ApplyOne(txn, *event, now));
  }
  return absl::OkStatus();
}

events::BatchApplyFn FollowUpConsumer(std::function<absl::Time()> clock) {
  return [clock = std::move(clock)](pqxx::work& txn,
                                    std::span<const ev::EventEnvelope* const> events) {
    return ApplyFollowUps(txn, events, clock());
  };
}

}  // namespace touchline::automation
