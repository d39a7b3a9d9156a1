-- Needs, concerns and interests are searched too (weight D), and the vector of a touchpoint
-- with concerns holds the lexeme '#concerns' that the has_concerns filter looks up
-- (services/touchpoints/search_text.h). Rows written before this have neither: lists_indexed
-- is false for them and true for every row written since, and the service rebuilds their
-- vectors in the background at start (PgTouchpointStore::IndexListsOfOlderRows).
ALTER TABLE touchpoints ADD COLUMN lists_indexed boolean NOT NULL DEFAULT false;
ALTER TABLE touchpoints ALTER COLUMN lists_indexed SET DEFAULT true;
CREATE INDEX touchpoints_lists_unindexed ON touchpoints (tenant_id) WHERE NOT lists_indexed;
