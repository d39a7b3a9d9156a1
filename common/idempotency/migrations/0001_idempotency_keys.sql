-- Idempotency keys (common/idempotency): the first outcome of each request_id of a tenant, so
-- a retried request replays it instead of writing again, and the id reused for another
-- request is refused. Kept for --idempotency_retention, then purged.
CREATE TABLE idempotency_keys (
  tenant_id   text        NOT NULL,
  request_id  text        NOT NULL,
  -- The RPC the id was first used with, and the fingerprint (hex SHA-256) of that request.
  method      text        NOT NULL,
  fingerprint text        NOT NULL,
  -- What a replay returns: usually the id of the resource the first request created.
  result      text        NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, request_id)
);

-- PurgeExpiredKeys deletes the oldest keys first, in small batches.
CREATE INDEX idempotency_keys_create_time_idx ON idempotency_keys (create_time);
