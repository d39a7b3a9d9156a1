-- The key that seals this schema's page tokens and cursors (common/paging/page_token.h): one
-- row, written by the first replica that starts and read by every other, so a token from one
-- replica opens on all of them. Never leaves the database except into the service's memory.
CREATE TABLE page_token_key (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  secret bytea NOT NULL CHECK (octet_length(secret) = 32),
  create_time timestamptz NOT NULL DEFAULT now()
);
