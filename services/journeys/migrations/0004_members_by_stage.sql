-- The mapper updates a member by its key (tenant_id, customer_id, journey_id) with a statement
-- prepared once per connection. Its generic plan, made while the table was still empty (a new
-- install, the benchmark), took journey_members_by_stage over the primary key, and then read
-- every member of the journey for each update (3,296 buffers and 2.3 ms a call, most of the
-- mapper's time in bench/run_journeys_bench.sh, until autovacuum's ANALYZE replanned it).
-- A partial index is used only by a query whose conditions prove its predicate: the stage
-- lists' "stage_id = $n" proves "stage_id IS NOT NULL" (true of every row), an update by the
-- key does not, so it can only take the primary key.
DROP INDEX journey_members_by_stage;
CREATE INDEX journey_members_by_stage
  ON journey_members (tenant_id, journey_id, stage_id, stage_enter_time, customer_id)
  WHERE stage_id IS NOT NULL;
