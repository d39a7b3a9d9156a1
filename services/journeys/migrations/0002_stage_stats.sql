-- Stage analytics (GetStageAnalytics): each row is the sum of the contributions of the
-- journey's members filed under its key (services/journeys/analytics/stage_stats.h), kept by
-- the mapper in the transaction of every change of a path, a membership or a customer's
-- owner, region or level, so that the tables always equal a recomputation from stage_visits
-- and journey_members. Only members count: a merged customer's visits stay as history but
-- leave the sums. Rows may fall to zero and stay; never below (stage_stats_refuse_negative).
--
-- The key: the member's version, its customer's owner, region and level (the customer read
-- model's row), and entry_day, the UTC day of journey_members.enter_time. The _all tables drop
-- owner, region and level for scopes that see every customer.

-- a + b element by element (a NULL side is the other): histograms.
CREATE FUNCTION stage_histogram_add(a bigint[], b bigint[]) RETURNS bigint[]
  LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a
      ELSE ARRAY(SELECT x + y FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i) ORDER BY i) END
  $$;
-- The element-wise sum of histograms.
CREATE AGGREGATE stage_histogram_sum(bigint[]) (SFUNC = stage_histogram_add, STYPE = bigint[]);

-- Fails the statement (check_violation) when `negative_rows` > 0: the upsert of a
-- contribution counts the rows it left negative, which means the aggregates and the paths
-- disagreed. (Table CHECKs cannot say it: PostgreSQL checks the row an upsert proposes to
-- insert, the negative delta itself, before it finds the row to add it to.)
CREATE FUNCTION stage_stats_refuse_negative(negative_rows bigint) RETURNS bigint
  LANGUAGE plpgsql AS $$
  BEGIN
    IF negative_rows > 0 THEN
      RAISE EXCEPTION 'a stage analytics row would fall below zero' USING ERRCODE = 'check_violation';
    END IF;
    RETURN negative_rows;
  END
  $$;

-- Per stage: reached = members whose path reached it (once each), current = members in it,
-- exits = stays in it that ended, exit_seconds = their total length, exit_histogram = their
-- lengths in 32 buckets (0: under a minute; i: [2^(i-1), 2^i) minutes; the last open-ended).
CREATE TABLE stage_stats (
  tenant_id      text             NOT NULL,
  journey_id     uuid             NOT NULL,
  version        integer          NOT NULL,
  stage_id       text             NOT NULL,
  owner_id       text             NOT NULL,
  region         text             NOT NULL,
  level          smallint         NOT NULL,
  entry_day      date             NOT NULL,
  reached        bigint           NOT NULL,
  current        bigint           NOT NULL,
  exits          bigint           NOT NULL,
  exit_seconds   double precision NOT NULL,
  exit_histogram bigint[]         NOT NULL
    CHECK (cardinality(exit_histogram) = 32),
  PRIMARY KEY (tenant_id, journey_id, version, stage_id, owner_id, region, level, entry_day)
);

CREATE TABLE stage_stats_all (
  tenant_id      text             NOT NULL,
  journey_id     uuid             NOT NULL,
  version        integer          NOT NULL,
  stage_id       text             NOT NULL,
  entry_day      date             NOT NULL,
  reached        bigint           NOT NULL,
  current        bigint           NOT NULL,
  exits          bigint           NOT NULL,
  exit_seconds   double precision NOT NULL,
  exit_histogram bigint[]         NOT NULL
    CHECK (cardinality(exit_histogram) = 32),
  PRIMARY KEY (tenant_id, journey_id, version, stage_id, entry_day)
);

-- The members in each stage now by the UTC day they entered it (stage_enter_day), for the
-- stalled counts. Keyed by entry_day as well, so that the stalled count keeps to the entry-date
-- range like every other figure.
CREATE TABLE stage_current (
  tenant_id       text     NOT NULL,
  journey_id      uuid     NOT NULL,
  version         integer  NOT NULL,
  stage_id        text     NOT NULL,
  owner_id        text     NOT NULL,
  region          text     NOT NULL,
  level           smallint NOT NULL,
  entry_day       date     NOT NULL,
  stage_enter_day date     NOT NULL,
  current         bigint   NOT NULL,
  PRIMARY KEY (tenant_id, journey_id, version, stage_id, owner_id, region, level, entry_day,
               stage_enter_day)
);

CREATE TABLE stage_current_all (
  tenant_id       text    NOT NULL,
  journey_id      uuid    NOT NULL,
  version         integer NOT NULL,
  stage_id        text    NOT NULL,
  entry_day       date    NOT NULL,
  stage_enter_day date    NOT NULL,
  current         bigint  NOT NULL,
  PRIMARY KEY (tenant_id, journey_id, version, stage_id, entry_day, stage_enter_day)
);
