-- The organisation model: roles, partner organisations, territories, teams, customer shares,
-- field policies, and the read model of contacts' customers that shares and CheckAccess need.
-- Runs with search_path set to the service's schema; users (0002_identity.sql) come after, so
-- membership tables hold user ids the code checks rather than foreign keys to users.
-- Every key starts with tenant_id, the distribution column when the tables move to Citus.

CREATE TABLE roles (
  tenant_id    text        NOT NULL,
  role_id      text        NOT NULL,
  display_name text        NOT NULL,
  rank         integer     NOT NULL CHECK (rank BETWEEN 0 AND 100),
  -- touchline.permissions.v1.DataScope.
  data_scope   smallint    NOT NULL,
  -- touchline.permissions.v1.Permission values, without duplicates, in the order given.
  permissions  smallint[]  NOT NULL DEFAULT '{}',
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, role_id)
);

CREATE TABLE partner_orgs (
  tenant_id      text        NOT NULL,
  partner_org_id text        NOT NULL,
  display_name   text        NOT NULL,
  create_time    timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, partner_org_id)
);

CREATE TABLE territories (
  tenant_id    text        NOT NULL,
  territory_id text        NOT NULL,
  display_name text        NOT NULL,
  -- Values of Customer.region, in the order given.
  regions      text[]      NOT NULL,
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, territory_id)
);

CREATE TABLE territory_members (
  tenant_id    text NOT NULL,
  territory_id text NOT NULL,
  user_id      uuid NOT NULL,
  PRIMARY KEY (tenant_id, territory_id, user_id),
  FOREIGN KEY (tenant_id, territory_id) REFERENCES territories (tenant_id, territory_id)
    ON DELETE CASCADE
);
-- Scope compilation: the territories of one user.
CREATE INDEX territory_members_by_user ON territory_members (tenant_id, user_id);

CREATE TABLE teams (
  tenant_id    text        NOT NULL,
  team_id      text        NOT NULL,
  display_name text        NOT NULL,
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, team_id)
);

CREATE TABLE team_members (
  tenant_id text NOT NULL,
  team_id   text NOT NULL,
  user_id   uuid NOT NULL,
  PRIMARY KEY (tenant_id, team_id, user_id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, team_id) ON DELETE CASCADE
);
CREATE INDEX team_members_by_user ON team_members (tenant_id, user_id);

-- Access to one customer granted to a team ("team:<id>") or a partner organisation
-- ("partner:<id>"): the grantee strings of EffectiveScope.grantees.
CREATE TABLE customer_shares (
  tenant_id   text        NOT NULL,
  customer_id uuid        NOT NULL,
  grantee     text        NOT NULL,
  edit        boolean     NOT NULL,
  granted_by  text        NOT NULL,
  create_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, grantee)
);

-- The version of each customer's set of shares, raised by every change of it and carried
-- by CustomerSharesChanged, so read models elsewhere ignore stale or repeated events.
CREATE TABLE customer_share_versions (
  tenant_id   text   NOT NULL,
  customer_id uuid   NOT NULL,
  version     bigint NOT NULL,
  PRIMARY KEY (tenant_id, customer_id)
);

-- A role's access to one field of a resource ("customer" or "touchpoint").
CREATE TABLE field_policies (
  tenant_id  text     NOT NULL,
  role_id    text     NOT NULL,
  resource   text     NOT NULL,
  field_path text     NOT NULL,
  -- touchline.permissions.v1.FieldAccess and MaskPattern.
  access     smallint NOT NULL,
  mask       smallint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, role_id, resource, field_path),
  FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, role_id)
);

-- The read model of contacts' customers, fed by the "customers" topic: what visibility
-- decisions need.
CREATE TABLE customers (
  tenant_id   text     NOT NULL,
  customer_id uuid     NOT NULL,
  owner_id    text     NOT NULL DEFAULT '',
  region      text     NOT NULL DEFAULT '',
  -- touchline.contacts.v1.CustomerLevel and CustomerState numbers.
  level       smallint NOT NULL DEFAULT 0,
  state       smallint NOT NULL,
  -- The contacts version (etag) of the last event applied; older events are ignored.
  version     bigint   NOT NULL,
  PRIMARY KEY (tenant_id, customer_id)
);
