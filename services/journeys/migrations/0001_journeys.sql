-- Journey maps and where each customer stands on them. Every key starts with tenant_id.
-- Runs with search_path set to the service's schema; the customer read model (customers) and
-- the shares read model (customer_shares) are migrated by the host beside it.

-- Every version of every journey. body is the touchline.journeys.v1.Journey message as
-- stored (output-only fields included); the columns repeat what queries filter and sort on.
CREATE TABLE journeys (
  tenant_id    text        NOT NULL,
  journey_id   uuid        NOT NULL,
  version      integer     NOT NULL,
  -- touchline.journeys.v1.JourneyState numbers.
  state        smallint    NOT NULL,
  display_name text        NOT NULL,
  body         bytea       NOT NULL,
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  publish_time timestamptz,
  -- Bumped by every write of the row; the etag.
  revision     bigint      NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, journey_id, version)
);
-- ListJourneys: pinyin order for Chinese names, Latin alongside.
CREATE INDEX journeys_by_name
  ON journeys (tenant_id, display_name COLLATE "zh-Hans-x-icu", journey_id, version);
-- What places customers: the published versions.
CREATE INDEX journeys_published ON journeys (tenant_id, journey_id, version) WHERE state = 2;

-- What happened to each customer that rules may match (services/journeys/facts.proto Fact),
-- in the order it happened. A merge moves the merged customer's facts to the survivor,
-- an unmerge moves back those that came from the restored customer (origin_customer_id).
CREATE TABLE customer_facts (
  tenant_id          text        NOT NULL,
  fact_id            text        NOT NULL,
  customer_id        uuid        NOT NULL,
  origin_customer_id uuid        NOT NULL,
  occurred_at        timestamptz NOT NULL,
  body               bytea       NOT NULL,
  PRIMARY KEY (tenant_id, fact_id)
);
CREATE INDEX customer_facts_by_customer
  ON customer_facts (tenant_id, customer_id, occurred_at, fact_id);

-- One row per customer and journey they are on: the version they entered, the current stage,
-- and the last fact folded into the path (a later fact advances it; an earlier one re-derives
-- it from the facts). The path starts at enter_time: when the entry rule selected the customer
-- (selected_time) or at its first fact, whichever is earlier, so that every fact places it.
CREATE TABLE journey_members (
  tenant_id        text        NOT NULL,
  customer_id      uuid        NOT NULL,
  journey_id       uuid        NOT NULL,
  version          integer     NOT NULL,
  selected_time    timestamptz NOT NULL,
  enter_time       timestamptz NOT NULL,
  stage_id         text        NOT NULL,
  stage_enter_time timestamptz NOT NULL,
  completed        boolean     NOT NULL DEFAULT false,
  last_fact_time   timestamptz,
  last_fact_id     text        NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, customer_id, journey_id)
);
-- ListCustomersInStage: those in the stage longest first.
CREATE INDEX journey_members_by_stage
  ON journey_members (tenant_id, journey_id, stage_id, stage_enter_time, customer_id);

-- Every stay of a customer in a stage (touchline.journeys.v1.StageVisit), seq from 1 in
-- enter order. exit_time is NULL while the customer is in the stage. cause_kind: 1 entered,
-- 2 touchpoint, 3 customer change, 4 manual move.
CREATE TABLE stage_visits (
  tenant_id     text        NOT NULL,
  customer_id   uuid        NOT NULL,
  journey_id    uuid        NOT NULL,
  seq           integer     NOT NULL,
  version       integer     NOT NULL,
  stage_id      text        NOT NULL,
  from_stage_id text        NOT NULL DEFAULT '',
  enter_time    timestamptz NOT NULL,
  exit_time     timestamptz,
  cause_kind    smallint    NOT NULL,
  cause_id      text        NOT NULL DEFAULT '',
  user_id       text        NOT NULL DEFAULT '',
  reason        text        NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, customer_id, journey_id, seq)
);

-- The customers a newly published version enters: one pass over the customer read model per
-- published version, in customer_id order, resumable (after_customer_id is the last customer
-- judged). Written by the publish, in its transaction; done when finish_time is set.
CREATE TABLE journey_entry_passes (
  tenant_id         text        NOT NULL,
  journey_id        uuid        NOT NULL,
  version           integer     NOT NULL,
  after_customer_id uuid,
  entered           bigint      NOT NULL DEFAULT 0,
  start_time        timestamptz NOT NULL DEFAULT now(),
  finish_time       timestamptz,
  PRIMARY KEY (tenant_id, journey_id, version)
);
CREATE INDEX journey_entry_passes_open ON journey_entry_passes (start_time)
  WHERE finish_time IS NULL;
