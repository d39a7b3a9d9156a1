-- Retention of ended sessions: IdentityManager::PurgeEndedSessions deletes, in bounded
-- batches, sessions that expired or were revoked longer ago than --session_retention. This
-- index finds them without reading the live ones (least() ignores a NULL revoke_time).
CREATE INDEX sessions_end_time ON sessions (least(expire_time, revoke_time));
