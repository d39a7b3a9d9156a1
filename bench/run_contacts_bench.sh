#!/usr/bin/env bash
# Runs the contacts benchmark and its baselines in one go, on private servers under
# .data/bench:
#   1. contacts_load against a running touchline-contacts: the gRPC health Check (baseline),
#      GetCustomer and CreateCustomer at 1, 16 and 64 calls in flight;
#   2. pgbench (service stopped) running CreateCustomer's exact transaction on the same
#      tables at 1, 16 and 64 clients: the database baseline.
# Usage: bench/run_contacts_bench.sh [seconds per row, default 10]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source "$root/scripts/lib/servers.sh"
source "$root/scripts/lib/suite.sh"
seconds=${1:-10}
build_dir=${BUILD_DIR:-$root/build}
dir=$root/.data/bench

"$root/scripts/install-deps.sh"
[ -f "$build_dir/build.ninja" ] || cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target touchline-permissions touchline-login touchline-contacts contacts_load \
  touchline-health >/dev/null

tl_pg_stop "$dir"; tl_redis_stop "$dir"; rm -rf "$dir"
pg_port=$(tl_pg_start "$dir")
tl_pg_createdb "$pg_port" touchline
redis_port=$(tl_redis_start "$dir")
dsn="host=127.0.0.1 port=$pg_port user=touchline dbname=touchline"
service_pid=""
cleanup() {
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  tl_stop_permissions "$dir"; tl_redis_stop "$dir"; tl_pg_stop "$dir"
}
trap cleanup EXIT

# Every call carries the bench administrator's token: verified, scoped (every customer, no
# field rules), as in production.
export TOUCHLINE_PG_DSN="$dsn" TOUCHLINE_REDIS_ADDR="127.0.0.1:$redis_port"
admin_password="bench admin password 0001"
permissions=$(tl_start_permissions "$build_dir" "$dir" bench "$admin_password")
token=$(tl_token "$build_dir" "$permissions" bench admin "$admin_password")
port=$(tl_free_port)
"$build_dir/services/contacts/touchline-contacts" --pg_dsn="$dsn" \
  --redis_addr="127.0.0.1:$redis_port" --listen_address="127.0.0.1:$port" \
  --metrics_address= --jwt_public_key_file="$dir/keys/jwt.pub" \
  --permissions_addr="$permissions" 2>"$dir/contacts.log" &
service_pid=$!
"$build_dir/common/server/touchline-health" "127.0.0.1:$port" --wait=30s >/dev/null

echo "== gRPC: $(nproc) cores shared by client, service, PostgreSQL and Redis; ${seconds}s per row"
"$build_dir/bench/contacts_load" --target="127.0.0.1:$port" --duration="${seconds}s" \
  --token="$token" \
  --concurrency=1,16,64
kill "$service_pid"; wait "$service_pid" || true; service_pid=""

# CreateCustomer's transaction as the service runs it (sql.h, common/idempotency, outbox.cc), with the same
# values the load generator sends: claim the request id, insert the customer, its name key
# and its outbox event.
cat >"$dir/create_customer.sql" <<'SQL'
\set n random(1, 2000000000)
BEGIN;
INSERT INTO contacts.idempotency_keys (tenant_id, request_id, method, fingerprint, result) VALUES ('pgbench', 'r-' || :client_id || '-' || :n || '-' || random(), 'CreateCustomer', md5(:n::text) || md5(:n::text), gen_random_uuid()::text) ON CONFLICT DO NOTHING RETURNING 1;
INSERT INTO contacts.customers (tenant_id, customer_id, kind, display_name, industry, region, level, lifecycle_status, owner_id, tags, custom_fields, contact_persons, addresses, state, merged_into, create_time, update_time, delete_time, version) VALUES ('pgbench', gen_random_uuid(), 1, '压测客户' || :n || '有限公司', '', '华东', 1, 1, 'rep-' || (:n % 50), ARRAY(SELECT jsonb_array_elements_text('["压测"]'::jsonb)), '{}'::jsonb, '[]'::jsonb, '[]'::jsonb, 1, NULL, now(), now(), NULL, 1);
INSERT INTO contacts.customer_keys (tenant_id, reason, key, customer_id) VALUES ('pgbench', 3, '压测客户' || :n, gen_random_uuid()) ON CONFLICT DO NOTHING;
INSERT INTO contacts.outbox (topic, event_id, event_type, tenant_id, aggregate_id, envelope) VALUES ('customers', gen_random_uuid(), 'touchline.events.v1.CustomerCreated', 'pgbench', gen_random_uuid()::text, decode(repeat('ab', 260), 'hex'));
COMMIT;
SQL
echo
echo "== pgbench: CreateCustomer's transaction, ${seconds}s per row"
printf '%-16s %8s %10s %9s\n' "baseline" "clients" "tps" "avg_ms"
for c in 1 16 64; do
  out=$(pgbench -n -M prepared -c "$c" -j "$(( c < $(nproc) ? c : $(nproc) ))" -T "$seconds" \
    -f "$dir/create_customer.sql" -h 127.0.0.1 -p "$pg_port" -U touchline touchline 2>&1)
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
  printf '%-16s %8d %10.0f %9s\n' "pgbench-create" "$c" "$tps" "$lat"
done
