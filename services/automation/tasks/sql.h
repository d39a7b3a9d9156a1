// The SQL of PgTaskStore: named statements with explicit columns and $n parameters over `tasks`
// (migrations/0001_tasks.sql, 0002_follow_ups.sql). Statements run with search_path set to the
// service's schema. Times travel as bigint Unix microseconds.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_TASKS_SQL_H_
#define TOUCHLINE_SERVICES_AUTOMATION_TASKS_SQL_H_

#include "common/pg/sql_time.h"

namespace touchline::automation::tasks_sql {

// clang-format off
// The columns of a task, in TaskFromRow's order (pg_task_store.cc), of the table aliased t.
#define TL_TASK_COLUMNS                                                                       \
  "t.task_id::text, t.customer_id::text, t.title, t.body, t.assignee_id, "                    \
  TL_PG_TO_MICROS("t.due_time") ", t.priority, t.state, t.source_kind, t.rule_id, "           \
  "t.rule_version, t.run_id, t.action_id, t.touchpoint_id, t.created_by, "                    \
  TL_PG_TO_MICROS("t.complete_time") ", t.resolution_note, "                                  \
  TL_PG_TO_MICROS("t.create_time") ", " TL_PG_TO_MICROS("t.update_time") ", t.version"

inline constexpr char kTaskColumns[] = TL_TASK_COLUMNS;

// Inserts a task: tenant $1, id $2, customer $3, title $4, body $5, assignee $6, due $7,
// priority $8, state $9, source kind $10, rule $11, rule version $12, run $13, action $14,
// touchpoint $15, created by $16 (the source fields not of its kind '' and -1: NULL), created
// and updated $17. Nothing when a task of the same rule action or touchpoint is stored: no row.
inline constexpr char kInsertTask[] =
    "INSERT INTO tasks (tenant_id, task_id, customer_id, title, body, assignee_id, due_time, "
    "priority, state, source_kind, rule_id, rule_version, run_id, action_id, touchpoint_id, "
    "created_by, create_time, update_time, version) VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, "
    TL_PG_NULLABLE_MICROS(7) ", $8, $9, $10, nullif($11, ''), nullif($12::integer, -1), nullif($13, ''), "
    "nullif($14, ''), nullif($15, ''), nullif($16, ''), " TL_PG_NULLABLE_MICROS(17) ", "
    TL_PG_NULLABLE_MICROS(17) ", 1) ON CONFLICT DO NOTHING RETURNING 1";

// Task $2 of tenant $1.
inline constexpr char kSelectTask[] =
    "SELECT " TL_TASK_COLUMNS " FROM tasks t WHERE t.tenant_id = $1 AND t.task_id = $2::uuid";

// Task $2 of tenant $1, locked until commit.
inline constexpr char kLockTask[] =
    "SELECT " TL_TASK_COLUMNS " FROM tasks t WHERE t.tenant_id = $1 AND t.task_id = $2::uuid "
    "FOR UPDATE";

// The task of tenant $1 made by action $5 of run $4 of rule $2 version $3.
inline constexpr char kSelectByRuleAction[] =
    "SELECT " TL_TASK_COLUMNS " FROM tasks t WHERE t.tenant_id = $1 AND t.rule_id = $2 "
    "AND t.rule_version = $3 AND t.run_id = $4 AND t.action_id = $5";

// The task of tenant $1 that follows touchpoint $2's next action.
inline constexpr char kSelectByTouchpoint[] =
    "SELECT " TL_TASK_COLUMNS " FROM tasks t WHERE t.tenant_id = $1 AND t.touchpoint_id = $2";

// Task $2 of tenant $1 as a change left it: assignee $3, state $4, completed $5 (-1: NULL),
// resolution note $6, updated $7, version $8.
inline constexpr char kUpdateTask[] =
    "UPDATE tasks SET assignee_id = $3, state = $4, complete_time = " TL_PG_NULLABLE_MICROS(5) ", "
    "resolution_note = $6, update_time = " TL_PG_NULLABLE_MICROS(7) ", version = $8 "
    "WHERE tenant_id = $1 AND task_id = $2::uuid";

// Follow-ups (follow_ups.cc, migrations/0002_follow_ups.sql): the task columns, then
// follow_up_cancel (0 for NULL).
#define TL_FOLLOW_UP_COLUMNS TL_TASK_COLUMNS ", coalesce(t.follow_up_cancel, 0)::int"

// The task of tenant $1 that follows touchpoint $2's next action, locked until commit.
inline constexpr char kLockFollowUp[] =
    "SELECT " TL_FOLLOW_UP_COLUMNS " FROM tasks t WHERE t.tenant_id = $1 AND t.touchpoint_id = $2 "
    "FOR UPDATE";

// Every task of tenant $1 about customer $2 (the touchpoints' and the rules'), locked until
// commit.
inline constexpr char kLockAllTasksOfCustomer[] =
    "SELECT " TL_FOLLOW_UP_COLUMNS " FROM tasks t WHERE t.tenant_id = $1 "
    "AND t.customer_id = $2::uuid ORDER BY t.task_id FOR UPDATE";

// Tasks $2 (a uuid[] literal) of tenant $1 still about customer $3, locked until commit.
inline constexpr char kLockTasksOfCustomer[] =
    "SELECT " TL_FOLLOW_UP_COLUMNS " FROM tasks t WHERE t.tenant_id = $1 "
    "AND t.task_id = ANY($2::uuid[]) AND t.customer_id = $3::uuid ORDER BY t.task_id FOR UPDATE";

// Task $2 of tenant $1 as its touchpoint left it: customer $3, title $4, body $5, assignee $6,
// due $7, state $8, completed $9 (-1: NULL), resolution note $10, updated $11, version $12,
// follow_up_cancel $13 (0: NULL).
inline constexpr char kUpdateFollowUp[] =
    "UPDATE tasks SET customer_id = $3::uuid, title = $4, body = $5, assignee_id = $6, "
    "due_time = " TL_PG_NULLABLE_MICROS(7) ", state = $8, complete_time = " TL_PG_NULLABLE_MICROS(9) ", "
    "resolution_note = $10, update_time = " TL_PG_NULLABLE_MICROS(11) ", version = $12, "
    "follow_up_cancel = nullif($13::smallint, 0) WHERE tenant_id = $1 AND task_id = $2::uuid";

// Forgets the tasks merge $2 of tenant $1 moved from customer $3 to customer $4: the ids of
// those it moved (none when it moved none that way).
inline constexpr char kForgetMergeMoves[] =
    "DELETE FROM task_merge_moves WHERE tenant_id = $1 AND merge_id = $2 "
    "AND from_customer_id = $3::uuid AND to_customer_id = $4::uuid RETURNING task_id::text";

// Remembers that merge $2 of tenant $1 moved tasks $3 (a uuid[] literal) from customer $4 to
// customer $5.
inline constexpr char kRememberMergeMoves[] =
    "INSERT INTO task_merge_moves (tenant_id, merge_id, task_id, from_customer_id, "
    "to_customer_id) SELECT $1, $2, id, $4::uuid, $5::uuid FROM unnest($3::uuid[]) AS id "
    "ON CONFLICT DO NOTHING";

#undef TL_FOLLOW_UP_COLUMNS
#undef TL_TASK_COLUMNS
#undef TL_PG_TO_MICROS
#undef TL_PG_NULLABLE_MICROS
// The next turn of a team's round robin (0 the first time).
inline constexpr char kNextTeamTurn[] =
    "INSERT INTO team_turns (tenant_id, team_id, turn) VALUES ($1, $2, 0) "
    "ON CONFLICT (tenant_id, team_id) DO UPDATE SET turn = team_turns.turn + 1 RETURNING turn";

// clang-format on

}  // namespace touchline::automation::tasks_sql

#endif  // TOUCHLINE_SERVICES_AUTOMATION_TASKS_SQL_H_
