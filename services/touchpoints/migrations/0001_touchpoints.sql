-- The interaction log. Runs with search_path set to the service's schema.
--
-- Citus: tenant_id is the distribution column; every primary and unique key holds it.
-- (Touchpoints move between customers on merge and unmerge, and Citus cannot update a
-- distribution column, so customer_id is not one.)

-- btree_gin lets one GIN index hold tenant_id next to the search tokens. Trusted since
-- PostgreSQL 13 (a database owner may create it); one copy per database, in public.
-- IF NOT EXISTS is not safe against a concurrent CREATE EXTENSION (schemas migrating at once
-- in one database): a database-wide lock makes the second wait and then find it.
SELECT pg_advisory_xact_lock(hashtext('touchline: CREATE EXTENSION btree_gin'));
CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public;

-- Partitioned by month of occurred_at (UTC months); ensure_partitions() creates them, ahead
-- of time for the coming months and on demand for older data. There is no default
-- partition: it would stop the planner from reading partitions newest-first and stopping
-- early (timelines, searches in time order).
CREATE TABLE touchpoints (
  tenant_id          text        NOT NULL,
  touchpoint_id      uuid        NOT NULL,
  occurred_at        timestamptz NOT NULL,
  -- The customer it belongs to now (moves to the survivor on merge) ...
  customer_id        uuid        NOT NULL,
  -- ... and the one it was recorded for (or last assigned to by an update): unmerge moves
  -- a touchpoint back when this resolves to the restored customer.
  origin_customer_id uuid        NOT NULL,
  recorded_at        timestamptz NOT NULL,
  -- Copies of body fields that queries filter or aggregate on (enum numbers as in the proto).
  channel            smallint    NOT NULL,
  category           smallint    NOT NULL,
  outcome            smallint    NOT NULL,
  sentiment          smallint    NOT NULL,
  tags               text[]      NOT NULL,
  participant_ids    text[]      NOT NULL,
  -- Bit i set when completeness field i (see kCompletenessFields) is filled in.
  filled             integer     NOT NULL,
  -- The touchline.touchpoints.v1.Touchpoint as recorded or last updated. The columns above
  -- and below win over it for ids, customer, times, state and version.
  body               bytea       NOT NULL,
  -- Application-made tokens of subject (A), summary (B) and content (C): CJK bigrams and
  -- folded words (services/touchpoints/search_text.h).
  search             tsvector    NOT NULL,
  version            bigint      NOT NULL,
  update_time        timestamptz NOT NULL,
  delete_time        timestamptz,
  -- The transaction that last wrote the row: the change feed's order. Rows of transactions
  -- below the oldest running one are final, so a cursor never skips a late commit.
  change_xid         xid8        NOT NULL DEFAULT pg_current_xact_id(),
  PRIMARY KEY (tenant_id, touchpoint_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- A customer's timeline, newest first; read newest partition first, stopping at the page.
CREATE INDEX touchpoints_timeline
  ON touchpoints (tenant_id, customer_id, occurred_at DESC, touchpoint_id DESC);
-- Merge and unmerge find the touchpoints to move back by origin.
CREATE INDEX touchpoints_by_origin ON touchpoints (tenant_id, origin_customer_id);
-- The change feed.
CREATE INDEX touchpoints_changes ON touchpoints (tenant_id, change_xid, touchpoint_id);
-- Full-text search.
CREATE INDEX touchpoints_search ON touchpoints USING gin (tenant_id, search);

-- Creates the monthly partitions from the month of `first` to the month of `last` that do
-- not exist yet; returns how many it created. Concurrent callers serialise on a lock.
CREATE FUNCTION ensure_partitions(first timestamptz, last timestamptz) RETURNS integer
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  month timestamptz := date_trunc('month', first AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  name text;
  created integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.touchpoints partitions'));
  WHILE month <= last LOOP
    name := 'touchpoints_' || to_char(month AT TIME ZONE 'UTC', 'YYYY_MM');
    IF to_regclass(quote_ident(current_schema()) || '.' || name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF touchpoints FOR VALUES FROM (%L) TO (%L)',
                     name, month, month + interval '1 month');
      created := created + 1;
    END IF;
    month := (month AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
  END LOOP;
  RETURN created;
END;
$$;

-- The months (UTC) that have a partition.
CREATE VIEW partition_months AS
  SELECT to_date(substr(c.relname, 13), 'YYYY_MM') AS month
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'touchpoints'::regclass;

-- Idempotency: request ids (kind 1) and (source_system, external_id) natural keys (kind 2),
-- each naming the touchpoint it created. fingerprint is the SHA-256 of the recorded
-- touchpoint as the client sent it: a replay with another one is refused.
CREATE TABLE touchpoint_keys (
  tenant_id     text        NOT NULL,
  kind          smallint    NOT NULL,
  key           text        NOT NULL,
  touchpoint_id uuid        NOT NULL,
  occurred_at   timestamptz NOT NULL,
  fingerprint   bytea       NOT NULL,
  create_time   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, kind, key)
);

-- The read model of contacts' customers, fed by their events: enough to check a touchpoint's
-- customer and contact persons, follow merges, and (later) filter by visibility.
CREATE TABLE customers (
  tenant_id   text        NOT NULL,
  customer_id uuid        NOT NULL,
  -- touchline.contacts.v1.CustomerState numbers.
  state       smallint    NOT NULL,
  merged_into uuid,
  person_ids  uuid[]      NOT NULL DEFAULT '{}',
  owner_id    text        NOT NULL DEFAULT '',
  region      text        NOT NULL DEFAULT '',
  level       smallint    NOT NULL DEFAULT 0,
  -- The contacts version (etag) of the last event applied; older events are ignored.
  version     bigint      NOT NULL,
  PRIMARY KEY (tenant_id, customer_id)
);
CREATE INDEX customers_by_merged_into ON customers (tenant_id, merged_into)
  WHERE merged_into IS NOT NULL;
