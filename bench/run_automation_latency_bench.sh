#!/usr/bin/env bash
# The automation latency benchmark (issue 15), on private servers under
# .data/bench-automation: permissions, contacts, touchpoints and automation, the last with
# --webhook_allow_private_addresses (its webhooks go to a receiver on loopback). Then
# automation_latency creates the customers through contacts, a webhook endpoint (its own
# receiver) and a published rule (touchpoint_recorded -> create_task for the owner titled
# with the touchpoint's summary, then a webhook carrying it), and records touchpoints open loop
# at RATE per second for SECONDS, each with a summary of its own. It prints, from each
# RecordTouchpoint call's start, the p50/p99/max of the task's create_time and of the
# webhook's receipt (target p99 < 1 s), the automation service's health Check beside the load
# (the baseline), and the counts: one task and one webhook id per touchpoint, no more.
# Usage: bench/run_automation_latency_bench.sh [SECONDS, default 120] [RATE, default 167]
# (10,000 triggers a minute for 2 minutes; a smoke run: 20 50). SKIP_BUILD=1 uses the binaries
# as built (while other work in the checkout does not build, say); BUILD_DIR (default build/).
# PROFILE=1 also loads pg_stat_statements and prints, after the run, the statements of every
# service that took the most time in PostgreSQL, with their buffers per call (the setup and
# this program's own final read of the tasks included). AUTOMATION_FLAGS: more flags for the
# automation service (say --engine_workers=4).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source "$root/scripts/lib/servers.sh"
source "$root/scripts/lib/suite.sh"
seconds=${1:-120}
rate=${2:-167}
build_dir=${BUILD_DIR:-$root/build}
dir=$root/.data/bench-automation
tenant=bench
admin_password="bench admin password 0001"

targets=(touchline-permissions touchline-login touchline-contacts touchline-touchpoints
  touchline-automation touchline-health automation_latency)
# Ninja's "help" target lists the targets and builds nothing.
if [ "${SKIP_BUILD:-0}" = 1 ]; then targets=(help); fi
if [ "${PROFILE:-0}" = 1 ]; then
  export TL_PG_OPTIONS="${TL_PG_OPTIONS:-} -c shared_preload_libraries=pg_stat_statements"
fi
tl_bench_prepare "$build_dir" "$dir" "${targets[@]}"
if [ "${PROFILE:-0}" = 1 ]; then
  psql "$TOUCHLINE_PG_DSN" -qAtX -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
fi
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  tl_stop_permissions "$dir"; tl_redis_stop "$dir"; tl_pg_stop "$dir"
}
trap cleanup EXIT

permissions=$(tl_start_permissions "$build_dir" "$dir" "$tenant" "$admin_password")
token=$(tl_token "$build_dir" "$permissions" "$tenant" admin "$admin_password")
# The key webhook secrets are sealed with at rest.
(umask 077 && openssl rand 32 >"$dir/keys/webhook.key")
client_flags=(--jwt_public_key_file="$dir/keys/jwt.pub" --permissions_addr="$permissions"
  --edge_secret_file="$dir/keys/edge.secret")
# start NAME PORT FLAGS...: starts a service and waits until it is healthy.
start() {
  local name=$1 port=$2
  shift 2
  "$build_dir/services/$name/touchline-$name" --listen_address="127.0.0.1:$port" \
    --metrics_address= "${client_flags[@]}" "$@" 2>>"$dir/$name.log" &
  pids+=($!)
  "$build_dir/common/server/touchline-health" "127.0.0.1:$port" --wait=60s >/dev/null
}
contacts_port=$(tl_free_port)
start contacts "$contacts_port"
touchpoints_port=$(tl_free_port)
start touchpoints "$touchpoints_port" --contacts_addr="127.0.0.1:$contacts_port"
automation_port=$(tl_free_port)
start automation "$automation_port" --contacts_addr="127.0.0.1:$contacts_port" \
  --webhook_secret_key_file="$dir/keys/webhook.key" --webhook_allow_private_addresses \
  ${AUTOMATION_FLAGS:-}

echo "== $(nproc) cores shared by the load, the receiver, contacts, touchpoints, automation," \
  "permissions, PostgreSQL and Redis (load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "== ${rate} touchpoints/s for ${seconds}s, each one a run of the rule: a task, then a webhook"
status=0
"$build_dir/bench/automation_latency" --contacts="127.0.0.1:$contacts_port" \
  --touchpoints="127.0.0.1:$touchpoints_port" --automation="127.0.0.1:$automation_port" \
  --tenant="$tenant" --token="$token" --pg_dsn="$TOUCHLINE_PG_DSN" --rate="$rate" \
  --duration="${seconds}s" || status=$?
echo "-- the engine's jobs afterwards (kind, state, count, most claims of one; dead: last error)"
psql "$TOUCHLINE_PG_DSN" -qAtX -F ' ' -c "
  SELECT kind, state, count(*), max(attempts),
         CASE WHEN state = 'dead' THEN min(last_error) ELSE '' END
  FROM automation.jobs GROUP BY 1, 2 ORDER BY 1, 2" | sed 's/^/  /'
if [ "${PROFILE:-0}" = 1 ]; then
  echo "-- statements by total time in PostgreSQL (ms, calls, ms a call, buffers a call)"
  psql "$TOUCHLINE_PG_DSN" -qAtX -F ' | ' -c "
    SELECT round(total_exec_time::numeric, 0), calls,
           round((total_exec_time / calls)::numeric, 3),
           round((shared_blks_hit + shared_blks_read)::numeric / calls, 1),
           left(regexp_replace(query, '\s+', ' ', 'g'), 150)
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25" | sed 's/^/  /'
  psql "$TOUCHLINE_PG_DSN" -qAtX -F ' | ' -c "
    SELECT 'all statements', round(sum(total_exec_time)::numeric, 0), sum(calls),
           sum(shared_blks_hit + shared_blks_read)
    FROM pg_stat_statements" | sed 's/^/  /'
fi
echo "== load average at the end $(cut -d' ' -f1-3 /proc/loadavg); service logs in $dir"
exit "$status"
