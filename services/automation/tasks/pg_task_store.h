// TaskStore on PostgreSQL (the automation schema, the customer read model and the shares read
// model beside it).
#ifndef TOUCHLINE_SERVICES_AUTOMATION_TASKS_PG_TASK_STORE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_TASKS_PG_TASK_STORE_H_

#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "common/pg/pool.h"
#include "services/automation/tasks/task_store.h"

namespace touchline::automation {

// What PgTaskStore and the follow-ups (follow_ups.h) read and write alike, in the caller's
// transaction.
namespace task_rows {

// A row whose first columns are tasks_sql::kTaskColumns (sql.h), as the task it is.
v1::Task TaskFromRow(const pqxx::row& row);

// Inserts `task` (state, source, times as given; version 1); false (nothing written) when a
// task of the same rule action or touchpoint is stored.
bool InsertTask(pqxx::work& txn, const std::string& tenant_id, const v1::Task& task,
                absl::Time now);

}  // namespace task_rows

class PgTaskStore final : public TaskStore {
 public:
  // `pool` must outlive the store; `events_written` wakes the outbox relay after a commit
  // that wrote events (the audit entries and task events).
  PgTaskStore(pg::Pool* pool, std::function<void()> events_written)
      : pool_(pool), events_written_(std::move(events_written)) {}

  absl::StatusOr<std::optional<auth::CustomerAttributes>> FindCustomer(
      const std::string& tenant_id, const std::string& customer_id) override;
  absl::StatusOr<v1::Task> Create(const NewTask& task) override;
  absl::StatusOr<v1::Task> Get(const std::string& tenant_id, const std::string& task_id) override;
  absl::StatusOr<std::vector<v1::Task>> List(const TaskQuery& query) override;
  absl::StatusOr<v1::Task> Change(const TaskChange& change) override;
  absl::StatusOr<int64_t> NextTeamTurn(const std::string& tenant_id,
                                       const std::string& team_id) override;

 private:
  pg::Pool* const pool_;
  const std::function<void()> events_written_;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_TASKS_PG_TASK_STORE_H_
