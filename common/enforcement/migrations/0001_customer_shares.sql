-- Who customers are shared with, copied from the permissions service's CustomerSharesChanged
-- events, so row filters (auth::Scope::SqlVisibility) can join it locally.
CREATE TABLE customer_shares (
  tenant_id   text    NOT NULL,
  customer_id uuid    NOT NULL,
  -- "team:<team_id>" or "partner:<partner_org_id>".
  grantee     text    NOT NULL,
  -- SHARE_ACCESS_EDIT.
  edit        boolean NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, grantee)
);

-- The newest CustomerSharesChanged version applied per customer; older ones are ignored.
CREATE TABLE customer_share_versions (
  tenant_id   text   NOT NULL,
  customer_id uuid   NOT NULL,
  version     bigint NOT NULL,
  PRIMARY KEY (tenant_id, customer_id)
);
