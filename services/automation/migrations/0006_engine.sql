-- The rule engine's records (engine/): every run of a rule, the inactivity deadlines, and how
-- far each inactivity rule has fired. Pending work itself (delayed runs, actions, sequence
-- steps) is in jobs (0003_jobs.sql).

-- One run of a rule version for one cause (an event, an inactivity deadline, a delay's end):
-- the trigger, the comparisons with the values seen, and each action's state, as a
-- touchline.automation.v1.RuleRun in `body`. One run per (rule version, cause), so a replayed
-- event or a redelivered timer finds the run it made.
CREATE TABLE rule_runs (
  tenant_id    text        NOT NULL,
  run_id       uuid        NOT NULL,
  rule_id      uuid        NOT NULL,
  rule_version integer     NOT NULL,
  -- The event id, or the timer's cause ("inactivity/<customer>/<last touch micros>").
  cause        text        NOT NULL,
  customer_id  uuid        NOT NULL,
  -- touchline.automation.v1.RunState numbers.
  state        smallint    NOT NULL,
  -- Whether the condition held; the re-enrolment policies count only these runs.
  matched      boolean     NOT NULL,
  -- A misfired timer that ran (misfire policy RUN_ONCE): at most one per customer and rule
  -- for one stretch of misfires.
  misfire      boolean     NOT NULL DEFAULT false,
  body         bytea       NOT NULL,
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, run_id),
  CONSTRAINT rule_runs_once UNIQUE (tenant_id, rule_id, rule_version, cause)
);

-- ListRuleRuns (newest first) and the re-enrolment checks (a customer's runs of a rule).
CREATE INDEX rule_runs_by_rule ON rule_runs (tenant_id, rule_id, create_time DESC, run_id DESC);
CREATE INDEX rule_runs_by_customer ON rule_runs (tenant_id, rule_id, customer_id,
  create_time DESC, run_id DESC);

-- When each customer last had a touchpoint (or was created): the deadline of every inactivity
-- rule at once (last_touch_time + its `after`), so a touchpoint re-arms them all by one
-- upsert, whatever the number of rules. Never moves back.
CREATE TABLE customer_activity (
  tenant_id         text        NOT NULL,
  customer_id       uuid        NOT NULL,
  last_touch_time   timestamptz NOT NULL,
  -- The latest inbound touchpoint (a reply, which ends sequences with exit_on_reply).
  last_inbound_time timestamptz,
  PRIMARY KEY (tenant_id, customer_id)
);

-- The deadlines in time order: an inactivity rule fires the customers whose last touch lies
-- between its cursor and now - after.
CREATE INDEX customer_activity_by_time ON customer_activity (tenant_id, last_touch_time,
  customer_id);

-- How far each inactivity rule has fired: every customer whose (last_touch_time, customer_id)
-- is at or before the cursor has had its run enqueued for that last touch.
CREATE TABLE inactivity_cursors (
  tenant_id   text        NOT NULL,
  rule_id     uuid        NOT NULL,
  touch_time  timestamptz NOT NULL,
  customer_id uuid        NOT NULL,
  PRIMARY KEY (tenant_id, rule_id)
);

-- How far each schedule rule has fired: the cron time of its latest firing, and while that
-- firing still goes through the customers, the last customer it reached (NULL once done).
CREATE TABLE schedule_cursors (
  tenant_id   text        NOT NULL,
  rule_id     uuid        NOT NULL,
  fire_time   timestamptz NOT NULL,
  customer_id uuid,
  PRIMARY KEY (tenant_id, rule_id)
);
