#!/usr/bin/env bash
# Runs the enforcement benchmark in one go, on private servers under .data/bench-enforcement:
#   1. enforcement_micro: what common/auth adds to one request with token and scope cached
#      (authenticate, redact a customer, build the SQL row filter) for a rep and a partner,
#      next to the metadata-only path from before enforcement;
#   2. the suite (permissions, contacts, touchpoints) running; GetCustomer through
#      contacts_load and the hot customer's timeline (ListTouchpoints, 10,000 touchpoints)
#      through touchpoints_load, each as the administrator (scope: every customer, no field
#      rules, so no row filter and nothing to redact) and as a rep (row filter over owners and
#      shares in SQL, a hidden and a read-only field), with the gRPC health Check of the same
#      service as baseline, at 1 and 16 in flight.
# Usage: bench/run_enforcement_bench.sh [seconds per row, default 10]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source "$root/scripts/lib/servers.sh"
source "$root/scripts/lib/suite.sh"
seconds=${1:-10}
build_dir=${BUILD_DIR:-$root/build}
dir=$root/.data/bench-enforcement
tenant=bench
admin_password="bench admin password 0001"
rep_password="bench rep password 0001"

tl_bench_prepare "$build_dir" "$dir" touchline-permissions touchline-login touchline-contacts \
  touchline-touchpoints touchline-health enforcement_micro enforcement_setup contacts_load \
  touchpoints_load touchpoints_gen
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  tl_stop_permissions "$dir"; tl_redis_stop "$dir"; tl_pg_stop "$dir"
}
trap cleanup EXIT
tl_make_keys "$dir/keys"

echo "== 1. enforcement per request, in process ($(nproc) cores)"
"$build_dir/bench/enforcement_micro" --private_key_file="$dir/keys/jwt.key" \
  --public_key_file="$dir/keys/jwt.pub" --iterations=200000

# start NAME PORT FLAGS...: starts a service and waits until it is healthy.
start() {
  local name=$1 port=$2
  shift 2
  "$build_dir/services/$name/touchline-$name" --listen_address="127.0.0.1:$port" \
    --metrics_address= "$@" 2>>"$dir/$name.log" &
  pids+=($!)
  "$build_dir/common/server/touchline-health" "127.0.0.1:$port" --wait=30s >/dev/null
}
permissions=$(tl_start_permissions "$build_dir" "$dir" "$tenant" "$admin_password")
client_flags=(--jwt_public_key_file="$dir/keys/jwt.pub" --permissions_addr="$permissions"
  --edge_secret_file="$dir/keys/edge.secret")
contacts_port=$(tl_free_port)
start contacts "$contacts_port" "${client_flags[@]}"
touchpoints_port=$(tl_free_port)
start touchpoints "$touchpoints_port" "${client_flags[@]}" \
  --contacts_addr="127.0.0.1:$contacts_port"

admin_token=$(tl_token "$build_dir" "$permissions" "$tenant" admin "$admin_password")
rep_id=$(TOUCHLINE_ADMIN_TOKEN=$admin_token TOUCHLINE_PASSWORD=$rep_password \
  "$build_dir/bench/enforcement_setup" --target="$permissions")
rep_token=$(tl_token "$build_dir" "$permissions" "$tenant" bench_rep "$rep_password")

# The hot customer (index 0) is the rep's, so both principals can read its timeline.
"$build_dir/bench/touchpoints_gen" --schema=touchpoints --tenant="$tenant" --customers=1000 \
  --touchpoints=100000 --hot_touchpoints=10000 --hot_owner_id="$rep_id" >"$dir/gen.log"

echo
echo "== 2. GetCustomer (contacts), ${seconds}s per row; rows as administrator, then as rep"
# Each creates its own 500 customers first, owned by the rep (whom the admin sees too).
for who in admin rep; do
  token_var=${who}_token
  echo "-- as $who"
  "$build_dir/bench/contacts_load" --target="127.0.0.1:$contacts_port" --tenant="$tenant" \
    --token="${!token_var}" --owner_id="$rep_id" --rpcs=GetCustomer --customers=500 \
    --duration="${seconds}s" --concurrency=1,16
done

echo
echo "== 3. ListTouchpoints, the hot customer's first page (touchpoints), ${seconds}s per row"
for who in admin rep; do
  token_var=${who}_token
  echo "-- as $who"
  "$build_dir/bench/touchpoints_load" --target="127.0.0.1:$touchpoints_port" --tenant="$tenant" \
    --token="${!token_var}" --customers=1000 --hot_customer=0 --rpcs=health,timeline \
    --duration="${seconds}s" --concurrency=1,16
done
