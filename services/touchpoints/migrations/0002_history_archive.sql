-- Old history in one archive partition; monthly partitions only from a year before the
-- migration on.
--
-- 0001 created a monthly partition on demand for any month a write named: one batch of 300
-- touchpoints dated one per month from 2000 to 2024 made 300 partitions for good, and every
-- plan of the table (generic plans read all of them) got slower with each. Now every
-- occurred_at before archive_end goes to touchpoints_archive, one range partition FROM
-- (MINVALUE): an import of 25 years creates no partition, and a timeline or a search pays
-- one partition for all of that history. Monthly partitions start at archive_end (created
-- ahead by the service as before); on demand only for a month from archive_end up to now
-- plus the allowed clock skew, which no write can push further.
--
-- Existing monthly partitions wholly before archive_end are folded into the archive: their
-- rows move (same ids, times, versions and change_xid: the change feed sees no change) and
-- the partitions are dropped. A range partition, not a DEFAULT one: the planner still
-- reads partitions newest-first and stops at the page.

CREATE TABLE partition_layout (
  only_row    boolean     PRIMARY KEY DEFAULT TRUE CHECK (only_row),
  -- Where the monthly partitions start (a UTC month); older times are in the archive.
  archive_end timestamptz NOT NULL
);
INSERT INTO partition_layout (archive_end)
  VALUES ((date_trunc('month', now() AT TIME ZONE 'UTC') - interval '12 months') AT TIME ZONE 'UTC');

DO $$
DECLARE
  boundary timestamptz := (SELECT archive_end FROM partition_layout);
  folded text[] := '{}';
  name text;
BEGIN
  FOR name IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'touchpoints'::regclass
       AND c.relname ~ '^touchpoints_[0-9]{4}_[0-9]{2}$'
       AND to_date(substr(c.relname, 13), 'YYYY_MM') < (boundary AT TIME ZONE 'UTC')::date
     ORDER BY c.relname
  LOOP
    EXECUTE format('ALTER TABLE touchpoints DETACH PARTITION %I', name);
    folded := folded || name;
  END LOOP;
  EXECUTE format('CREATE TABLE touchpoints_archive PARTITION OF touchpoints '
                 'FOR VALUES FROM (MINVALUE) TO (%L)', boundary);
  FOREACH name IN ARRAY folded LOOP
    EXECUTE format('INSERT INTO touchpoints SELECT * FROM %I', name);
    EXECUTE format('DROP TABLE %I', name);
  END LOOP;
END;
$$;

-- As in 0001, except that months before archive_end are the archive's: none is created.
CREATE OR REPLACE FUNCTION ensure_partitions(first timestamptz, last timestamptz) RETURNS integer
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  month timestamptz := greatest(
      date_trunc('month', first AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
      (SELECT archive_end FROM partition_layout));
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

-- The ranges of occurred_at the partitions hold, [range_start, range_end); range_start is
-- NULL for the archive (unbounded below).
DROP VIEW partition_months;
CREATE VIEW partition_ranges AS
  SELECT to_date(substr(c.relname, 13), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC' AS range_start,
         (to_date(substr(c.relname, 13), 'YYYY_MM') + interval '1 month') AT TIME ZONE 'UTC'
           AS range_end
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'touchpoints'::regclass AND c.relname ~ '^touchpoints_[0-9]{4}_[0-9]{2}$'
  UNION ALL
  SELECT NULL, archive_end FROM partition_layout;
