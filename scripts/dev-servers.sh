#!/usr/bin/env bash
# Starts (or reuses) a developer PostgreSQL and Redis under .data/dev and prints the
# environment that tests and services read. Usage: eval "$(scripts/dev-servers.sh)"
#   scripts/dev-servers.sh stop    stops them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib/servers.sh"
dir=$root/.data/dev
if [ "${1:-}" = stop ]; then tl_pg_stop "$dir"; tl_redis_stop "$dir"; exit 0; fi
pg_port=$(tl_pg_start "$dir")
tl_pg_createdb "$pg_port" touchline
redis_port=$(tl_redis_start "$dir")
echo "export TOUCHLINE_PG_DSN='host=127.0.0.1 port=$pg_port user=touchline dbname=touchline'"
echo "export TOUCHLINE_REDIS_ADDR=127.0.0.1:$redis_port"
