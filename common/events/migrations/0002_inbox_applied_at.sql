-- PurgeAppliedEvents deletes the rows applied longer ago than the retention, oldest first,
-- in small batches: without this index each batch would scan the whole table.
CREATE INDEX applied_events_applied_at_idx ON applied_events (applied_at);
