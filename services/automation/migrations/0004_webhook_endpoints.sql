-- Where a tenant's webhooks go (touchline.automation.v1.WebhookEndpoint), with the secrets
-- that sign them. A secret is never stored in clear: each is sealed (endpoints/secret_box.h)
-- under the deployment's key, its key id beside it so that keys can be rotated.
CREATE TABLE webhook_endpoints (
  tenant_id              text        NOT NULL,
  endpoint_id            uuid        NOT NULL,
  display_name           text        NOT NULL,
  url                    text        NOT NULL,
  max_attempts           integer     NOT NULL,
  rate_limit_per_second  integer     NOT NULL,
  -- A request taking longer fails; whole milliseconds.
  timeout_ms             integer     NOT NULL,
  -- The secret that signs every request, and when it was made.
  secret_key_id          text        NOT NULL,
  secret_sealed          bytea       NOT NULL,
  secret_time            timestamptz NOT NULL,
  -- The secret before the last rotation, which signs too until previous_secret_until; NULL
  -- before the first rotation.
  previous_secret_key_id text,
  previous_secret_sealed bytea,
  previous_secret_until  timestamptz,
  create_time            timestamptz NOT NULL,
  update_time            timestamptz NOT NULL,
  -- Bumped by every write of the row; the etag.
  version                bigint      NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, endpoint_id),
  CONSTRAINT webhook_endpoints_limits CHECK (
    max_attempts BETWEEN 1 AND 20 AND rate_limit_per_second BETWEEN 1 AND 1000
    AND timeout_ms BETWEEN 1000 AND 30000),
  CONSTRAINT webhook_endpoints_previous_whole CHECK (
    (previous_secret_key_id IS NULL) = (previous_secret_sealed IS NULL)
    AND (previous_secret_sealed IS NULL) = (previous_secret_until IS NULL))
);

-- ListWebhookEndpoints: by display name (code point order, as every replica and the in-memory
-- store compare), then by id, in keyset pages.
CREATE INDEX webhook_endpoints_by_name ON webhook_endpoints (tenant_id, display_name COLLATE "C",
  endpoint_id);
