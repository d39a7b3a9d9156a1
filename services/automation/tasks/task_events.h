// The events of task writes on the "tasks" topic (proto/touchline/events/v1/task_events.proto):
// both task stores and the follow-ups append them to the outbox in the write's transaction,
// beside its audit entry, so that whoever shows a customer's tasks (the gateway's 360 view)
// hears of every change that committed. Pure.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_EVENTS_H_
#define TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_EVENTS_H_

#include <string>
#include <string_view>
#include <vector>

#include "common/auth/request_context.h"
#include "services/automation/tasks/task_store.h"
#include "touchline/automation/v1/task.pb.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::automation {

// The aggregate type of the events of a task (their aggregate_id is the task id).
inline constexpr char kTaskAggregate[] = "task";

// A TaskCreated of `task` (as stored), by `caller` (tenant, request id, actor).
events::v1::EventEnvelope TaskCreatedEvent(const auth::RequestContext& caller,
                                           const v1::Task& task);

// A TaskChanged of `task` (after the change) naming `changed_fields`, by `caller`;
// `previous_customer_id` is the customer the task was about before the change, and is carried
// only when it is another one.
events::v1::EventEnvelope TaskChangedEvent(const auth::RequestContext& caller, const v1::Task& task,
                                           const std::vector<std::string>& changed_fields,
                                           std::string_view previous_customer_id);

// The fields a TaskChange of `kind` sets: complete (state, complete_time, resolution_note),
// reassign (assignee_id), cancel (state, resolution_note).
std::vector<std::string> ChangedFieldsOf(TaskChange::Kind kind);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_TASKS_TASK_EVENTS_H_
