-- jobs and rule_runs are rewritten several times per trigger: a job is inserted,
-- claimed and finished (three row versions, and a new entry in jobs_ready for each of the
-- first two), a run is inserted and updated after each action. By PostgreSQL's defaults
-- autovacuum waits for 20% of a table to be dead rows, which on a week of finished jobs is
-- millions, and every claim walks the dead entries at the head of jobs_ready meanwhile. The
-- latency benchmark measured it: with no vacuum yet in a 20-second run, a claim read 2,210
-- buffers (6.8 ms) and finishing a job 795 (2.2 ms); vacuumed, 32 (0.17 ms) and 15 (0.12 ms).
-- So both are vacuumed and analysed after a fixed number of changed rows, whatever their size,
-- without the cost-based pauses. How soon a vacuum follows is still bounded by the server's
-- autovacuum_naptime (README.md, Configuration).
ALTER TABLE jobs SET (
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000,
  autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000,
  autovacuum_vacuum_cost_delay = 0);
ALTER TABLE rule_runs SET (
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
  autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000,
  autovacuum_vacuum_cost_delay = 0);
