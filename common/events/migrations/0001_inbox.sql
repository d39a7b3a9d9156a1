-- The inbox of stream consumers (StreamConsumer): the events each consumer group has applied,
-- recorded in the transaction that applied them, so a redelivered event is skipped.
CREATE TABLE applied_events (
  consumer_group text NOT NULL,
  event_id uuid NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id)
);
