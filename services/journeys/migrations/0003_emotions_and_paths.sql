-- The emotion curve and the common paths of the stage analytics, kept like the other figures
-- (0002_stage_stats.sql), and the contribution each member last filed.
--
-- filed: the member's contribution as last filed (services/journeys/facts.proto Contribution).
-- NULL for members filed before this migration, whose contribution was that of their visits
-- alone (no touchpoints, no paths): the mapper files the difference from that on the member's
-- next change, deriving its path again from its facts.
ALTER TABLE journey_members ADD COLUMN filed bytea;

-- Per stage: touchpoints = touchpoints recorded while members were in it, sentiments = how
-- many of them were positive, neutral, negative, emotions = how many showed each emotion
-- label (touchline.touchpoints.v1.EmotionLabel 1 to 6).
ALTER TABLE stage_stats
  ADD COLUMN touchpoints bigint NOT NULL DEFAULT 0,
  ADD COLUMN sentiments bigint[] NOT NULL DEFAULT '{0,0,0}' CHECK (cardinality(sentiments) = 3),
  ADD COLUMN emotions bigint[] NOT NULL DEFAULT '{0,0,0,0,0,0}' CHECK (cardinality(emotions) = 6);
ALTER TABLE stage_stats_all
  ADD COLUMN touchpoints bigint NOT NULL DEFAULT 0,
  ADD COLUMN sentiments bigint[] NOT NULL DEFAULT '{0,0,0}' CHECK (cardinality(sentiments) = 3),
  ADD COLUMN emotions bigint[] NOT NULL DEFAULT '{0,0,0,0,0,0}' CHECK (cardinality(emotions) = 6);

-- The common paths: per stage, how many members reached it first after touchpoints of these
-- channels (touchline.touchpoints.v1.Channel numbers of the last five, oldest first). Members
-- who reached it with no touchpoint before are in no row.
CREATE TABLE stage_paths (
  tenant_id  text       NOT NULL,
  journey_id uuid       NOT NULL,
  version    integer    NOT NULL,
  stage_id   text       NOT NULL,
  owner_id   text       NOT NULL,
  region     text       NOT NULL,
  level      smallint   NOT NULL,
  entry_day  date       NOT NULL,
  channels   smallint[] NOT NULL CHECK (cardinality(channels) BETWEEN 1 AND 5),
  customers  bigint     NOT NULL,
  PRIMARY KEY (tenant_id, journey_id, version, stage_id, owner_id, region, level, entry_day,
               channels)
);

CREATE TABLE stage_paths_all (
  tenant_id  text       NOT NULL,
  journey_id uuid       NOT NULL,
  version    integer    NOT NULL,
  stage_id   text       NOT NULL,
  entry_day  date       NOT NULL,
  channels   smallint[] NOT NULL CHECK (cardinality(channels) BETWEEN 1 AND 5),
  customers  bigint     NOT NULL,
  PRIMARY KEY (tenant_id, journey_id, version, stage_id, entry_day, channels)
);
