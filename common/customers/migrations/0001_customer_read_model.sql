-- The read model of contacts' customers (common/customers/read_model.h) in a consuming
-- service's schema, applied after the service's own migrations. The DDL is idempotent: a
-- service whose own migrations made a narrower customers table (touchpoints, permissions)
-- gets the missing columns, a new service gets the whole table.
CREATE TABLE IF NOT EXISTS customers (
  tenant_id   text     NOT NULL,
  customer_id uuid     NOT NULL,
  -- touchline.contacts.v1.CustomerState and CustomerLevel numbers.
  state       smallint NOT NULL,
  owner_id    text     NOT NULL DEFAULT '',
  region      text     NOT NULL DEFAULT '',
  level       smallint NOT NULL DEFAULT 0,
  -- The contacts version (etag) of what the row holds; nothing older replaces it.
  version     bigint   NOT NULL,
  PRIMARY KEY (tenant_id, customer_id)
);
ALTER TABLE customers
  ADD COLUMN IF NOT EXISTS merged_into    uuid,
  -- The merge that folded the customer, while merged.
  ADD COLUMN IF NOT EXISTS merge_id       uuid,
  ADD COLUMN IF NOT EXISTS person_ids     uuid[] NOT NULL DEFAULT '{}',
  -- While merged: "<person_id>:<into_person_id>" of its persons folded into the survivor's.
  ADD COLUMN IF NOT EXISTS folded_persons text[] NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS customers_by_merged_into ON customers (tenant_id, merged_into)
  WHERE merged_into IS NOT NULL;

-- The passes over contacts' CustomerFeedService that build the model from scratch: one when
-- the service first starts, and another whenever the "customers" stream lost entries its
-- consumer group had not read. The latest row is the current pass; it is done when
-- finish_time is set.
CREATE TABLE customer_read_model_passes (
  pass_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  reason         text        NOT NULL,
  -- The stream's max-deleted-entry-id that started the pass ('0-0' for the first).
  lost_entry_id  text        NOT NULL DEFAULT '0-0',
  -- next_page_token of the last page applied; '' before the first.
  page_token     text        NOT NULL DEFAULT '',
  customers      bigint      NOT NULL DEFAULT 0,
  start_time     timestamptz NOT NULL DEFAULT now(),
  finish_time    timestamptz
);
