#!/usr/bin/env bash
# Runs the gateway benchmark in one go, on private servers under .data/bench-gateway:
#   1. the suite (permissions, contacts, touchpoints) and the gateway in front of it, with
#      the tenant's gateway service key (so 360 views are cached);
#   2. gateway_load over gRPC: the gateway's own health Check (the baseline), GetCustomer360
#      cache hits (100 hot customers with 20 touchpoints each) and cache misses (cold
#      customers, each read once), at 16 and 64 in flight, as a partner user the customers are
#      shared with; then the hits again as the rep who owns them, whose every read is audited;
#      before each row every consumer of the event streams has caught up;
#   3. wrk on the HTTP route GET /v1/customers/{id}/360 as the partner over the same hot
#      customers, at 16, 64 and 1,000 keep-alive connections, beside gRPC hits at 1,000 in
#      flight, to compare with the gRPC hit rows of step 2;
#   4. the 64-connection HTTP row again while 2,000 idle connections and 500 clients that
#      never finish their request head are held open on the HTTP front.
# Usage: bench/run_gateway_bench.sh [seconds per row, default 10]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source "$root/scripts/lib/servers.sh"
source "$root/scripts/lib/suite.sh"
seconds=${1:-10}
build_dir=${BUILD_DIR:-$root/build}
dir=$root/.data/bench-gateway
tenant=bench
admin_password="bench admin password 0001"
rep_password="bench rep password 0001"
partner_password="bench partner password 0001"

tl_bench_prepare "$build_dir" "$dir" touchline-permissions touchline-login touchline-contacts \
  touchline-touchpoints touchline-gateway touchline-health enforcement_setup gateway_load
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  tl_stop_permissions "$dir"; tl_redis_stop "$dir"; tl_pg_stop "$dir"
}
trap cleanup EXIT
tl_make_keys "$dir/keys"
tl_bootstrap "$build_dir" "$dir/keys" "$tenant" "$admin_password" "$dir/permissions.log" \
  --bootstrap_gateway_key_file="$dir/keys/gateway.keys"

# start BINARY PORT FLAGS...: starts a service and waits until it is healthy.
start() {
  local binary=$1 port=$2
  shift 2
  "$binary" --listen_address="127.0.0.1:$port" --metrics_address= "$@" \
    2>>"$dir/$(basename "$binary").log" &
  pids+=($!)
  "$build_dir/common/server/touchline-health" "127.0.0.1:$port" --wait=30s >/dev/null
}
permissions=$(tl_start_permissions "$build_dir" "$dir" "$tenant" "$admin_password")
client_flags=(--jwt_public_key_file="$dir/keys/jwt.pub" --permissions_addr="$permissions"
  --edge_secret_file="$dir/keys/edge.secret")
contacts_port=$(tl_free_port)
start "$build_dir/services/contacts/touchline-contacts" "$contacts_port" "${client_flags[@]}"
touchpoints_port=$(tl_free_port)
start "$build_dir/services/touchpoints/touchline-touchpoints" "$touchpoints_port" \
  "${client_flags[@]}" --contacts_addr="127.0.0.1:$contacts_port"
gateway_port=$(tl_free_port)
http_port=$(tl_free_port)
start "$build_dir/gateway/touchline-gateway" "$gateway_port" "${client_flags[@]}" \
  --contacts_addr="127.0.0.1:$contacts_port" --touchpoints_addr="127.0.0.1:$touchpoints_port" \
  --http_address="127.0.0.1:$http_port" --service_api_keys_file="$dir/keys/gateway.keys"

admin_token=$(tl_token "$build_dir" "$permissions" "$tenant" admin "$admin_password")
rep_id=$(TOUCHLINE_ADMIN_TOKEN=$admin_token TOUCHLINE_PASSWORD=$rep_password \
  "$build_dir/bench/enforcement_setup" --target="$permissions")
rep_token=$(tl_token "$build_dir" "$permissions" "$tenant" bench_rep "$rep_password")
# A partner user, as portals have: customers are shared with its organisation, and phones and
# emails come back masked (so, unlike the rep's, its reads add nothing to the audit log).
gw="http://127.0.0.1:$http_port"
curl -sf "$gw/v1/partnerOrganizations" -H "Authorization: Bearer $admin_token" \
  -d '{"partnerOrganization":{"partnerOrgId":"dealer-1","displayName":"华北经销商一号"}}' >/dev/null
curl -sf "$gw/v1/users" -H "Authorization: Bearer $admin_token" \
  -d "{\"user\":{\"username\":\"bench_partner\",\"displayName\":\"渠道伙伴\",\"roleId\":\"partner\",
       \"partnerOrgId\":\"dealer-1\"},\"password\":\"$partner_password\"}" >/dev/null
partner_token=$(tl_token "$build_dir" "$permissions" "$tenant" bench_partner "$partner_password")

load_flags=(--target="127.0.0.1:$gateway_port" --seed_token="$rep_token" --owner_id="$rep_id"
            --redis_addr="$TOUCHLINE_REDIS_ADDR" --duration="${seconds}s" --concurrency=16,64)
echo "== 1. GetCustomer360 over gRPC through the gateway ($(nproc) cores), ${seconds}s per row"
echo "-- as a partner user (the customers shared with its organisation)"
"$build_dir/bench/gateway_load" "${load_flags[@]}" --token="$partner_token" \
  --share_token="$admin_token" --share_partner_org=dealer-1 --label="partner " \
  --ids_file="$dir/hot_ids"
echo "-- as the rep who owns them (phones in clear: every read is audited)"
"$build_dir/bench/gateway_load" "${load_flags[@]}" --token="$rep_token" --cold=0 --rpcs=hit \
  --label="rep "

# http_row CONNECTIONS: wrk on the HTTP 360 route as the partner over the hot customers.
http_row() {
  echo "-- $1 connections, ${seconds}s"
  IDS_FILE="$dir/hot_ids" TOKEN="$partner_token" wrk -t2 -c"$1" -d"${seconds}s" --timeout 10s \
    --latency -s "$root/bench/wrk_360.lua" "$gw" | grep -E "Requests/sec|50%|90%|99%|non-2xx"
}
# wrk at 1,000 connections and the held-open row need more descriptors than the usual 1,024.
ulimit -n "$(ulimit -Hn)"

echo
echo "== 2. GET /v1/customers/{id}/360 over HTTP as the partner (wrk, the same hot customers)"
for connections in 16 64 1000; do http_row "$connections"; done
echo "-- gRPC hits as the partner at 1,000 in flight (the HTTP row's baseline)"
"$build_dir/bench/gateway_load" "${load_flags[@]}" --token="$partner_token" --cold=0 \
  --share_token="$admin_token" --share_partner_org=dealer-1 --rpcs=hit --concurrency=1000 \
  --label="partner "

echo
echo "== 3. The 64-connection HTTP row while 2,000 idle and 500 slow connections are held open"
python3 - "$http_port" >"$dir/held.log" 2>&1 <<'PY' &
import select, socket, sys, time
port = int(sys.argv[1])
def begin():  # a request whose head never ends
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return s
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2000)]
slow = [begin() for _ in range(500)]
print("holding", len(idle), "idle and", len(slow), "slow", flush=True)
while True:  # one more header line a second; cut ones (at the head deadline) come back
    time.sleep(1)
    poller = select.poll()  # not select(): these descriptors are above 1024
    for s in slow:
        poller.register(s, select.POLLIN)
    cut = {fd for fd, _ in poller.poll(0)}
    for i, s in enumerate(slow):
        try:
            if s.fileno() in cut:
                raise ConnectionResetError
            s.send(b"X-Slow: still here\r\n")
        except OSError:
            s.close()
            slow[i] = begin()
PY
holder=$!
pids+=("$holder")
for _ in $(seq 100); do grep -q holding "$dir/held.log" && break; sleep 0.1; done
cat "$dir/held.log"
gateway_pid=$(pgrep -f "touchline-gateway --listen_address=127.0.0.1:$gateway_port" | head -1)
(sleep $((seconds / 2)); echo "-- the gateway mid-row: $(ls /proc/"$gateway_pid"/fd | wc -l)" \
  "descriptors, $(ls /proc/"$gateway_pid"/task | wc -l) threads") &
http_row 64
wait $!
kill "$holder" 2>/dev/null || echo "the holder of the connections had stopped"
