#!/usr/bin/env bash
# The automation engine benchmark, in-process on a private PostgreSQL under
# .data/bench-automation (no Redis: the programs call the engine's consumers directly):
#   1. automation_timers: --customers inactivity deadlines (default 1,000,000) with
#      --due_percent of them due, one published inactivity rule (after 1 day, create_task for
#      the owner; --action webhook for a webhook to a receiver on loopback): (a) FireInactivity
#      enqueueing the due deadlines, (b) --workers engine workers firing them end to end (runs
#      recorded, tasks made), (c) the re-arm cost of batches of 128 touchpoints through
#      Engine::ApplyTouchpoints against the follow-ups consumer and the touchpoints' own row
#      write on the same batches;
#   2. automation_webhooks_bench: --webhooks webhook actions (default 20,000) through the engine
#      against a plain loop of WebhookSender::Send on as many threads, to a receiver on
#      loopback answering 204, endpoint limit 1,000/s;
#   3. a summary table. PROFILE=1 also loads pg_stat_statements and prints, after each program,
#      the statements that took the most time in PostgreSQL.
# Usage: bench/run_automation_timers_bench.sh [--customers N] [--due_percent P] [--workers W]
#          [--action task|webhook] [--webhooks N] [--rearm_batches B]
#   SKIP_BUILD=1 uses the binaries as built; BUILD_DIR (default build/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source "$root/scripts/lib/servers.sh"
customers=1000000
due_percent=10
workers=16
action=task
webhooks=20000
rearm_batches=50
while [ $# -gt 0 ]; do
  case $1 in
    --customers=*) customers=${1#*=}; shift ;;
    --customers) customers=$2; shift 2 ;;
    --due_percent=*) due_percent=${1#*=}; shift ;;
    --due_percent) due_percent=$2; shift 2 ;;
    --workers=*) workers=${1#*=}; shift ;;
    --workers) workers=$2; shift 2 ;;
    --action=*) action=${1#*=}; shift ;;
    --action) action=$2; shift 2 ;;
    --webhooks=*) webhooks=${1#*=}; shift ;;
    --webhooks) webhooks=$2; shift 2 ;;
    --rearm_batches=*) rearm_batches=${1#*=}; shift ;;
    --rearm_batches) rearm_batches=$2; shift 2 ;;
    *) echo "usage: $0 [--customers N] [--due_percent P] [--workers W] [--action task|webhook]" \
         "[--webhooks N] [--rearm_batches B]" >&2; exit 2 ;;
  esac
done
build_dir=${BUILD_DIR:-$root/build}
dir=$root/.data/bench-automation

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  "$root/scripts/install-deps.sh"
  [ -f "$build_dir/build.ninja" ] ||
    cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j "$(nproc)" --target automation_timers automation_webhooks_bench \
    >/dev/null
fi
if [ "${PROFILE:-0}" = 1 ]; then
  export TL_PG_OPTIONS="${TL_PG_OPTIONS:-} -c shared_preload_libraries=pg_stat_statements"
fi
tl_pg_stop "$dir"; rm -rf "$dir"
mkdir -p "$dir"
pg_port=$(tl_pg_start "$dir")
tl_pg_createdb "$pg_port" touchline
dsn="host=127.0.0.1 port=$pg_port user=touchline dbname=touchline"
pg() { psql "$dsn" -v ON_ERROR_STOP=1 -qAtX "$@"; }
trap 'tl_pg_stop "$dir"' EXIT
# Loading 1M rows: fewer checkpoints. The server is private to the benchmark.
pg -c "ALTER SYSTEM SET max_wal_size = '8GB'" -c "SELECT pg_reload_conf()" >/dev/null
if [ "${PROFILE:-0}" = 1 ]; then pg -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"; fi

# profile NAME: the statements that took the most time since the last call (PROFILE=1).
profile() {
  [ "${PROFILE:-0}" = 1 ] || return 0
  echo "-- $1: statements by total time in PostgreSQL (ms, calls, ms a call)"
  pg -F ' | ' -c "SELECT round(total_exec_time::numeric, 0), calls,
      round((total_exec_time / calls)::numeric, 3), left(regexp_replace(query, '\s+', ' ', 'g'), 110)
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12" | sed 's/^/  /'
  pg -c "SELECT pg_stat_statements_reset()" >/dev/null
}

echo "== $(nproc) cores shared by the programs and PostgreSQL (and whatever else runs on the" \
  "machine); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== automation_timers: $customers deadlines, $due_percent% due, $workers workers, action $action"
if [ "${PROFILE:-0}" = 1 ]; then pg -c "SELECT pg_stat_statements_reset()" >/dev/null; fi
"$build_dir/bench/automation_timers" --pg_dsn="$dsn" --customers="$customers" \
  --due_percent="$due_percent" --workers="$workers" --action="$action" \
  --rearm_batches="$rearm_batches" | tee "$dir/timers.txt" | grep -v "^result "
profile automation_timers

echo
echo "== automation_webhooks_bench: $webhooks webhooks, $workers workers; load average before:" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
"$build_dir/bench/automation_webhooks_bench" --pg_dsn="$dsn" --webhooks="$webhooks" \
  --workers="$workers" | tee "$dir/webhooks.txt" | grep -v "^result "
profile automation_webhooks_bench

echo
echo "== summary (load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
cat "$dir/timers.txt" "$dir/webhooks.txt" | awk '
  $1 == "result" {v[$2] = $3}
  END {
    printf "  %-52s %s\n", "(a) FireInactivity, deadlines enqueued", v["fire_per_min"] "/min"
    printf "  %-52s %s\n", "(b) due timers fired end to end (target 60,000/min)", v["drain_per_min"] "/min"
    printf "  %-52s %s\n", "(c) re-arm per touchpoint (p50 of batches of 128)", v["rearm_us"] " us"
    printf "  %-52s %s\n", "    x the follow-ups consumer on the same batches", v["rearm_vs_follow_ups"]
    printf "  %-52s %s\n", "    x the touchpoint rows written (COPY)", v["rearm_vs_rows"]
    printf "  %-52s %s\n", "webhooks through the engine", v["engine_per_s"] "/s"
    printf "  %-52s %s\n", "plain WebhookSender::Send, as many threads", v["plain_per_s"] "/s"
    printf "  %-52s %s\n", "action jobs that waited for the 1,000/s limit", v["waited"]
  }'
