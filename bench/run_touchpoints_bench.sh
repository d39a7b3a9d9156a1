#!/usr/bin/env bash
# Runs the touchpoints benchmark and its baselines in one go, on private servers under
# .data/bench-touchpoints:
#   1. touchpoints_gen loads <rows> realistic touchpoints (the hot customer has 100,000 of
#      them, rows/10 below 1M rows) over 10,000 customers, through the service's own COPY
#      path (above 1M rows: 1M, then copied on the server with new ids, times and customers
#      up to <rows>), secondary indexes built after the load;
#   2. touchpoints_load against a running touchline-touchpoints: the gRPC health Check
#      (baseline), the hot customer's timeline and a tenant-wide search for 投诉 (time order
#      and relevance) at 1 and 16 in flight; RecordTouchpoint at 16 and 64; and
#      BatchRecordTouchpoints of 1,000 at 1 and 2 in flight;
#   3. with the service stopped, pgbench running RecordTouchpoint's two-row transaction (a
#      realistic touchpoint row taken from the data set, and its ~1.5 KB outbox event) at 16
#      and 64 clients, and a timed COPY of 200,000 exported rows into the same table (as a
#      fresh tenant): the database baselines;
#   4. a summary of the four targets.
# Usage: bench/run_touchpoints_bench.sh [rows, default 1000000] [seconds per row, default 10]
# Environment: BUILD_DIR (default build/); KEEP_DATA=1 keeps the servers' data afterwards
# (deleted by default, the logs stay: 10M rows take ~60 GB); REUSE_DATA=1 reuses data kept
# from an earlier run with the same number of rows instead of generating it again (the rows
# earlier runs added stay). Generating 10M rows takes most of an hour on 2 cores (200k: 1-2 min).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source "$root/scripts/lib/servers.sh"
source "$root/scripts/lib/suite.sh"
rows=${1:-1000000}
seconds=${2:-10}
build_dir=${BUILD_DIR:-$root/build}
dir=$root/.data/bench-touchpoints
customers=10000
hot=$(( rows >= 1000000 ? 100000 : rows / 10 ))
copy_rows=$(( rows < 200000 ? rows : 200000 ))
# Disk per generated row (heap, TOAST and the bulk-built indexes; measured 5.5 KB at 200k
# rows), and what the run adds on top: the rows the benchmark writes itself (their GIN
# entries go in one at a time, ~6 KB more per row), WAL (max_wal_size) and the COPY file.
bytes_per_row=5700
extra_bytes=$(( 10 * 1024 * 1024 * 1024 ))

"$root/scripts/install-deps.sh"
[ -f "$build_dir/build.ninja" ] || cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "$(nproc)" \
  --target touchline-permissions touchline-login touchline-touchpoints touchpoints_gen \
  touchpoints_load touchline-health >/dev/null

reuse=0
if [ "${REUSE_DATA:-0}" = 1 ] && [ "$(cat "$dir/generated" 2>/dev/null)" = "$rows" ]; then
  reuse=1
fi
tl_pg_stop "$dir"; tl_redis_stop "$dir"
if [ "$reuse" = 0 ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  need=$(( rows * bytes_per_row + extra_bytes ))
  avail=$(( $(df -Pk "$dir" | awk 'NR == 2 {print $4}') * 1024 ))
  if [ "$avail" -lt "$need" ]; then
    echo "not enough disk: ${rows} rows need about $(( need / 1000000000 )) GB under $dir," \
      "$(( avail / 1000000000 )) GB are free" >&2
    exit 1
  fi
fi
pg_port=$(tl_pg_start "$dir")
tl_pg_createdb "$pg_port" touchline
redis_port=$(tl_redis_start "$dir")
dsn="host=127.0.0.1 port=$pg_port user=touchline dbname=touchline"
pg() { psql -h 127.0.0.1 -p "$pg_port" -U touchline -d touchline -v ON_ERROR_STOP=1 -qAtX "$@"; }
service_pid=""
cleanup() {
  if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null; wait "$service_pid" 2>/dev/null; fi
  tl_stop_permissions "$dir"; tl_redis_stop "$dir"; tl_pg_stop "$dir"
  # The logs stay; the data goes unless asked to keep it.
  if [ "${KEEP_DATA:-0}" != 1 ]; then rm -rf "$dir/pg" "$dir/redis" "$dir/generated"; fi
}
trap cleanup EXIT
# Checkpoints less often during the load and the write benchmarks (service and baselines
# alike); the rest is scripts/lib/servers.sh's configuration.
pg -c "ALTER SYSTEM SET max_wal_size = '4GB'" -c "SELECT pg_reload_conf()" >/dev/null

echo "== $(nproc) cores shared by client, service, PostgreSQL and Redis; $(free -g | awk '/^Mem:/ {print $2}') GB RAM"
if [ "$reuse" = 1 ]; then
  echo "== data: reusing $rows touchpoints from an earlier run (REUSE_DATA=1)"
else
  echo "== data: $rows touchpoints ($hot for the hot customer) over $customers customers"
  # Above 1M rows, 1M are generated and the server copies them (new ids, times and
  # customers) up to the total: client-side generation of 10M rows would take hours.
  base=$(( rows > 1000000 ? 1000000 : rows ))
  "$build_dir/bench/touchpoints_gen" --pg_dsn="$dsn" --touchpoints="$base" \
    --copies=$(( rows / base )) \
    --hot_touchpoints="$hot" --customers="$customers" --jobs=2 --defer_indexes \
    --progress_every=60s | tee "$dir/gen.log" | grep -v '^  [0-9.]* s  '
  echo "$rows" >"$dir/generated"
fi
gen_copy_rps=$(sed -n 's/^COPY rows\/s: \([0-9]*\).*/\1/p' "$dir/gen.log" 2>/dev/null || true)

# The service, as deployed but on private servers; every call carries the bench
# administrator's token (verified and scoped as in production: every customer, no field rules).
export TOUCHLINE_PG_DSN="$dsn" TOUCHLINE_REDIS_ADDR="127.0.0.1:$redis_port"
admin_password="bench admin password 0001"
permissions=$(tl_start_permissions "$build_dir" "$dir" bench "$admin_password")
token=$(tl_token "$build_dir" "$permissions" bench admin "$admin_password")
port=$(tl_free_port)
"$build_dir/services/touchpoints/touchline-touchpoints" --pg_dsn="$dsn" \
  --redis_addr="127.0.0.1:$redis_port" --listen_address="127.0.0.1:$port" \
  --metrics_address= --jwt_public_key_file="$dir/keys/jwt.pub" \
  --permissions_addr="$permissions" --edge_secret_file="$dir/keys/edge.secret" \
  --contacts_addr=127.0.0.1:1 2>"$dir/touchpoints.log" &  # No contacts: customers are seeded.
service_pid=$!
if ! "$build_dir/common/server/touchline-health" "127.0.0.1:$port" --wait=120s >/dev/null; then
  echo "touchline-touchpoints did not become healthy; its log:" >&2
  tail -20 "$dir/touchpoints.log" >&2
  exit 1
fi

load_errors=0
load() {
  local log=$1
  shift
  local rc=0
  "$build_dir/bench/touchpoints_load" --target="127.0.0.1:$port" --customers="$customers" \
    --token="$token" \
    --duration="${seconds}s" "$@" | tee "$dir/$log" || rc=$?
  if [ "$rc" -ne 0 ]; then load_errors=1; fi
}
echo
echo "== gRPC: ${seconds}s per row after 1s of warm-up; items = touchpoints recorded or returned"
load reads.log --rpcs=health,timeline,search,search_relevance --concurrency=1,16
load record.log --rpcs=record --concurrency=16,64
load batch.log --rpcs=batch --concurrency=1,2 --batch_size=1000
kill "$service_pid"; wait "$service_pid" || true; service_pid=""
tl_stop_permissions "$dir"

# RecordTouchpoint's transaction as pgbench runs it: one realistic row of the data set (body
# of 1.2-1.5 KB and its search tokens) inserted as a new touchpoint that occurred 3 minutes
# ago (the current month's partition), and its outbox event of ~1.5 KB, in one transaction.
# The tsvector travels hex-encoded: pgbench would take its ':1A' positions for variables.
pg >"$dir/record_touchpoint.sql" <<'SQL'
SELECT format($f$BEGIN;
INSERT INTO touchpoints.touchpoints (tenant_id, touchpoint_id, occurred_at, customer_id, origin_customer_id, recorded_at, channel, category, outcome, sentiment, tags, participant_ids, filled, body, search, version, update_time) VALUES ('pgbench', gen_random_uuid(), now() - interval '3 minutes', %L, %L, now(), %s, %s, %s, %s, %L, %L, %s, decode(%L, 'hex'), convert_from(decode(%L, 'hex'), 'UTF8')::tsvector, 1, now());
INSERT INTO touchpoints.outbox (topic, event_id, event_type, tenant_id, aggregate_id, envelope) VALUES ('touchpoints', gen_random_uuid(), 'touchline.events.v1.TouchpointRecorded', 'pgbench', gen_random_uuid()::text, decode(%L, 'hex'));
COMMIT;$f$,
  customer_id, customer_id, channel, category, outcome, sentiment, tags::text,
  participant_ids::text, filled, encode(body, 'hex'),
  encode(convert_to(search::text, 'UTF8'), 'hex'),
  encode(body || decode(repeat('ab', greatest(200, 1536 - octet_length(body))), 'hex'), 'hex'))
FROM touchpoints.touchpoints
WHERE tenant_id = 'bench' AND octet_length(body) BETWEEN 1200 AND 1500
LIMIT 1;
SQL
echo
echo "== pgbench: RecordTouchpoint's two-row transaction (touchpoint + outbox), ${seconds}s per row"
printf '%-16s %8s %10s %9s\n' "baseline" "clients" "tps" "avg_ms"
declare -A pgbench_tps
for c in 16 64; do
  out=$(pgbench -n -M prepared -c "$c" -j 2 -T "$seconds" -f "$dir/record_touchpoint.sql" \
    -h 127.0.0.1 -p "$pg_port" -U touchline touchline 2>&1)
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
  if [ -z "$tps" ]; then echo "$out" >&2; exit 1; fi
  pgbench_tps[$c]=$tps
  printf '%-16s %8d %10.0f %9s\n' "pgbench-record" "$c" "$tps" "$lat"
done

# COPY into the same table: rows of the data set exported once, loaded back as a fresh
# tenant with occur times of the last minutes (the partition BatchRecordTouchpoints fills).
copy_tenant="copybench-$(date +%s)"
copy_file=$dir/copy_baseline.tsv
columns="tenant_id, touchpoint_id, occurred_at, customer_id, origin_customer_id, recorded_at, channel, category, outcome, sentiment, tags, participant_ids, filled, body, search, version, update_time"
pg -c "\\copy (SELECT '$copy_tenant', touchpoint_id, now() - random() * interval '10 minutes', customer_id, origin_customer_id, now(), channel, category, outcome, sentiment, tags, participant_ids, filled, body, search, version, now() FROM touchpoints.touchpoints WHERE tenant_id = 'bench' LIMIT $copy_rows) TO '$copy_file'"
start=$(date +%s.%N)
pg -c "\\copy touchpoints.touchpoints ($columns) FROM '$copy_file'"
end=$(date +%s.%N)
rm -f "$copy_file"
copy_rps=$(awk -v n="$copy_rows" -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", n / (b - a)}')
echo
echo "== COPY: $copy_rows rows into touchpoints.touchpoints (all indexes) in one COPY: $copy_rps rows/s"
[ -n "$gen_copy_rps" ] && echo "   (touchpoints_gen's load with secondary indexes deferred: $gen_copy_rps rows/s)"

# The targets.
# val LOG RPC INFLIGHT COLUMN: a figure of touchpoints_load's output (0 when the row is missing).
val() {
  awk -v r="$2" -v c="$3" -v col="$4" '$1 == r && $2 == c {v = $col} END {print v == "" ? 0 : v}' \
    "$dir/$1" 2>/dev/null || echo 0
}
# flag LOG RPC INFLIGHT: "" for a clean row, else " (ERRORS)", " (EMPTY)" or " (MISSING)".
flag() {
  local f
  f=$(val "$1" "$2" "$3" 12)
  case "$f" in ok) echo "" ;; 0) echo " (MISSING)" ;; *) echo " ($f)" ;; esac
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.0f", 100 * a / b; else print 0}'; }
# verdict VALUE OP TARGET FLAG: PASS or FAIL; always FAIL when the row had errors or is missing.
verdict() {
  awk -v v="$1" -v op="$2" -v t="$3" -v f="$4" \
    'BEGIN {ok = f == "" && ((op == ">=") ? v >= t : v < t); print ok ? "PASS" : "FAIL"}'
}
echo
echo "== summary ($rows touchpoints, ${seconds}s per row)"
# row WIDTH LABEL MEASURED BASELINE RATIO TARGET RESULT (WIDTH: of the label in bytes)
row() { printf "%-${1}s %14s %14s %7s %9s  %s\n" "${@:2}"; }
row 44 "target" "measured" "baseline" "ratio" "target" "result"
for c in 16 64; do
  qps=$(val record.log record "$c" 3)
  f=$(flag record.log record "$c")
  r=$(ratio "$qps" "${pgbench_tps[$c]}")
  row 44 "RecordTouchpoint @$c vs pgbench @$c" "$(printf '%.0f/s' "$qps")" \
    "$(printf '%.0f/s' "${pgbench_tps[$c]}")" "$r%" ">= 60%" "$(verdict "$r" ">=" 60 "$f")$f"
done
for c in 1 2; do
  rps=$(val batch.log batch "$c" 4)
  f=$(flag batch.log batch "$c")
  r=$(ratio "$rps" "$copy_rps")
  row 44 "BatchRecordTouchpoints rows @$c vs COPY" "$(printf '%.0f/s' "$rps")" \
    "$(printf '%.0f/s' "$copy_rps")" "$r%" ">= 50%" "$(verdict "$r" ">=" 50 "$f")$f"
done
for c in 1 16; do
  p99=$(val reads.log timeline "$c" 8)
  f=$(flag reads.log timeline "$c")
  row 44 "ListTouchpoints (hot customer) p99 @$c" "$p99 ms" "" "" "< 5 ms" \
    "$(verdict "$p99" "<" 5 "$f")$f"
done
for rpc in search search_relevance; do
  for c in 1 16; do
    p99=$(val reads.log "$rpc" "$c" 8)
    f=$(flag reads.log "$rpc" "$c")
    order=$([ "$rpc" = search ] && echo "time order" || echo "relevance")
    # 投诉 is 6 bytes to printf and 4 columns on screen.
    row 46 "SearchTouchpoints 投诉 ($order) p99 @$c" "$p99 ms" "" "" "< 100 ms" \
      "$(verdict "$p99" "<" 100 "$f")$f"
  done
done
if [ "$load_errors" = 1 ]; then
  echo "Some calls failed or found nothing: see the ERRORS/EMPTY rows above and $dir/touchpoints.log."
fi
