-- Whose turn it is in a team's round robin of rule tasks (Assignee.team_id): a counter per
-- team, taken one step per task assigned. A task retried after a crash may take a second step,
-- so a member can be passed over once; no task is ever made twice (tasks are keyed per action).
CREATE TABLE team_turns (
  tenant_id text   NOT NULL,
  team_id   text   NOT NULL,
  turn      bigint NOT NULL,
  PRIMARY KEY (tenant_id, team_id)
);
