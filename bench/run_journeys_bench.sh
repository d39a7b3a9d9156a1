#!/usr/bin/env bash
# The journeys mapping benchmark, on private servers under .data/bench-journeys:
#   1. touchpoints_gen puts 10,000 customers (region 华东) in the touchpoints read model with
#      a few touchpoints each; journeys_seed puts the same customers in the journeys read model
#      with one published four-stage journey whose entry rule selects them all;
#   2. touchline-journeys starts and enters every customer (the entry pass): customers/s;
#   3. touchpoints_load records touchpoints of random customers (RecordTouchpoint, closed
#      loop) while the journeys service consumes the touchpoints stream, in four rows: recorded
#      as they happen at 16 and 64 in flight, with 10% synced late (each re-derives its
#      customer's path), and all from before the customers entered (all re-derive):
#      the rate RecordTouchpoint sustains is the baseline, and the journeys consumer must keep
#      up with it. Its backlog (the group's lag in entries, XINFO GROUPS, sampled every 100 ms)
#      is converted to time at the recording rate; after each row, how long it takes to drain.
# Usage: bench/run_journeys_bench.sh [seconds per row, default 20]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source "$root/scripts/lib/servers.sh"
source "$root/scripts/lib/suite.sh"
seconds=${1:-20}
build_dir=${BUILD_DIR:-$root/build}
dir=$root/.data/bench-journeys
customers=10000
admin_password="bench admin password 0001"

tl_bench_prepare "$build_dir" "$dir" touchline-permissions touchline-login touchline-touchpoints \
  touchline-journeys touchline-health touchpoints_gen touchpoints_load journeys_seed
dsn=$TOUCHLINE_PG_DSN
redis_port=${TOUCHLINE_REDIS_ADDR##*:}
pg() { psql "$dsn" -v ON_ERROR_STOP=1 -qAtX "$@"; }
rcli() { redis-cli -p "$redis_port" "$@"; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  tl_stop_permissions "$dir"; tl_redis_stop "$dir"; tl_pg_stop "$dir"
}
trap cleanup EXIT

echo "== $(nproc) cores shared by the load, touchpoints, journeys, permissions, PostgreSQL and Redis"
"$build_dir/bench/touchpoints_gen" --pg_dsn="$dsn" --customers="$customers" \
  --touchpoints=20000 --hot_touchpoints=2000 --jobs=2 --progress_every=600s >"$dir/gen.log"
pg -c "UPDATE touchpoints.customers SET region = '华东'"
journey=$("$build_dir/bench/journeys_seed" --pg_dsn="$dsn" --customers="$customers")

permissions=$(tl_start_permissions "$build_dir" "$dir" bench "$admin_password")
token=$(tl_token "$build_dir" "$permissions" bench admin "$admin_password")
# start NAME PORT FLAGS...: starts a service and waits until it is healthy. No contacts: the
# read models are seeded (their bootstrap passes fail and retry in the background, logged).
start() {
  local name=$1 port=$2
  shift 2
  "$build_dir/services/$name/touchline-$name" --listen_address="127.0.0.1:$port" \
    --metrics_address= --jwt_public_key_file="$dir/keys/jwt.pub" \
    --permissions_addr="$permissions" --edge_secret_file="$dir/keys/edge.secret" \
    --contacts_addr=127.0.0.1:1 "$@" 2>>"$dir/$name.log" &
  pids+=($!)
  "$build_dir/common/server/touchline-health" "127.0.0.1:$port" --wait=60s >/dev/null
}
touchpoints_port=$(tl_free_port)
start touchpoints "$touchpoints_port"
journeys_port=$(tl_free_port)
started=$(date +%s.%N)
start journeys "$journeys_port"
until [ "$(pg -c "SELECT count(*) FROM journeys.journey_entry_passes WHERE finish_time IS NOT NULL")" = 1 ]; do
  sleep 0.2
done
entered_in=$(echo "$(date +%s.%N) - $started" | bc)
members=$(pg -c "SELECT count(*) FROM journeys.journey_members")
echo
echo "== entry: $members customers entered journey $journey in ${entered_in}s" \
  "($(echo "$members / $entered_in" | bc) customers/s, including the service's start)"

stream="touchline:{touchpoints}:events"
# lag: the journeys group's backlog on the touchpoints stream, in entries.
lag() {
  rcli XINFO GROUPS "$stream" | awk 'prev == "name" {g = $0} prev == "lag" && g == "journeys" {print; exit} {prev = $0}'
}
# row INFLIGHT NAME LOAD_FLAGS...: one row of RecordTouchpoint at INFLIGHT calls in flight.
row() {
  local inflight=$1 name=$2
  shift 2
  local samples=$dir/lag.$name
  : >"$samples"
  ( while true; do lag >>"$samples"; sleep 0.1; done ) &
  local sampler=$!
  "$build_dir/bench/touchpoints_load" --target="127.0.0.1:$touchpoints_port" \
    --customers="$customers" --token="$token" --rpcs=record --concurrency="$inflight" \
    --duration="${seconds}s" "$@" | tee "$dir/record.$name"
  local stopped drained
  stopped=$(date +%s.%N)
  until [ "$(lag)" = 0 ]; do sleep 0.05; done
  drained=$(echo "$(date +%s.%N) - $stopped" | bc)
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  local rate
  rate=$(awk '$1 == "record" {print $3}' "$dir/record.$name")
  sort -n "$samples" | awk -v rate="$rate" -v drained="$drained" '
    {v[NR] = $1} END {
      p50 = v[int(NR * 0.5) + 1]; p99 = v[int(NR * 0.99) + 1]; max = v[NR]
      printf "journeys backlog while recording %.0f touchpoints/s: p50 %d, p99 %d, max %d entries", rate, p50, p99, max
      printf " = p99 %.2f s at that rate; drained %.2f s after the load stopped\n", p99 / rate, drained
    }'
}
echo
echo "== RecordTouchpoint (${seconds}s per row after 1s of warm-up) and the journeys consumer behind it"
# Touchpoints recorded as they happen (up to 2 s before), then with 10% synced late (up to 30
# days before: each re-derives its customer's path), then as the touchpoints benchmark sends
# them (1 to 10 minutes before: before every customer entered, so every one re-derives).
in_order=(--occurred_min_ago=0s --occurred_max_ago=2s)
echo "-- as they happen"
row 16 16 "${in_order[@]}"
row 64 64 "${in_order[@]}"
echo "-- 10% synced late"
row 16 16-late "${in_order[@]}" --late_percent=10
echo "-- all earlier than the customers' entry (every one re-derives)"
row 16 16-rederive
applied=$(pg -c "SELECT count(*) FROM journeys.applied_events WHERE consumer_group = 'journeys'")
facts=$(pg -c "SELECT count(*) FROM journeys.customer_facts")
visits=$(pg -c "SELECT count(*) FROM journeys.stage_visits")
echo
echo "== journeys applied $applied events (touchpoints and customers topics), keeps $facts facts and $visits visits"
pg -c "SELECT stage_id, count(*) FROM journeys.journey_members GROUP BY 1 ORDER BY 2 DESC" |
  sed 's/^/  now in /'
