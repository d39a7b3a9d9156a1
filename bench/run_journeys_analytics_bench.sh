#!/usr/bin/env bash
# The journeys read benchmark (stage analytics at size), on private servers under
# .data/bench-journeys-analytics:
#   1. journeys_analytics_seed writes --customers customers (default 1,000,000) on three
#      published journeys with about --history_rows stage_visits rows (default 20 a customer) and
#      the stage analytics aggregates computed from them, then VACUUM ANALYZE;
#   2. touchline-permissions and touchline-journeys start; journeys_analytics_load makes a
#      regional manager whose territory covers one region of ten (上海), checks the figures
#      against SQL counts, then times GetStageAnalytics (every entry day, and the last 30) and
#      ListCustomersInStage (the first 50 of the entry stage) on the dealer journey as the
#      administrator and as the regional manager at 1 and 16 calls in flight, beside the gRPC
#      health Check of the journeys service (the baseline);
#   3. the plans of the statements GetStageAnalytics runs, as PostgreSQL executed them
#      (auto_explain on a restarted service), and how many aggregate rows each caller sums;
#   4. journeys_rederive_bench: a late touchpoint re-deriving a path of 1,000 visits,
#      in-process, beside a pgbench simple-update transaction.
# Usage: bench/run_journeys_analytics_bench.sh [--customers N] [--history_rows N] [--seconds S]
#   REUSE_DATA=1 keeps the servers and data of the last run (same folder) and skips seeding.
#   SKIP_BUILD=1 uses the binaries as built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source "$root/scripts/lib/servers.sh"
source "$root/scripts/lib/suite.sh"
customers=1000000
history_rows=
seconds=10
while [ $# -gt 0 ]; do
  case $1 in
    --customers) customers=$2; shift 2 ;;
    --history_rows) history_rows=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--customers N] [--history_rows N] [--seconds S]" >&2; exit 2 ;;
  esac
done
history_rows=${history_rows:-$((customers * 20))}
build_dir=${BUILD_DIR:-$root/build}
dir=$root/.data/bench-journeys-analytics
admin_password="bench admin password 0001"
manager_password="bench manager password 0001"
region=上海

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  "$root/scripts/install-deps.sh"
  cmake --build "$build_dir" -j "$(nproc)" --target touchline-permissions touchline-login \
    touchline-journeys touchline-health journeys_analytics_seed journeys_analytics_load \
    journeys_rederive_bench >/dev/null
fi
if [ "${REUSE_DATA:-0}" != 1 ]; then
  tl_pg_stop "$dir"; tl_redis_stop "$dir"; rm -rf "$dir"
fi
mkdir -p "$dir"
pg_port=$(tl_pg_start "$dir")
tl_pg_createdb "$pg_port" touchline
redis_port=$(tl_redis_start "$dir")
export TOUCHLINE_PG_DSN="host=127.0.0.1 port=$pg_port user=touchline dbname=touchline"
export TOUCHLINE_REDIS_ADDR="127.0.0.1:$redis_port"
dsn=$TOUCHLINE_PG_DSN
pg() { psql "$dsn" -v ON_ERROR_STOP=1 -qAtX "$@"; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  pg -c "ALTER SYSTEM RESET session_preload_libraries" -c "SELECT pg_reload_conf()" \
    >/dev/null 2>&1 || true
  tl_stop_permissions "$dir"; tl_redis_stop "$dir"; tl_pg_stop "$dir"
}
trap cleanup EXIT

echo "== $(nproc) cores shared by the load, journeys, permissions and PostgreSQL" \
  "(and by whatever else runs on the machine)"
if [ "${REUSE_DATA:-0}" != 1 ] || [ ! -s "$dir/journeys.txt" ]; then
  # Loading: fewer checkpoints. The server is private to the benchmark.
  pg -c "ALTER SYSTEM SET max_wal_size = '16GB'" -c "ALTER SYSTEM SET checkpoint_timeout = '30min'" \
    -c "SELECT pg_reload_conf()" >/dev/null
  echo "== seeding $customers customers, about $history_rows visits (progress in $dir/seed.log)"
  started=$(date +%s)
  "$build_dir/bench/journeys_analytics_seed" --pg_dsn="$dsn" --customers="$customers" \
    --history_rows="$history_rows" >"$dir/journeys.txt" 2>"$dir/seed.log" ||
    { tail -20 "$dir/seed.log"; exit 1; }
  echo "seeded in $(($(date +%s) - started)) s"
else
  echo "== reusing the data seeded before ($dir/journeys.txt)"
fi
journey=$(awk '$2 == "dealer" {print $3}' "$dir/journeys.txt")
pg -F ' ' -c "
  SELECT 'customers', count(*) FROM journeys.customers
  UNION ALL SELECT 'journey_members', count(*) FROM journeys.journey_members
  UNION ALL SELECT 'stage_visits', count(*) FROM journeys.stage_visits
  UNION ALL SELECT 'stage_stats', count(*) FROM journeys.stage_stats
  UNION ALL SELECT 'stage_current', count(*) FROM journeys.stage_current" |
  awk '{printf "  %-18s %12d rows\n", $1, $2}'
echo "  visits per member by journey:"
pg -F ' ' -c "SELECT j.display_name, round(count(*)::numeric / (SELECT count(*) FROM
  journeys.journey_members m WHERE m.journey_id = j.journey_id), 1) FROM journeys.stage_visits v
  JOIN journeys.journeys j ON j.journey_id = v.journey_id GROUP BY j.journey_id, j.display_name" |
  sed 's/^/    /'

permissions=$(tl_start_permissions "$build_dir" "$dir" bench "$admin_password")
admin_token=$(tl_token "$build_dir" "$permissions" bench admin "$admin_password")
manager_id=$(TOUCHLINE_ADMIN_TOKEN=$admin_token TOUCHLINE_PASSWORD=$manager_password \
  "$build_dir/bench/journeys_analytics_load" --setup_manager --target="$permissions" \
  --region="$region")
manager_token=$(tl_token "$build_dir" "$permissions" bench bench_manager "$manager_password")
journeys_port=$(tl_free_port)
# start_journeys: starts the service and waits until it is healthy. No contacts: the read model
# is seeded (its bootstrap pass fails and retries in the background, logged).
start_journeys() {
  "$build_dir/services/journeys/touchline-journeys" --listen_address="127.0.0.1:$journeys_port" \
    --metrics_address= --jwt_public_key_file="$dir/keys/jwt.pub" \
    --permissions_addr="$permissions" --edge_secret_file="$dir/keys/edge.secret" \
    --contacts_addr=127.0.0.1:1 2>>"$dir/journeys.log" &
  journeys_pid=$!
  pids+=($journeys_pid)
  "$build_dir/common/server/touchline-health" "127.0.0.1:$journeys_port" --wait=60s >/dev/null
}
start_journeys
load() {
  "$build_dir/bench/journeys_analytics_load" --target="127.0.0.1:$journeys_port" \
    --admin_token="$admin_token" --manager_token="$manager_token" --journey="$journey" \
    --region="$region" --pg_dsn="$dsn" "$@"
}
echo
echo "== the dealer journey $journey; regional manager $manager_id (territory: $region)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows here)"
load --concurrency=1,16 --duration="${seconds}s" | tee "$dir/load.txt"

echo
echo "== aggregate rows of the dealer journey by detail (0 tenant, 1 region and level, 2 owner)" \
  "and period, in all and in $region"
pg -F ' ' -c "
  SELECT 'stage_stats', detail, CASE WHEN months THEN 'months' ELSE 'days' END, count(*),
    count(*) FILTER (WHERE region = '$region') FROM journeys.stage_stats
    WHERE journey_id = '$journey' GROUP BY detail, months
  UNION ALL SELECT 'stage_current', detail, CASE WHEN months THEN 'months' ELSE 'days' END,
    count(*), count(*) FILTER (WHERE region = '$region') FROM journeys.stage_current
    WHERE journey_id = '$journey' GROUP BY detail, months ORDER BY 1, 2, 3" |
  awk '{printf "  %-14s detail %s %-7s %9d %9d\n", $1, $2, $3, $4, $5}'

echo
echo "== the statements of one GetStageAnalytics per caller as PostgreSQL ran them (auto_explain" \
  "on a restarted service; plans of statements over 5 ms in $dir/explain.log)"
kill "$journeys_pid"; wait "$journeys_pid" 2>/dev/null || true
pg -c "LOAD 'auto_explain'" -c "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'" \
  -c "ALTER SYSTEM SET auto_explain.log_min_duration = '5ms'" \
  -c "ALTER SYSTEM SET auto_explain.log_analyze = on" \
  -c "ALTER SYSTEM SET auto_explain.log_buffers = on" -c "SELECT pg_reload_conf()" >/dev/null
log_from=$(wc -l <"$dir/pg.log")
start_journeys
load --check_only >/dev/null
kill "$journeys_pid"; wait "$journeys_pid" 2>/dev/null || true
pg -c "LOAD 'auto_explain'" -c "ALTER SYSTEM RESET session_preload_libraries" \
  -c "ALTER SYSTEM RESET auto_explain.log_min_duration" \
  -c "ALTER SYSTEM RESET auto_explain.log_analyze" -c "ALTER SYSTEM RESET auto_explain.log_buffers" \
  -c "SELECT pg_reload_conf()" >/dev/null
tail -n +"$((log_from + 1))" "$dir/pg.log" |
  awk '/duration: .* plan:/ {p = 1; print; next} p && /^\t/ {print; next} {p = 0}' >"$dir/explain.log"
awk '/duration: .* plan:/ {d = $0; sub(/.*duration: /, "", d); sub(/ ms.*/, "", d)}
     /Query Text:/ {q = $0; sub(/.*Query Text: /, "", q); printf "  %9.1f ms  %.110s\n", d, q}' \
  "$dir/explain.log"

echo
echo "== a late touchpoint re-deriving a path of 1,000 visits (in-process, schema journeys_rederive)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build_dir/bench/journeys_rederive_bench" --pg_dsn="$dsn" --history=1000 --repetitions=200 |
  tee "$dir/rederive.txt"
