-- Request ids move to the shared idempotency table (common/idempotency: one request_id rule,
-- purged after --idempotency_retention); touchpoint_keys keeps the (source_system,
-- external_id) keys, a touchpoint's identity in its source, which are never purged. The keys
-- recorded so far keep replaying: each becomes a key of RecordTouchpoint (the method both
-- RecordTouchpoint and BatchRecordTouchpoints claim under) with its fingerprint and touchpoint,
-- kept for a whole retention from now. A schema without the shared table (one migrated by a
-- tool that applies only this service's migrations) keeps them where they are.
DO $$
BEGIN
  IF to_regclass('idempotency_keys') IS NOT NULL THEN
    INSERT INTO idempotency_keys (tenant_id, request_id, method, fingerprint, result)
    SELECT tenant_id, key, 'RecordTouchpoint', encode(fingerprint, 'hex'), touchpoint_id::text
    FROM touchpoint_keys WHERE kind = 1
    ON CONFLICT DO NOTHING;
    DELETE FROM touchpoint_keys WHERE kind = 1;
  END IF;
END
$$;
