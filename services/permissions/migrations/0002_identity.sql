-- Identity: users, login sessions, API keys and the idempotency records of user creation.
-- Runs after 0001_org.sql (roles, partner_orgs) with search_path set to the service's schema.
-- Every key starts with tenant_id, the distribution column when the tables move to Citus.

CREATE TABLE users (
  tenant_id           text        NOT NULL,
  user_id             uuid        NOT NULL,
  username            text        NOT NULL,
  -- Usernames are unique and looked up case-insensitively.
  username_key        text        GENERATED ALWAYS AS (lower(username)) STORED,
  display_name        text        NOT NULL,
  email               text        NOT NULL DEFAULT '',
  role_id             text        NOT NULL,
  -- NULL at the top of the hierarchy; never a cycle (checked under an advisory lock).
  manager_id          uuid,
  -- NULL for employees.
  partner_org_id      text,
  -- touchline.permissions.v1.UserState.
  state               smallint    NOT NULL,
  -- argon2id, crypto_pwhash_str format (algorithm and costs inside).
  password_hash       text        NOT NULL,
  -- The confirmed TOTP secret (20 bytes) and one awaiting ConfirmTotp.
  totp_secret         bytea,
  totp_pending_secret bytea,
  totp_enabled        boolean     NOT NULL DEFAULT false,
  -- The last 30 s step whose code was accepted: older and equal ones are replays.
  totp_last_step      bigint      NOT NULL DEFAULT 0,
  -- Consecutive failed logins since the last success or lockout.
  failed_logins       integer     NOT NULL DEFAULT 0,
  locked_until        timestamptz,
  create_time         timestamptz NOT NULL,
  update_time         timestamptz NOT NULL,
  version             bigint      NOT NULL,
  PRIMARY KEY (tenant_id, user_id),
  UNIQUE (tenant_id, username_key),
  FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, role_id),
  FOREIGN KEY (tenant_id, manager_id) REFERENCES users (tenant_id, user_id),
  FOREIGN KEY (tenant_id, partner_org_id) REFERENCES partner_orgs (tenant_id, partner_org_id),
  CHECK (manager_id IS NULL OR manager_id <> user_id)
);
CREATE INDEX users_by_manager ON users (tenant_id, manager_id);
CREATE INDEX users_by_role ON users (tenant_id, role_id);
CREATE INDEX users_by_partner_org ON users (tenant_id, partner_org_id, username_key);

-- Login sessions. The refresh token is "<session_id>.<random>"; only SHA-256 hashes of the
-- current one and of the one it replaced are kept, so a replayed old token is recognised.
CREATE TABLE sessions (
  tenant_id             text        NOT NULL,
  session_id            uuid        NOT NULL,
  user_id               uuid        NOT NULL,
  refresh_hash          text        NOT NULL,
  previous_refresh_hash text,
  client                text        NOT NULL DEFAULT '',
  create_time           timestamptz NOT NULL,
  expire_time           timestamptz NOT NULL,
  revoke_time           timestamptz,
  PRIMARY KEY (tenant_id, session_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id)
);
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);

-- API keys. The secret is "tlk_<tenant_id>_" + 32 random bytes (base64url): it names its
-- tenant, so a key is found by (tenant_id, secret_hash). 256 random bits cannot be guessed
-- or brute-forced, so a fast SHA-256 (hex) is enough; a slow password hash would only slow
-- down every call.
CREATE TABLE api_keys (
  tenant_id     text        NOT NULL,
  api_key_id    uuid        NOT NULL,
  user_id       uuid        NOT NULL,
  display_name  text        NOT NULL,
  secret_hash   text        NOT NULL,
  secret_prefix text        NOT NULL,
  -- touchline.permissions.v1.Permission values.
  permissions   smallint[]  NOT NULL DEFAULT '{}',
  expire_time   timestamptz,
  create_time   timestamptz NOT NULL,
  revoke_time   timestamptz,
  PRIMARY KEY (tenant_id, api_key_id),
  UNIQUE (tenant_id, secret_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id)
);
CREATE INDEX api_keys_by_user ON api_keys (tenant_id, user_id);

-- Idempotency of CreateUser: the outcome of each request_id, so a retry returns it instead
-- of writing again. fingerprint is the SHA-256 of the request; a reused id with another
-- request is refused.
CREATE TABLE requests (
  tenant_id   text        NOT NULL,
  request_id  text        NOT NULL,
  method      text        NOT NULL,
  fingerprint text        NOT NULL,
  resource_id text        NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, request_id)
);
