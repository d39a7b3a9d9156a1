// Follow-ups: a touchpoint's agreed next action (touchpoint.proto NextAction) becomes an open
// task by itself (source touchpoint_id, one per touchpoint), which follows the touchpoint as the
// "touchpoints" topic tells of it (touchpoint_events.proto):
//  - TouchpointRecorded with a next action that has a description: creates the OPEN task
//    (FollowUpOf says what it holds). Replayed, or recorded when the task exists: nothing.
//  - TouchpointUpdated whose changed_fields name next_action (or a field of it): an OPEN task
//    takes the new title, body, assignee and due time; a removed next action (no description)
//    cancels it (kNextActionRemoved, resolution note kNextActionRemovedNote); a next action set
//    again reopens a task cancelled so (the same row: the touchpoint key is unique), with the
//    new next action and the note cleared; with no task yet, the next action added later
//    creates it. A task completed or cancelled by a person, or cancelled because the touchpoint
//    was deleted, is left as it is. Fields other than next_action and customer_id leave the task
//    alone, so that a reassignment by hand survives an unrelated correction of the touchpoint.
//  - TouchpointUpdated whose changed_fields name customer_id: the task, in any state, is about
//    the touchpoint's customer now.
//  - TouchpointDeleted: an OPEN task is cancelled (kTouchpointDeleted, kTouchpointDeletedNote)
//    and never reopens; one its removed next action cancelled is marked so too (its note
//    becomes kTouchpointDeletedNote).
//  - TouchpointsReassigned (customers merged, or the merge undone): every task, in any state,
//    of from_customer_id (the touchpoints' and the rules') moves to to_customer_id, and the
//    merge remembers which moved (task_merge_moves, migrations/0002_follow_ups.sql). The undo
//    (the same merge_id, the customers the other way round) moves back exactly those it moved,
//    where they still are with the survivor; tasks made for the survivor stay. Limits: the
//    event does not name the touchpoints that moved, so a merge moves every task of the merged
//    customer (the touchpoints service moves its touchpoints whole); a task that moved on again
//    (the survivor merged in turn) before the undo stays where it is.
// Every write bumps the task's version (its etag) and sets update_time to `now`, and appends an
// audit entry and a task event (TaskCreated or TaskChanged, topic "tasks") to the outbox in the
// same transaction, as the event's actor (actor_id, request id; client "event <event_id>"):
// "task.created", "task.updated" (the fields that changed), "task.cancelled", "task.reopened".
// Writes in the consumer's transaction do not wake the outbox relay: the entries go out on its
// next poll.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_TASKS_FOLLOW_UPS_H_
#define TOUCHLINE_SERVICES_AUTOMATION_TASKS_FOLLOW_UPS_H_

#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/events/consumer.h"
#include "touchline/automation/v1/task.pb.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

namespace touchline::automation {

// The longest task title, in code points (task.proto).
inline constexpr size_t kMaxTaskTitleChars = 500;

// The resolution notes of a task its touchpoint cancelled.
inline constexpr char kNextActionRemovedNote[] =
    "Cancelled: the touchpoint's next action was removed.";
inline constexpr char kTouchpointDeletedNote[] = "Cancelled: the touchpoint was deleted.";

// What a touchpoint's next action asks of its task.
struct FollowUp {
  std::string customer_id;
  // The description, trimmed, cut to kMaxTaskTitleChars whole code points.
  std::string title;
  // "Next action agreed in touchpoint <id>" with the touchpoint's subject, then its summary.
  std::string body;
  // The next action's owner_id; when empty, the touchpoint's recorded_by (the touchpoint has
  // no owner of its own, and the person who recorded the agreement is the one who knows it);
  // when that is empty too, `actor` (who made the change).
  std::string assignee_id;
  // The next action's due_time; when unset, the end of the day after occur_time, UTC
  // (23:59:59 of that day).
  absl::Time due_time;
};

// The follow-up of `touchpoint`; nullopt when it has no next action with a description (white
// space only counts as none) or nobody to assign it to.
std::optional<FollowUp> FollowUpOf(const touchpoints::v1::Touchpoint& touchpoint,
                                   const std::string& actor);

// Why a touchpoint (not a person) cancelled its task (tasks.follow_up_cancel).
enum class FollowUpCancel { kNone = 0, kNextActionRemoved = 1, kTouchpointDeleted = 2 };

// A stored task as follow-ups see it.
struct FollowUpTask {
  v1::Task task;
  FollowUpCancel cancel = FollowUpCancel::kNone;
};

// An event of the "touchpoints" topic about one touchpoint.
struct TouchpointChange {
  enum class Kind { kRecorded, kUpdated, kDeleted };

  Kind kind = Kind::kRecorded;
  // As the event carries it (after the change).
  touchpoints::v1::Touchpoint touchpoint;
  // kUpdated: changed_fields names next_action or a field of it.
  bool next_action_changed = false;
  // kUpdated: changed_fields names customer_id.
  bool customer_changed = false;
  // Who made the change (the envelope's actor_id).
  std::string actor;
};

// What to write for an event: nothing, a new task, or the task changed.
struct FollowUpWrite {
  enum class Kind { kNone, kInsert, kUpdate };

  Kind kind = Kind::kNone;
  // kInsert, kUpdate: the task as it is to be stored (etag and update_time the next ones).
  FollowUpTask after;
  // The audit entry: its action ("task.created" ...), the fields changed and a detail.
  std::string action;
  std::vector<std::string> fields;
  std::string detail;
};

// What `change` does to `current`, the touchpoint's task (nullopt: none stored), at `now`
// (truncated to microseconds); a new task gets `new_task_id`. Pure. INTERNAL when current's
// etag is not a version number.
absl::StatusOr<FollowUpWrite> DecideFollowUp(const std::optional<FollowUpTask>& current,
                                             const TouchpointChange& change, absl::Time now,
                                             const std::string& new_task_id);

// `current` moved to customer `to_customer_id` at `now` by merge `merge_id` (or its undo, with
// `undo`); kNone when it is about that customer already. Pure. INTERNAL as DecideFollowUp.
absl::StatusOr<FollowUpWrite> DecideMove(const FollowUpTask& current,
                                         const std::string& to_customer_id,
                                         const std::string& merge_id, bool undo, absl::Time now);

// Applies `events` of the "touchpoints" topic, in order, to the touchpoints' tasks in `txn`
// (the consumer's), at `now`. Other events are skipped. INVALID_ARGUMENT for a payload that
// does not parse; ABORTED when another transaction created a touchpoint's task meanwhile (the
// consumer retries); the mapped PostgreSQL error otherwise (as an exception, which the consumer
// rolls back like an error).
absl::Status ApplyFollowUps(pqxx::work& txn,
                            std::span<const events::v1::EventEnvelope* const> events,
                            absl::Time now);

// The events::BatchApplyFn the service registers as its "touchpoints" consumer:
// ApplyFollowUps at clock() (absl::Now in the service). The search path of the consumer's pool
// must be the automation schema.
events::BatchApplyFn FollowUpConsumer(std::function<absl::Time()> clock);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_TASKS_FOLLOW_UPS_H_
