-- What journeys select and move customers by: the lifecycle status
-- (touchline.contacts.v1.LifecycleStatus numbers) and the tags. Filled by events and bootstrap
-- passes from now on: rows written before hold the defaults until their customer next
-- changes or a pass brings a newer version.
ALTER TABLE customers
  ADD COLUMN IF NOT EXISTS lifecycle_status smallint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS tags             text[]   NOT NULL DEFAULT '{}';
