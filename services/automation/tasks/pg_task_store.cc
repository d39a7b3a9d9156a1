#include "services/automation/tasks/pg_task_store.h"

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/customers/read_model.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/idempotency/idempotency.h"
#include "common/pg/array.h"
#include "common/status/macros.h"
#include "services/automation/tasks/sql.h"
#include "services/automation/tasks/task_change.h"
#include "services/automation/tasks/task_events.h"

namespace touchline::automation {
namespace {

namespace sql = tasks_sql;

// tasks.source_kind.
constexpr int kSourceRule = 1;
constexpr int kSourceTouchpoint = 2;
constexpr int kSourceCreatedBy = 3;

// Microseconds (NULL: -1) for a TL_PG_NULLABLE_MICROS parameter.
int64_t Micros(const google::protobuf::Timestamp& t, bool set = true) {
  return set ? absl::ToUnixMicros(FromProtoTime(t)) : -1;
}

google::protobuf::Timestamp ProtoTimeOf(const pqxx::field& micros) {
  return ToProtoTime(absl::FromUnixMicros(micros.as<int64_t>()));
}

}  // namespace

namespace task_rows {

v1::Task TaskFromRow(const pqxx::row& row) {
  v1::Task task;
  task.set_task_id(row[0].as<std::string>());
  task.set_customer_id(row[1].as<std::string>());
  task.set_title(row[2].as<std::string>());
  task.set_body(row[3].as<std::string>());
  task.set_assignee_id(row[4].as<std::string>());
  *task.mutable_due_time() = ProtoTimeOf(row[5]);
  task.set_priority(static_cast<v1::TaskPriority>(row[6].as<int>()));
  task.set_state(static_cast<v1::TaskState>(row[7].as<int>()));
  switch (row[8].as<int>()) {
    case kSourceRule: {
      v1::RuleSource* rule = task.mutable_source()->mutable_rule();
      rule->set_rule_id(row[9].as<std::string>());
      rule->set_rule_version(row[10].as<int>());
      rule->set_run_id(row[11].as<std::string>());
      rule->set_action_id(row[12].as<std::string>());
      break;
    }
    case kSourceTouchpoint:
      task.mutable_source()->set_touchpoint_id(row[13].as<std::string>());
      break;
    case kSourceCreatedBy:
      task.mutable_source()->set_created_by(row[14].as<std::string>());
      break;
    default:
      break;
  }
  if (!row[15].is_null()) *task.mutable_complete_time() = ProtoTimeOf(row[15]);
  task.set_resolution_note(row[16].as<std::string>());
  *task.mutable_create_time() = ProtoTimeOf(row[17]);
  *task.mutable_update_time() = ProtoTimeOf(row[18]);
  task.set_etag(std::to_string(row[19].as<int64_t>()));
  return task;
}

bool InsertTask(pqxx::work& txn, const std::string& tenant_id, const v1::Task& task,
                absl::Time now) {
  const v1::TaskSource& source = task.source();
  const v1::RuleSource& rule = source.rule();
  int kind = kSourceCreatedBy;
  if (source.has_rule()) kind = kSourceRule;
  if (source.kind_case() == v1::TaskSource::kTouchpointId) kind = kSourceTouchpoint;
  return !txn.exec_params(sql::kInsertTask, tenant_id, task.task_id(), task.customer_id(),
                          task.title(), task.body(), task.assignee_id(), Micros(task.due_time()),
                          static_cast<int>(task.priority()), static_cast<int>(task.state()), kind,
                          rule.rule_id(), source.has_rule() ? rule.rule_version() : -1,
                          rule.run_id(), rule.action_id(), source.touchpoint_id(),
                          source.created_by(), absl::ToUnixMicros(now))
              .empty();
}

}  // namespace task_rows

namespace {

using task_rows::InsertTask;
using task_rows::TaskFromRow;

// The first task of `rows`; nullopt when there is none.
std::optional<v1::Task> FirstTask(const pqxx::result& rows) {
  if (rows.empty()) return std::nullopt;
  return TaskFromRow(rows[0]);
}

// The stored task `task` repeats (same rule action or touchpoint); nullopt when none.
std::optional<v1::Task> TaskOfSource(pqxx::work& txn, const std::string& tenant_id,
                                     const v1::TaskSource& source) {
  if (source.has_rule()) {
    const v1::RuleSource& rule = source.rule();
    return FirstTask(txn.exec_params(sql::kSelectByRuleAction, tenant_id, rule.rule_id(),
                                     rule.rule_version(), rule.run_id(), rule.action_id()));
  }
  if (source.kind_case() == v1::TaskSource::kTouchpointId) {
    return FirstTask(txn.exec_params(sql::kSelectByTouchpoint, tenant_id, source.touchpoint_id()));
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::optional<auth::CustomerAttributes>> PgTaskStore::FindCustomer(
    const std::string& tenant_id, const std::string& customer_id) {
  std::optional<auth::CustomerAttributes> found;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    found.reset();
    const std::optional<customers::CustomerRow> row =
        customers::FindCustomer(txn, tenant_id, customer_id);
    if (!row.has_value()) return absl::OkStatus();
    found =
        auth::CustomerAttributes{.customer_id = row->customer_id,
                                 .owner_id = row->owner_id,
                                 .region = row->region,
                                 .level = row->level,
                                 .shares = enforcement::LoadShares(txn, tenant_id, customer_id)};
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<v1::Task> PgTaskStore::Create(const NewTask& task) {
  const std::string& tenant_id = task.context.caller.tenant_id;
  v1::Task result;
  bool written = false;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    written = false;
    const idempotency::KeyClaim claimed{.key = CreateKey(task), .result = task.task.task_id()};
    if (!task.request_id.empty()) {
      TL_ASSIGN_OR_RETURN(const idempotency::Claim claim,
                          idempotency::ClaimKey(txn, claimed.key, claimed.result));
      if (claim.decision == idempotency::Decision::kConflict) {
        return idempotency::RequestIdReused(task.request_id);
      }
      if (claim.decision == idempotency::Decision::kReplay) {
        std::optional<v1::Task> first =
            FirstTask(txn.exec_params(sql::kSelectTask, tenant_id, claim.result));
        if (!first.has_value()) return TaskNotFound(claim.result);
        result = *std::move(first);
        return absl::OkStatus();
      }
    }
    if (!InsertTask(txn, tenant_id, task.task, task.context.now)) {
      std::optional<v1::Task> stored = TaskOfSource(txn, tenant_id, task.task.source());
      if (!stored.has_value()) {
        return absl::InternalError(
            absl::StrCat("task ", task.task.task_id(), " conflicts with a stored task"));
      }
      // The key goes back: a retry finds the same stored task again.
      if (!task.request_id.empty()) idempotency::ReleaseKeys(txn, {&claimed, 1});
      result = *std::move(stored);
      return absl::OkStatus();
    }
    result = task.task;
    result.set_etag("1");
    events::AppendToOutbox(txn, events::kAuditTopic, CreatedAuditEntry(task));
    events::AppendToOutbox(txn, events::kTasksTopic, TaskCreatedEvent(task.context.caller, result));
    written = true;
    return absl::OkStatus();
  }));
  if (written && events_written_) events_written_();
  return result;
}

absl::StatusOr<v1::Task> PgTaskStore::Get(const std::string& tenant_id,
                                          const std::string& task_id) {
  std::optional<v1::Task> task;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    task = FirstTask(txn.exec_params(sql::kSelectTask, tenant_id, task_id));
    return absl::OkStatus();
  }));
  if (!task.has_value()) return TaskNotFound(task_id);
  return *std::move(task);
}

absl::StatusOr<std::vector<v1::Task>> PgTaskStore::List(const TaskQuery& query) {
  std::vector<std::string> params = {query.tenant_id};
  const auto param = [&](std::string value) {
    params.push_back(std::move(value));
    return absl::StrCat("$", params.size());
  };
  // $n (microseconds) as a timestamptz.
  const auto time_param = [&](absl::Time t) {
    return absl::StrCat("(timestamptz 'epoch' + ", param(absl::StrCat(absl::ToUnixMicros(t))),
                        "::bigint * interval '1 microsecond')");
  };
  // A task shows exactly when its customer does: always through the read model, so that a
  // task whose customer it does not know is hidden from everyone, as Get hides it.
  std::string sql = absl::StrCat(
      "SELECT ", sql::kTaskColumns,
      " FROM tasks t JOIN customers c ON c.tenant_id = t.tenant_id AND c.customer_id = "
      "t.customer_id WHERE t.tenant_id = $1");
  const auth::SqlCondition visible = query.scope->SqlVisibility(
      auth::Access::kRead, "c", enforcement::kSharesTable, static_cast<int>(params.size()) + 1);
  params.insert(params.end(), visible.params.begin(), visible.params.end());
  absl::StrAppend(&sql, " AND (", visible.sql, ")");
  if (!query.assignee_id.empty()) {
    absl::StrAppend(&sql, " AND t.assignee_id = ", param(query.assignee_id));
  }
  if (query.assignee_in.has_value()) {
    absl::StrAppend(&sql, " AND t.assignee_id = ANY(",
                    param(pg::TextArrayLiteral(*query.assignee_in)), "::text[])");
  }
  if (query.state != v1::TASK_STATE_UNSPECIFIED) {
    absl::StrAppend(&sql, " AND t.state = ", param(absl::StrCat(static_cast<int>(query.state))),
                    "::smallint");
  }
  if (query.open_due_before.has_value()) {
    absl::StrAppend(&sql, " AND t.state = 1 AND t.due_time < ", time_param(*query.open_due_before));
  }
  if (!query.customer_id.empty()) {
    absl::StrAppend(&sql, " AND t.customer_id = ", param(query.customer_id), "::uuid");
  }
  if (query.after.has_value()) {
    absl::StrAppend(&sql, " AND (t.due_time, t.task_id) > (", time_param(query.after->due_time),
                    ", ", param(query.after->task_id), "::uuid)");
  }
  absl::StrAppend(&sql, " ORDER BY t.due_time, t.task_id LIMIT ", param(absl::StrCat(query.limit)),
                  "::int");
  std::vector<v1::Task> tasks;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    tasks.clear();
    for (const pqxx::row& row : txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params))) {
      tasks.push_back(TaskFromRow(row));
    }
    return absl::OkStatus();
  }));
  return tasks;
}

absl::StatusOr<v1::Task> PgTaskStore::Change(const TaskChange& change) {
  const std::string& tenant_id = change.context.caller.tenant_id;
  v1::Task result;
  bool written = false;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    written = false;
    const std::optional<v1::Task> current =
        FirstTask(txn.exec_params(sql::kLockTask, tenant_id, change.task_id));
    if (!current.has_value()) return TaskNotFound(change.task_id);
    TL_ASSIGN_OR_RETURN(result, ApplyChange(*current, change));
    txn.exec_params(sql::kUpdateTask, tenant_id, change.task_id, result.assignee_id(),
                    static_cast<int>(result.state()),
                    Micros(result.complete_time(), result.has_complete_time()),
                    result.resolution_note(), Micros(result.update_time()),
                    std::stoll(result.etag()));
    events::AppendToOutbox(txn, events::kAuditTopic, ChangeAuditEntry(change));
    events::AppendToOutbox(txn, events::kTasksTopic,
                           TaskChangedEvent(change.context.caller, result,
                                            ChangedFieldsOf(change.kind), current->customer_id()));
    written = true;
    return absl::OkStatus();
  }));
  if (written && events_written_) events_written_();
  return result;
}

absl::StatusOr<int64_t> PgTaskStore::NextTeamTurn(const std::string& tenant_id,
                                                  const std::string& team_id) {
  int64_t turn = 0;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) {
    turn = txn.exec_params1(tasks_sql::kNextTeamTurn, tenant_id, team_id)[0].as<int64_t>();
    return absl::OkStatus();
  }));
  return turn;
}

}  // namespace touchline::automation
