#include "services/automation/tasks/task_events.h"

#include "common/events/outbox.h"
#include "touchline/events/v1/task_events.pb.h"

namespace touchline::automation {

events::v1::EventEnvelope TaskCreatedEvent(const auth::RequestContext& caller,
                                           const v1::Task& task) {
  events::v1::TaskCreated created;
  *created.mutable_task() = task;
  return events::MakeEnvelope(created, caller.tenant_id, kTaskAggregate, task.task_id(),
                              caller.request_id, caller.caller_id);
}

events::v1::EventEnvelope TaskChangedEvent(const auth::RequestContext& caller, const v1::Task& task,
                                           const std::vector<std::string>& changed_fields,
                                           std::string_view previous_customer_id) {
  events::v1::TaskChanged changed;
  *changed.mutable_task() = task;
  for (const std::string& field : changed_fields)
    changed.mutable_changed_fields()->add_paths(field);
  if (previous_customer_id != task.customer_id()) {
    changed.set_previous_customer_id(std::string(previous_customer_id));
  }
  return events::MakeEnvelope(changed, caller.tenant_id, kTaskAggregate, task.task_id(),
                              caller.request_id, caller.caller_id);
}

std::vector<std::string> ChangedFieldsOf(TaskChange::Kind kind) {
  switch (kind) {
    case TaskChange::Kind::kComplete:
      return {"state", "complete_time", "resolution_note"};
    case TaskChange::Kind::kReassign:
      return {"assignee_id"};
    case TaskChange::Kind::kCancel:
      break;
  }
  return {"state", "resolution_note"};
}

}  // namespace touchline::automation
