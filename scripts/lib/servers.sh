# Private PostgreSQL 15 and Redis 7 servers under a data folder, on loopback at free ports.
# Sourced by scripts/touchline. Each start is idempotent: a server already running from the
# same folder is reused. Functions print nothing on success unless noted.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# Runs a command as the owner of the PostgreSQL files: postgres when we are root (PostgreSQL
# refuses to run as root), ourselves otherwise.
tl_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on or connects from.
tl_free_port() {
  # Below the kernel's ephemeral range: a port of the range may be the local end of a
  # connection (TIME_WAIT ones included), which nothing listens on but a bind still fails on.
  local port low=32768
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "$low" -gt 12000 ] || low=32768
  for _ in $(seq 1 200); do
    port=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

# tl_pg_start DIR: starts (or reuses) PostgreSQL with its cluster in DIR/pg; prints the port.
# TL_PG_OPTIONS: more server options (e.g. "-c shared_preload_libraries=pg_stat_statements"
# for a profile of a benchmark).
tl_pg_start() {
  local dir=$1 data=$1/pg port
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  if [ -f "$data/postmaster.pid" ] && tl_as_pg "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    cat "$dir/pg.port"
    return 0
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    tl_as_pg "$PG_BIN/initdb" -D "$data" -U touchline --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  fi
  for _ in 1 2 3 4 5; do
    port=$(tl_free_port) || return 1
    if tl_as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$dir/pg.log" -w -t 30 start -o \
      "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$data' \
       -c max_connections=200 -c shared_buffers=512MB -c fsync=on -c synchronous_commit=on \
       ${TL_PG_OPTIONS:-}" \
      >/dev/null 2>&1; then
      echo "$port" >"$dir/pg.port"
      echo "$port"
      return 0
    fi
  done
  echo "PostgreSQL did not start; see $dir/pg.log" >&2
  return 1
}

# tl_pg_createdb PORT NAME: creates a UTF-8 database if it does not exist.
tl_pg_createdb() {
  local port=$1 name=$2
  if ! psql -h 127.0.0.1 -p "$port" -U touchline -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U touchline -d postgres -qc \
      "CREATE DATABASE \"$name\" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0" >/dev/null
  fi
}

tl_pg_stop() {
  local data=$1/pg
  [ -f "$data/postmaster.pid" ] || return 0
  tl_as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

# tl_redis_start DIR: starts (or reuses) Redis with its files in DIR/redis; prints the port.
# Append-only file with fsync every second: streams (the event bus) survive a restart.
tl_redis_start() {
  local dir=$1 data=$1/redis port
  mkdir -p "$data"
  if [ -f "$data/redis.pid" ] && kill -0 "$(cat "$data/redis.pid")" 2>/dev/null; then
    cat "$dir/redis.port"
    return 0
  fi
  for _ in 1 2 3 4 5; do
    port=$(tl_free_port) || return 1
    rm -f "$data/redis.pid"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$data" --save '' \
      --appendonly yes --appendfsync everysec --daemonize yes \
      --pidfile "$data/redis.pid" --logfile "$data/redis.log" >/dev/null
    for _ in $(seq 1 50); do
      if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
        echo "$port" >"$dir/redis.port"
        echo "$port"
        return 0
      fi
      sleep 0.1
    done
  done
  echo "Redis did not start; see $data/redis.log" >&2
  return 1
}

tl_redis_stop() {
  local data=$1/redis
  [ -f "$data/redis.pid" ] || return 0
  local pid
  pid=$(cat "$data/redis.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$data/redis.pid"
}
