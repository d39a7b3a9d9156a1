-- The mapper updates a member by its key (tenant_id, customer_id, journey_id) with a statement
-- prepared once per connection. With customer_id a key column of journey_members_by_stage, the
-- plan made while the table was still empty (a new install, the benchmark) could pick that
-- index over the primary key, and then read every member of the journey for each update (149
-- buffers a call, 0.9 ms, most of the mapper's time in bench/run_journeys_bench.sh). customer_id
-- is only the tie-breaker of ListCustomersInStage's order there: it becomes an included column.
DROP INDEX journey_members_by_stage;
CREATE INDEX journey_members_by_stage
  ON journey_members (tenant_id, journey_id, stage_id, stage_enter_time) INCLUDE (customer_id);
