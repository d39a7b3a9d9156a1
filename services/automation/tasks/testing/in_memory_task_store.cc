#include "services/automation/tasks/testing/in_memory_task_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "common/idempotency/idempotency.h"
#include "services/automation/tasks/task_change.h"
#include "services/automation/tasks/task_events.h"

namespace touchline::automation::testing {
namespace {

// The place of `task` in ListTasks' order.
std::pair<absl::Time, std::string> PlaceOf(const v1::Task& task) {
  return {FromProtoTime(task.due_time()), task.task_id()};
}

}  // namespace

void InMemoryTaskStore::AddCustomer(const std::string& tenant_id,
                                    auth::CustomerAttributes customer) {
  absl::MutexLock lock(&mu_);
  const std::string id = absl::AsciiStrToLower(customer.customer_id);
  customers_[{tenant_id, id}] = std::move(customer);
}

std::vector<events::v1::EventEnvelope> InMemoryTaskStore::audit_entries() const {
  absl::MutexLock lock(&mu_);
  return audit_entries_;
}

std::vector<events::v1::EventEnvelope> InMemoryTaskStore::task_events() const {
  absl::MutexLock lock(&mu_);
  return task_events_;
}

absl::StatusOr<std::optional<auth::CustomerAttributes>> InMemoryTaskStore::FindCustomer(
    const std::string& tenant_id, const std::string& customer_id) {
  absl::MutexLock lock(&mu_);
  const auto found = customers_.find({tenant_id, absl::AsciiStrToLower(customer_id)});
  if (found == customers_.end()) return std::nullopt;
  return found->second;
}

absl::StatusOr<v1::Task> InMemoryTaskStore::Create(const NewTask& task) {
  absl::MutexLock lock(&mu_);
  const std::string& tenant = task.context.caller.tenant_id;
  if (!task.request_id.empty()) {
    const auto stored = keys_.find({tenant, task.request_id});
    if (stored != keys_.end()) {
      switch (idempotency::Decide(stored->second, kCreateTaskMethod, task.fingerprint)) {
        case idempotency::Decision::kConflict:
          return idempotency::RequestIdReused(task.request_id);
        case idempotency::Decision::kReplay: {
          const auto first = tasks_.find({tenant, stored->second.result});
          if (first == tasks_.end()) return TaskNotFound(stored->second.result);
          return first->second;
        }
        case idempotency::Decision::kNew:
          break;
      }
    }
  }
  for (const auto& [key, stored] : tasks_) {
    // As PgTaskStore: the key is not kept, so a retry finds the same stored task again.
    if (key.first == tenant && SameSource(stored.source(), task.task.source())) return stored;
  }
  v1::Task created = task.task;
  created.set_etag("1");
  tasks_[{tenant, absl::AsciiStrToLower(created.task_id())}] = created;
  if (!task.request_id.empty()) {
    keys_[{tenant, task.request_id}] = idempotency::StoredRequest{
        .method = kCreateTaskMethod, .fingerprint = task.fingerprint, .result = created.task_id()};
  }
  audit_entries_.push_back(CreatedAuditEntry(task));
  task_events_.push_back(TaskCreatedEvent(task.context.caller, created));
  return created;
}

absl::StatusOr<v1::Task> InMemoryTaskStore::Get(const std::string& tenant_id,
                                                const std::string& task_id) {
  absl::MutexLock lock(&mu_);
  const auto found = tasks_.find({tenant_id, absl::AsciiStrToLower(task_id)});
  if (found == tasks_.end()) return TaskNotFound(task_id);
  return found->second;
}

absl::StatusOr<std::vector<v1::Task>> InMemoryTaskStore::List(const TaskQuery& query) {
  absl::MutexLock lock(&mu_);
  std::map<std::pair<absl::Time, std::string>, const v1::Task*> ordered;
  for (const auto& [key, task] : tasks_) {
    if (key.first != query.tenant_id) continue;
    const auto customer = customers_.find({key.first, task.customer_id()});
    if (customer == customers_.end() ||
        !query.scope->Allows(auth::Access::kRead, customer->second)) {
      continue;
    }
    if (!query.assignee_id.empty() && task.assignee_id() != query.assignee_id) continue;
    if (query.assignee_in.has_value() &&
        std::find(query.assignee_in->begin(), query.assignee_in->end(), task.assignee_id()) ==
            query.assignee_in->end()) {
      continue;
    }
    if (query.state != v1::TASK_STATE_UNSPECIFIED && task.state() != query.state) continue;
    if (query.open_due_before.has_value() &&
        (task.state() != v1::TASK_STATE_OPEN ||
         FromProtoTime(task.due_time()) >= *query.open_due_before)) {
      continue;
    }
    if (!query.customer_id.empty() && task.customer_id() != query.customer_id) continue;
    const auto place = PlaceOf(task);
    if (query.after.has_value() &&
        place <= std::make_pair(query.after->due_time, query.after->task_id)) {
      continue;
    }
    ordered[place] = &task;
  }
  std::vector<v1::Task> tasks;
  for (const auto& [place, task] : ordered) {
    if (static_cast<int>(tasks.size()) >= query.limit) break;
    tasks.push_back(*task);
  }
  return tasks;
}

absl::StatusOr<v1::Task> InMemoryTaskStore::Change(const TaskChange& change) {
  absl::MutexLock lock(&mu_);
  const auto found =
      tasks_.find({change.context.caller.tenant_id, absl::AsciiStrToLower(change.task_id)});
  if (found == tasks_.end()) return TaskNotFound(change.task_id);
  absl::StatusOr<v1::Task> changed = ApplyChange(found->second, change);
  if (!changed.ok()) return changed.status();
  task_events_.push_back(TaskChangedEvent(
      change.context.caller, *changed, ChangedFieldsOf(change.kind), found->second.customer_id()));
  found->second = *changed;
  audit_entries_.push_back(ChangeAuditEntry(change));
  return changed;
}

absl::StatusOr<int64_t> InMemoryTaskStore::NextTeamTurn(const std::string& tenant_id,
                                                        const std::string& team_id) {
  absl::MutexLock lock(&mu_);
  return team_turns_[{tenant_id, team_id}]++;
}

}  // namespace touchline::automation::testing
