-- The tasks people are given about customers: by a rule's action, by a touchpoint's agreed
-- next action, or by hand (touchline.automation.v1.Task). Every key starts with tenant_id.
-- Runs with search_path set to the service's schema; the customer read model (customers) and
-- the shares read model (customer_shares), which decide who sees a task, are migrated by the
-- host beside it.
CREATE TABLE tasks (
  tenant_id       text        NOT NULL,
  task_id         uuid        NOT NULL,
  customer_id     uuid        NOT NULL,
  title           text        NOT NULL,
  body            text        NOT NULL DEFAULT '',
  assignee_id     text        NOT NULL,
  due_time        timestamptz NOT NULL,
  -- touchline.automation.v1.TaskPriority numbers.
  priority        smallint    NOT NULL DEFAULT 0,
  -- touchline.automation.v1.TaskState numbers: 1 open, 2 completed, 3 cancelled.
  state           smallint    NOT NULL,
  -- What made it (TaskSource): 1 a rule's action (rule_id, rule_version, run_id, action_id),
  -- 2 a touchpoint's next action (touchpoint_id), 3 CreateTask (created_by).
  source_kind     smallint    NOT NULL,
  rule_id         text,
  rule_version    integer,
  run_id          text,
  action_id       text,
  touchpoint_id   text,
  created_by      text,
  complete_time   timestamptz,
  resolution_note text        NOT NULL DEFAULT '',
  create_time     timestamptz NOT NULL,
  update_time     timestamptz NOT NULL,
  -- Bumped by every write of the row; the etag.
  version         bigint      NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, task_id),
  CONSTRAINT tasks_state_known CHECK (state BETWEEN 1 AND 3),
  CONSTRAINT tasks_source_complete CHECK (
    (source_kind = 1 AND rule_id IS NOT NULL AND rule_version IS NOT NULL AND run_id IS NOT NULL
     AND action_id IS NOT NULL AND touchpoint_id IS NULL AND created_by IS NULL) OR
    (source_kind = 2 AND touchpoint_id IS NOT NULL AND rule_id IS NULL AND created_by IS NULL) OR
    (source_kind = 3 AND created_by IS NOT NULL AND rule_id IS NULL AND touchpoint_id IS NULL))
);

-- One task per touchpoint's next action and one per rule action of a run, so that the engine
-- inserts with ON CONFLICT DO NOTHING and a replayed event makes no second task.
CREATE UNIQUE INDEX tasks_by_touchpoint ON tasks (tenant_id, touchpoint_id)
  WHERE touchpoint_id IS NOT NULL;
CREATE UNIQUE INDEX tasks_by_rule_action ON tasks (tenant_id, rule_id, rule_version, run_id,
  action_id) WHERE rule_id IS NOT NULL;

-- ListTasks, the soonest due first: by assignee (mine, my team) and state; by customer; and
-- the open ones (overdue, and every list filtered by state OPEN without an assignee).
CREATE INDEX tasks_by_assignee ON tasks (tenant_id, assignee_id, state, due_time, task_id);
CREATE INDEX tasks_by_customer ON tasks (tenant_id, customer_id, due_time, task_id);
CREATE INDEX tasks_open_by_due ON tasks (tenant_id, due_time, task_id) WHERE state = 1;
