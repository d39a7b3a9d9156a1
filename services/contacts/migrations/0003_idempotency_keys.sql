-- Request ids move to the shared idempotency table (common/idempotency, migrated before this
-- file), which is purged after --idempotency_retention; a retry of a request made before the
-- move still finds its key there.
INSERT INTO idempotency_keys (tenant_id, request_id, method, fingerprint, result, create_time)
SELECT tenant_id, request_id, method, fingerprint, resource_id, create_time FROM requests
ON CONFLICT DO NOTHING;

DROP TABLE requests;
