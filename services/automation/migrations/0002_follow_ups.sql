-- Follow-ups: the task of a touchpoint's agreed next action follows the touchpoint
-- (tasks/follow_ups.h).

-- Why the touchpoint, not a person, cancelled its task: 1 its next action was removed (a next
-- action set again reopens the same task), 2 the touchpoint was deleted (never reopened).
-- NULL for every other task, and for a task a person cancelled.
ALTER TABLE tasks ADD COLUMN follow_up_cancel smallint;
ALTER TABLE tasks ADD CONSTRAINT tasks_follow_up_cancel_known CHECK (
  follow_up_cancel IS NULL OR (follow_up_cancel BETWEEN 1 AND 2 AND state = 3
                               AND touchpoint_id IS NOT NULL));

-- The touchpoints' tasks a merge of customers moved (TouchpointsReassigned from
-- from_customer_id to to_customer_id), so that undoing the merge (the same merge_id, the
-- customers the other way round) moves exactly those back, not every touchpoint task of the
-- survivor. Its rows go when the merge is undone.
CREATE TABLE task_merge_moves (
  tenant_id        text NOT NULL,
  merge_id         text NOT NULL,
  task_id          uuid NOT NULL,
  from_customer_id uuid NOT NULL,
  to_customer_id   uuid NOT NULL,
  PRIMARY KEY (tenant_id, merge_id, task_id)
);
