-- Which touchpoint last set each customer's lifecycle status (touchpoints'
-- customer_status_after), so that a touchpoint that occurred earlier but arrives later never
-- moves the status back (services/contacts/touchpoint_status.h).
CREATE TABLE customer_status_sources (
  tenant_id     text        NOT NULL,
  customer_id   uuid        NOT NULL,
  touchpoint_id uuid        NOT NULL,
  occurred_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id)
);
