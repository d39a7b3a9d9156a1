-- CreateUser's request ids move to the shared idempotency table (common/idempotency, migrated
-- before this file by the service host), which is purged after --idempotency_retention; a
-- retry of a request made before the move still finds its key there. A schema without that
-- table (a tool that applies only this component's migrations, e.g. the audit benchmark)
-- serves no requests, so it has no request ids worth keeping.
DO $$
BEGIN
  IF to_regclass('idempotency_keys') IS NOT NULL THEN
    INSERT INTO idempotency_keys (tenant_id, request_id, method, fingerprint, result, create_time)
    SELECT tenant_id, request_id, method, fingerprint, resource_id, create_time FROM requests
    ON CONFLICT DO NOTHING;
  END IF;
END
$$;

DROP TABLE requests;
