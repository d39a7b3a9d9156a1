-- The durable job queue (jobs/job_queue.h): the engine's due timers and pending actions. A
-- job is enqueued once per idempotency key, claimed by one worker at a time with FOR UPDATE
-- SKIP LOCKED under a lease (so several replicas share the work and a dead replica's claims
-- return when their leases run out), and tried again or dead-lettered as the engine decides.
CREATE TABLE jobs (
  tenant_id   text        NOT NULL,
  -- A UUID (version 7); a dead job's id is its dead letter's id.
  job_id      uuid        NOT NULL,
  -- The idempotency key (the engine's rule version, triggering event and step): one job per
  -- key and tenant, so a replayed event or a redelivered timer enqueues nothing more.
  key         text        NOT NULL,
  -- What to do, in the engine's words, and its input; the queue never reads either.
  kind        text        NOT NULL,
  payload     bytea       NOT NULL,
  -- pending: waits for due_time; claimed: claimed_by runs it until lease_until; done: it ran;
  -- dead: it failed for good (a dead letter, until redriven or discarded); discarded: a dead
  -- letter dropped by an operator. done and discarded rows are purged after a retention, and
  -- until then they keep the key taken.
  state       text        NOT NULL,
  -- When it may run first (pending) or again (after a retry).
  due_time    timestamptz NOT NULL,
  -- Claims so far (a claim adds one); the engine's attempt limit is counted against it, and it
  -- fences a claim: a worker's later writes name the attempt they claimed.
  attempts    integer     NOT NULL DEFAULT 0,
  -- The worker of the latest claim (kept after it finished, for the record).
  claimed_by  text,
  -- Until when the latest claim holds; only while claimed. Past it the job may be claimed
  -- again.
  lease_until timestamptz,
  -- The latest failure, in plain words ('' before any).
  last_error  text        NOT NULL DEFAULT '',
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL,
  -- When it became done, dead or discarded; NULL before.
  finish_time timestamptz,
  -- When a worker may claim it: a pending job at due_time, a claimed one when its lease runs
  -- out; NULL for finished jobs. Derived, so that one index orders all the claimable work.
  ready_time  timestamptz GENERATED ALWAYS AS (
    CASE state WHEN 'pending' THEN due_time WHEN 'claimed' THEN lease_until END) STORED,
  PRIMARY KEY (tenant_id, job_id),
  CONSTRAINT jobs_key_once UNIQUE (tenant_id, key),
  CONSTRAINT jobs_state_known CHECK (
    state IN ('pending', 'claimed', 'done', 'dead', 'discarded')),
  CONSTRAINT jobs_claim_held CHECK (
    (state = 'claimed') = (lease_until IS NOT NULL) AND
    (state <> 'claimed' OR claimed_by IS NOT NULL)),
  CONSTRAINT jobs_finish_time CHECK (
    (state IN ('done', 'dead', 'discarded')) = (finish_time IS NOT NULL))
);

-- The claimable work, per tenant by the time it became claimable: the claim walks the tenants
-- in it and takes each tenant's earliest (jobs/sql.h kClaim).
CREATE INDEX jobs_ready ON jobs (tenant_id, ready_time) WHERE ready_time IS NOT NULL;
-- The purge of finished jobs after the retention.
CREATE INDEX jobs_finished ON jobs (finish_time) WHERE state IN ('done', 'discarded');
-- A tenant's dead letters, the latest first.
CREATE INDEX jobs_dead ON jobs (tenant_id, finish_time, job_id) WHERE state = 'dead';
