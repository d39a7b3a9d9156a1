# Starting the permissions service and getting tokens, for scripts/touchline and the
# benchmarks. Sourced after servers.sh. Needs TOUCHLINE_PG_DSN and TOUCHLINE_REDIS_ADDR set.

# tl_make_keys DIR: the RSA key pair that signs and verifies access tokens (DIR/jwt.key,
# DIR/jwt.pub) and the secret every process shares (DIR/edge.secret, for --edge_secret_file:
# the gateway signs client addresses with it, the services their calls to contacts' customer
# feed), each made once.
tl_make_keys() {
  local dir=$1
  mkdir -p "$dir"
  if [ ! -f "$dir/edge.secret" ]; then
    (umask 077 && openssl rand -hex 32 >"$dir/edge.secret")
  fi
  [ -f "$dir/jwt.key" ] && [ -f "$dir/jwt.pub" ] && return 0
  (umask 077 && openssl genrsa -out "$dir/jwt.key" 2048 2>/dev/null)
  openssl rsa -in "$dir/jwt.key" -pubout -out "$dir/jwt.pub" 2>/dev/null
}

# tl_bootstrap BUILD_DIR KEYS_DIR TENANT PASSWORD LOG [permissions flags...]: creates the
# tenant's five conventional roles and its administrator "admin" with PASSWORD if absent.
tl_bootstrap() {
  local build_dir=$1 keys=$2 tenant=$3 password=$4 log=$5
  shift 5
  TOUCHLINE_BOOTSTRAP_PASSWORD=$password \
    "$build_dir/services/permissions/touchline-permissions" \
    --jwt_private_key_file="$keys/jwt.key" --jwt_public_key_file="$keys/jwt.pub" \
    --bootstrap_tenant="$tenant" --bootstrap_admin=admin "$@" >>"$log" 2>&1
}

# tl_token BUILD_DIR PERMISSIONS_ADDR TENANT USERNAME PASSWORD: prints an access token.
tl_token() {
  TOUCHLINE_PASSWORD=$5 "$1/services/permissions/touchline-login" --target="$2" --tenant="$3" \
    --username="$4" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# tl_start_permissions BUILD_DIR DIR TENANT PASSWORD: keys under DIR/keys, TENANT
# bootstrapped with administrator "admin" / PASSWORD, and touchline-permissions started in the
# background (pid in DIR/permissions.pid, log in DIR/permissions.log). Prints its address
# once it is healthy; fails if it does not become healthy.
tl_start_permissions() {
  local build_dir=$1 dir=$2 tenant=$3 password=$4 port
  tl_make_keys "$dir/keys"
  tl_bootstrap "$build_dir" "$dir/keys" "$tenant" "$password" "$dir/permissions.log"
  port=$(tl_free_port)
  "$build_dir/services/permissions/touchline-permissions" --listen_address="127.0.0.1:$port" \
    --metrics_address= --jwt_private_key_file="$dir/keys/jwt.key" \
    --jwt_public_key_file="$dir/keys/jwt.pub" --edge_secret_file="$dir/keys/edge.secret" \
    >>"$dir/permissions.log" 2>&1 &
  echo $! >"$dir/permissions.pid"
  "$build_dir/common/server/touchline-health" "127.0.0.1:$port" --wait=30s >/dev/null || return 1
  echo "127.0.0.1:$port"
}

# tl_stop_permissions DIR: stops what tl_start_permissions started.
tl_stop_permissions() {
  local pidfile=$1/permissions.pid
  [ -f "$pidfile" ] || return 0
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}

# tl_bench_prepare BUILD_DIR DIR TARGET...: for a benchmark runner. Installs what is missing,
# builds TARGETs, then starts a fresh private PostgreSQL (database touchline) and Redis under
# DIR (whatever was there is removed) and exports TOUCHLINE_PG_DSN and TOUCHLINE_REDIS_ADDR.
# Must not run in a subshell: the exports are for the caller.
tl_bench_prepare() {
  local build_dir=$1 dir=$2 root pg_port redis_port
  shift 2
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  "$root/scripts/install-deps.sh"
  [ -f "$build_dir/build.ninja" ] ||
    cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j "$(nproc)" --target "$@" >/dev/null
  tl_pg_stop "$dir"; tl_redis_stop "$dir"; rm -rf "$dir"
  mkdir -p "$dir"
  pg_port=$(tl_pg_start "$dir")
  tl_pg_createdb "$pg_port" touchline
  redis_port=$(tl_redis_start "$dir")
  export TOUCHLINE_PG_DSN="host=127.0.0.1 port=$pg_port user=touchline dbname=touchline"
  export TOUCHLINE_REDIS_ADDR="127.0.0.1:$redis_port"
}
