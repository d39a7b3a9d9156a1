-- Customer master data. Every key starts with tenant_id, the distribution column when the
-- tables move to Citus. Runs with search_path set to the service's schema.

CREATE TABLE customers (
  tenant_id        text        NOT NULL,
  customer_id      uuid        NOT NULL,
  kind             smallint    NOT NULL,
  display_name     text        NOT NULL,
  industry         text        NOT NULL DEFAULT '',
  region           text        NOT NULL DEFAULT '',
  level            smallint    NOT NULL,
  lifecycle_status smallint    NOT NULL,
  owner_id         text        NOT NULL DEFAULT '',
  tags             text[]      NOT NULL DEFAULT '{}',
  custom_fields    jsonb       NOT NULL DEFAULT '{}',
  contact_persons  jsonb       NOT NULL DEFAULT '[]',
  addresses        jsonb       NOT NULL DEFAULT '[]',
  state            smallint    NOT NULL,
  merged_into      uuid,
  create_time      timestamptz NOT NULL,
  update_time      timestamptz NOT NULL,
  delete_time      timestamptz,
  version          bigint      NOT NULL,
  PRIMARY KEY (tenant_id, customer_id)
);

-- List orders (keyset paging) and filters.
CREATE INDEX customers_by_update_time ON customers (tenant_id, update_time DESC, customer_id DESC);
CREATE INDEX customers_by_create_time ON customers (tenant_id, create_time DESC, customer_id DESC);
-- Chinese users expect pinyin order; ICU's zh collation gives it, with Latin text alongside.
CREATE INDEX customers_by_display_name
  ON customers (tenant_id, display_name COLLATE "zh-Hans-x-icu", customer_id);
-- Type-ahead on the start of the name (LIKE 'prefix%').
CREATE INDEX customers_by_name_prefix ON customers (tenant_id, display_name text_pattern_ops);
CREATE INDEX customers_by_owner ON customers (tenant_id, owner_id);
CREATE INDEX customers_by_tags ON customers USING gin (tags);

-- Deduplication keys of active customers: E.164 phones (reason 1), emails (2) and the
-- normalised name (3). Rebuilt with every write of the customer.
CREATE TABLE customer_keys (
  tenant_id   text     NOT NULL,
  reason      smallint NOT NULL,
  key         text     NOT NULL,
  customer_id uuid     NOT NULL,
  PRIMARY KEY (tenant_id, reason, key, customer_id)
);
CREATE INDEX customer_keys_by_customer ON customer_keys (tenant_id, customer_id);

-- Idempotency: the outcome of each request_id, so a retry returns it instead of writing
-- again. fingerprint is the SHA-256 of the request; a reused id with another request is
-- refused.
CREATE TABLE requests (
  tenant_id   text        NOT NULL,
  request_id  text        NOT NULL,
  method      text        NOT NULL,
  fingerprint text        NOT NULL,
  resource_id text        NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, request_id)
);

-- Merges, with both customers as they were before, so an unmerge restores them exactly.
CREATE TABLE merges (
  tenant_id              text        NOT NULL,
  merge_id               uuid        NOT NULL,
  survivor_id            uuid        NOT NULL,
  merged_id              uuid        NOT NULL,
  survivor_before        jsonb       NOT NULL,
  merged_before          jsonb       NOT NULL,
  survivor_version_after bigint      NOT NULL,
  merged_version_after   bigint      NOT NULL,
  create_time            timestamptz NOT NULL,
  unmerge_time           timestamptz,
  PRIMARY KEY (tenant_id, merge_id)
);
CREATE INDEX merges_by_merged ON merges (tenant_id, merged_id);
