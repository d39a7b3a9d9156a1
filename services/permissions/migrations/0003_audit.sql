-- The tamper-evident audit log (services/permissions/audit_log.h): one hash chain per tenant.
-- Each entry stores the hash of the entry before it and its own hash over that hash and its
-- content, so changing or removing an entry breaks the chain at that entry, which
-- VerifyAuditChain reports. The chain head holds the last sequence and hash of each tenant: an
-- append locks it, which orders concurrent appends without gaps, and verification compares it
-- with the last entry, so entries cut off the end show too.

CREATE TABLE audit_chain_heads (
  tenant_id     text   PRIMARY KEY,
  -- The sequence of the tenant's last entry; 0 before the first.
  last_sequence bigint NOT NULL CHECK (last_sequence >= 0),
  -- The hash of that entry; 64 zeros before the first.
  last_hash     text   NOT NULL
);

CREATE TABLE audit_events (
  tenant_id     text        NOT NULL,
  -- Position in the tenant's chain, from 1, without gaps.
  sequence      bigint      NOT NULL CHECK (sequence >= 1),
  -- Microsecond precision, as hashed.
  occur_time    timestamptz NOT NULL,
  action        text        NOT NULL,
  actor_id      text        NOT NULL,
  client        text        NOT NULL,
  resource_type text        NOT NULL,
  resource_id   text        NOT NULL,
  -- Field paths read or changed, in the order reported.
  fields        text[]      NOT NULL,
  detail        text        NOT NULL,
  request_id    text        NOT NULL,
  -- Lower-case hex SHA-256 values.
  previous_hash text        NOT NULL,
  hash          text        NOT NULL,
  PRIMARY KEY (tenant_id, sequence)
);

-- ListAuditEvents filters, newest (highest sequence) first.
CREATE INDEX audit_events_actor_idx ON audit_events (tenant_id, actor_id, sequence);
CREATE INDEX audit_events_resource_idx
  ON audit_events (tenant_id, resource_type, resource_id, sequence);
CREATE INDEX audit_events_time_idx ON audit_events (tenant_id, occur_time);

-- Append-only. The service has one database user, which owns the table, so REVOKE UPDATE,
-- DELETE would not bind it; these triggers refuse changes through ordinary SQL instead. Whoever
-- goes around them (ALTER TABLE ... DISABLE TRIGGER, or a superuser) leaves a broken chain.
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
