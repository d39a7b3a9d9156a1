-- Delegated sessions (DelegationService.IssueDelegatedToken): a session of a user kept for a
-- Touchline service that acts on the user's behalf (automation, for a rule's owner). It is a
-- session like a login's (ResolveSession, DisableUser, scope invalidation and retention treat
-- it alike), but it has no refresh token: its refresh_hash is a value no token hashes to.
-- NULL for a login session; otherwise the service's name.
ALTER TABLE sessions ADD COLUMN delegated_to text;

-- Finds the user's unrevoked delegated session for a service, latest expiry first, without
-- reading the user's login sessions.
CREATE INDEX sessions_delegated_live ON sessions (tenant_id, user_id, delegated_to, expire_time)
  WHERE delegated_to IS NOT NULL AND revoke_time IS NULL;
