-- The stage analytics summed at three levels of detail and two of time, so that a scoped
-- GetStageAnalytics sums hundreds of rows, not the hundreds of thousands a territory's or a
-- year's (owner, region, level, entry day) rows come to (BENCHMARKS.md, journeys analytics).
--
-- Each member's contribution (services/journeys/analytics/stage_stats.h) is filed in six rows
-- of each table, one per
--   detail: 0 every customer of the journey (owner_id and region '', level 0),
--           1 per region and level (owner_id ''), for territory scopes,
--           2 per owner, region and level, for the owners a scope lists;
--   months: false, entry_day is the UTC day the member entered the journey,
--           true, entry_day is the first day of that month.
-- An entry-date range takes its whole months from the month rows and the days at its ends from
-- the day rows. Otherwise as 0002_stage_stats.sql and 0003_emotions_and_paths.sql: kept by the
-- mapper in the transaction of every change; rows never fall below zero.
--
-- stage_stats, stage_current and stage_paths are made again in this shape, from their sums;
-- the _all tables go (detail 0).

CREATE TABLE stage_rollup (
  tenant_id      text             NOT NULL,
  journey_id     uuid             NOT NULL,
  detail         smallint         NOT NULL CHECK (detail BETWEEN 0 AND 2),
  months         boolean          NOT NULL,
  owner_id       text             NOT NULL,
  region         text             NOT NULL,
  entry_day      date             NOT NULL,
  level          smallint         NOT NULL,
  version        integer          NOT NULL,
  stage_id       text             NOT NULL,
  reached        bigint           NOT NULL,
  current        bigint           NOT NULL,
  exits          bigint           NOT NULL,
  exit_seconds   double precision NOT NULL,
  exit_histogram bigint[]         NOT NULL CHECK (cardinality(exit_histogram) = 32),
  touchpoints    bigint           NOT NULL,
  sentiments     bigint[]         NOT NULL CHECK (cardinality(sentiments) = 3),
  emotions       bigint[]         NOT NULL CHECK (cardinality(emotions) = 6),
  PRIMARY KEY (tenant_id, journey_id, detail, months, owner_id, region, entry_day, level, version,
               stage_id)
);

-- The members in each stage now by the UTC day they entered it. GetStageAnalytics reads only
-- the recent days (stalled = in the stage - entered it within its stalled_after_days), so that
-- day comes before the entry day in the key.
CREATE TABLE stage_current_rollup (
  tenant_id       text     NOT NULL,
  journey_id      uuid     NOT NULL,
  detail          smallint NOT NULL CHECK (detail BETWEEN 0 AND 2),
  months          boolean  NOT NULL,
  owner_id        text     NOT NULL,
  region          text     NOT NULL,
  stage_enter_day date     NOT NULL,
  entry_day       date     NOT NULL,
  level           smallint NOT NULL,
  version         integer  NOT NULL,
  stage_id        text     NOT NULL,
  current         bigint   NOT NULL,
  PRIMARY KEY (tenant_id, journey_id, detail, months, owner_id, region, stage_enter_day, entry_day,
               level, version, stage_id)
);

CREATE TABLE stage_paths_rollup (
  tenant_id  text       NOT NULL,
  journey_id uuid       NOT NULL,
  detail     smallint   NOT NULL CHECK (detail BETWEEN 0 AND 2),
  months     boolean    NOT NULL,
  owner_id   text       NOT NULL,
  region     text       NOT NULL,
  entry_day  date       NOT NULL,
  level      smallint   NOT NULL,
  version    integer    NOT NULL,
  stage_id   text       NOT NULL,
  channels   smallint[] NOT NULL CHECK (cardinality(channels) BETWEEN 1 AND 5),
  customers  bigint     NOT NULL,
  PRIMARY KEY (tenant_id, journey_id, detail, months, owner_id, region, entry_day, level, version,
               stage_id, channels)
);

-- Filled from the keyed tables of 0002 and 0003 (every member is in them).
INSERT INTO stage_rollup
  SELECT s.tenant_id, s.journey_id, d.detail, m.months,
    CASE WHEN d.detail = 2 THEN s.owner_id ELSE '' END,
    CASE WHEN d.detail >= 1 THEN s.region ELSE '' END,
    CASE WHEN m.months THEN date_trunc('month', s.entry_day)::date ELSE s.entry_day END,
    CASE WHEN d.detail >= 1 THEN s.level ELSE 0 END, s.version, s.stage_id, sum(s.reached),
    sum(s.current), sum(s.exits), sum(s.exit_seconds), stage_histogram_sum(s.exit_histogram),
    sum(s.touchpoints), stage_histogram_sum(s.sentiments), stage_histogram_sum(s.emotions)
  FROM stage_stats s, (VALUES (0), (1), (2)) d(detail), (VALUES (false), (true)) m(months)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;

INSERT INTO stage_current_rollup
  SELECT s.tenant_id, s.journey_id, d.detail, m.months,
    CASE WHEN d.detail = 2 THEN s.owner_id ELSE '' END,
    CASE WHEN d.detail >= 1 THEN s.region ELSE '' END, s.stage_enter_day,
    CASE WHEN m.months THEN date_trunc('month', s.entry_day)::date ELSE s.entry_day END,
    CASE WHEN d.detail >= 1 THEN s.level ELSE 0 END, s.version, s.stage_id, sum(s.current)
  FROM stage_current s, (VALUES (0), (1), (2)) d(detail), (VALUES (false), (true)) m(months)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;

INSERT INTO stage_paths_rollup
  SELECT s.tenant_id, s.journey_id, d.detail, m.months,
    CASE WHEN d.detail = 2 THEN s.owner_id ELSE '' END,
    CASE WHEN d.detail >= 1 THEN s.region ELSE '' END,
    CASE WHEN m.months THEN date_trunc('month', s.entry_day)::date ELSE s.entry_day END,
    CASE WHEN d.detail >= 1 THEN s.level ELSE 0 END, s.version, s.stage_id, s.channels,
    sum(s.customers)
  FROM stage_paths s, (VALUES (0), (1), (2)) d(detail), (VALUES (false), (true)) m(months)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;

DROP TABLE stage_stats, stage_stats_all, stage_current, stage_current_all, stage_paths,
  stage_paths_all;
ALTER TABLE stage_rollup RENAME TO stage_stats;
ALTER INDEX stage_rollup_pkey RENAME TO stage_stats_pkey;
ALTER TABLE stage_current_rollup RENAME TO stage_current;
ALTER INDEX stage_current_rollup_pkey RENAME TO stage_current_pkey;
ALTER TABLE stage_paths_rollup RENAME TO stage_paths;
ALTER INDEX stage_paths_rollup_pkey RENAME TO stage_paths_pkey;
-- GetStageAnalytics sums arrays element by element with sum() (an order of magnitude faster).
DROP AGGREGATE stage_histogram_sum(bigint[]);
