-- The transactional outbox: events written in the same transaction as the change they
-- describe, relayed to Redis Streams by OutboxRelay and deleted once published.
CREATE SEQUENCE outbox_batch_seq;

CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  topic text NOT NULL,
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  tenant_id text NOT NULL,
  aggregate_id text NOT NULL,
  -- A serialized touchline.events.v1.EventEnvelope.
  envelope bytea NOT NULL,
  -- Set when the relay plans the row into a batch (from outbox_batch_seq); the batch is
  -- published to Redis and then deleted.
  batch_id bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Rows waiting to be planned, oldest first.
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE batch_id IS NULL;
-- Batches planned but not yet deleted (left over by a relay that stopped), in batch order.
CREATE INDEX outbox_batch_idx ON outbox (batch_id) WHERE batch_id IS NOT NULL;
