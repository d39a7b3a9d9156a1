-- Login throttling (IdentityManager::Login): the failed logins counted per client address and
-- account, per account, per client address and per tenant, each with the time before which
-- the next attempt it covers is refused; and the addresses an account logged in from.
CREATE TABLE login_throttle (
  tenant_id         text        NOT NULL,
  -- "address_account <address> <username>", "account <username>", "address <address>" or
  -- "tenant" (usernames lower case, as users.username_key).
  counter           text        NOT NULL,
  -- Failures since the counter last started over (after login_throttle memory without one,
  -- or, for an address on an account, a success).
  failures          integer     NOT NULL DEFAULT 0,
  last_failure_time timestamptz,
  blocked_until     timestamptz,
  -- address_account only: the last successful login of the account from the address, which
  -- makes the address known to the account.
  last_success_time timestamptz,
  PRIMARY KEY (tenant_id, counter)
);

-- Forgotten counters are deleted by age.
CREATE INDEX login_throttle_by_age ON login_throttle (tenant_id, last_failure_time);
