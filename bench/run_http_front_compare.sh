#!/usr/bin/env bash
# Issue 12 item 1: the HTTP front's event-loop candidates measured on this box, same work,
# same run. For each server in turn (bench/http_front_compare.cc, 2 threads, request deadline
# 10 s, keep-alive idle timeout 60 s) on loopback:
#   1. wrk keep-alive at 64 and at 1,000 connections: requests/s, p50, p99;
#   2. held-open connections: 2,000 idle keep-alive connections (each made one request, then
#      stays silent) and 500 slow clients (a header line every 3 s, never ending the head; one
#      the server cuts is reopened), then wrk at 64 connections as the normal client, with the
#      server's RSS, threads and descriptors while it holds them;
#   3. how long the server keeps a client that never finishes its head: silent after connect,
#      silent after a partial head, trickling a header line every 3 s; and an idle
#      keep-alive connection after one request.
# Servers: beast (one io_context run by both threads, a strand per connection), beast-pt (an
# io_context and SO_REUSEPORT acceptor per thread), mhd (libmicrohttpd epoll, pool of 2).
# Usage: bench/run_http_front_compare.sh [seconds per wrk row, default 10]
#   SERVERS="beast mhd" to choose; PROBE_CAP=30 and IDLE_CAP=75 bound step 3 (seconds).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib/servers.sh"
seconds=${1:-10}
build_dir=${BUILD_DIR:-$root/build}
servers=${SERVERS:-beast beast-pt mhd}
threads=2 idle_conns=2000 slow_conns=500
probe_cap=${PROBE_CAP:-30} idle_cap=${IDLE_CAP:-75}
dir=$root/.data/bench-http-front
mkdir -p "$dir"
bin=$build_dir/bench/http_front_compare
(cd "$root" && flock /tmp/tl-build.lock cmake --build "$build_dir" --target http_front_compare \
  >/dev/null)

# Descriptors: the server holds ~3,500 sockets, the holder 2,500, wrk 1,000.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "open files limit: $(ulimit -n) (asked 65536; hard limit $(ulimit -Hn))"
if [ "$(ulimit -n)" -lt 8192 ]; then echo "need at least 8192 descriptors" >&2; exit 1; fi

cat >"$dir/clients.py" <<'EOF'
# hold PORT IDLE SLOW READY_FILE STATS_FILE | probe PORT CAP IDLE_CAP
import json, random, selectors, signal, socket, sys, time
HEAD = b"GET /v1/customers/7/360 HTTP/1.1\r\nHost: 127.0.0.1\r\n"

def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setblocking(True)
    return s

def one_request(s):  # a full keep-alive request; reads the whole answer
    s.sendall(HEAD + b"\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk: raise ConnectionError("closed")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk: raise ConnectionError("closed")
        body += chunk

def closed(s):  # the server closed (or reset) it
    try:
        return s.recv(65536) == b""
    except (ConnectionError, BlockingIOError, OSError) as e:
        return not isinstance(e, BlockingIOError)

def hold(port, n_idle, n_slow, ready_file, stats_file):
    sel, stats = selectors.DefaultSelector(), dict(idle_reopened=0, slow_reopened=0, errors=0)
    due = {}  # slow socket -> next header line time
    def open_one(kind):
        try:
            s = connect(port)
            if kind == "idle": one_request(s)
            else:
                s.sendall(HEAD)
                due[s] = time.monotonic() + random.uniform(0, 3)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, kind)
        except OSError:
            stats["errors"] += 1
    for _ in range(n_idle): open_one("idle")
    for _ in range(n_slow): open_one("slow")
    open(ready_file, "w").write("ready\n")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    line = 0
    while not stop:
        for key, _ in sel.select(timeout=0.1):
            s, kind = key.fileobj, key.data
            if closed(s):
                sel.unregister(s); s.close(); due.pop(s, None)
                stats[kind + "_reopened"] += 1
                open_one(kind)
        now = time.monotonic()
        for s, t in list(due.items()):
            if t <= now:
                line += 1
                try: s.send(b"X-Slow-%d: still coming\r\n" % line)
                except OSError: pass
                due[s] = now + 3
    kinds = [k.data for k in sel.get_map().values()]
    stats.update(idle_open=kinds.count("idle"), slow_open=kinds.count("slow"))
    json.dump(stats, open(stats_file, "w"))

def probe(port, cap, idle_cap):
    start, sel, result = time.monotonic(), selectors.DefaultSelector(), {}
    trickle = []
    for kind in ("silent", "partial", "trickle", "idle"):
        s = connect(port)
        if kind in ("partial", "trickle"): s.sendall(HEAD)
        if kind == "trickle": trickle.append(s)
        if kind == "idle": one_request(s)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, (kind, time.monotonic()))
    next_line = time.monotonic() + 3
    while sel.get_map() and time.monotonic() - start < max(cap, idle_cap):
        for key, _ in sel.select(timeout=0.1):
            kind, t0 = key.data
            if closed(key.fileobj):
                result[kind] = "%.1fs" % (time.monotonic() - t0)
                sel.unregister(key.fileobj)
        now = time.monotonic()
        for key in list(sel.get_map().values()):
            kind, t0 = key.data
            if now - t0 > (idle_cap if kind == "idle" else cap):
                result[kind] = ">%ds open" % (idle_cap if kind == "idle" else cap)
                sel.unregister(key.fileobj)
        if now >= next_line:
            for s in trickle:
                try: s.send(b"X-Trickle: still coming\r\n")
                except OSError: pass
            next_line = now + 3
    print("cut: silent after connect %s, partial head %s, head trickled every 3 s %s; "
          "idle keep-alive %s"
          % tuple(result.get(k, "?") for k in ("silent", "partial", "trickle", "idle")))

a = sys.argv
if a[1] == "hold": hold(int(a[2]), int(a[3]), int(a[4]), a[5], a[6])
else: probe(int(a[2]), int(a[3]), int(a[4]))
EOF

pid=
holder=
cleanup() {
  [ -n "$holder" ] && kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  return 0
}
trap cleanup EXIT

# ms VALUE: wrk's "388.00us", "1.71ms" or "1.02s" in milliseconds.
ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000;
    else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'
}
# row CONNS LABEL: a wrk row against the current server; sets p99 to its p99 in ms.
row() {
  local out rps p50 errors
  out=$(wrk -t2 -c"$1" -d"${seconds}s" --latency "http://127.0.0.1:$port/v1/customers/42/360")
  echo "$out" >>"$dir/wrk.log"
  rps=$(echo "$out" | awk '/^Requests\/sec/ { printf "%.0f", $2 }')
  p50=$(ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
  p99=$(ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
  errors=$(echo "$out" | awk '/Socket errors|Non-2xx/ { sub(/^ +/, ""); printf "%s; ", $0 }')
  printf "  %-34s %9s req/s  p50 %7s ms  p99 %7s ms  %s\n" "$2" "$rps" "$p50" "$p99" \
    "${errors:-no errors}"
}
# usage: RSS, threads and descriptors of the server now.
usage() {
  printf "%s MB RSS, %s threads, %s fds" \
    "$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")" \
    "$(awk '/Threads/ { print $2 }' "/proc/$pid/status")" "$(ls "/proc/$pid/fd" | wc -l)"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores); rows of ${seconds}s"
for server in $servers; do
  case $server in
    beast) flags=(--server=beast --beast_loops=shared) ;;
    beast-pt) flags=(--server=beast --beast_loops=per_thread) ;;
    mhd) flags=(--server=mhd) ;;
    *) echo "unknown server $server" >&2; exit 2 ;;
  esac
  port=$(tl_free_port)
  "$bin" "${flags[@]}" --port="$port" --threads=$threads --head_timeout_s=10 \
    --idle_timeout_s=60 2>>"$dir/server.log" &
  pid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  echo "== $server (${flags[*]}, $threads threads), load $(cut -d' ' -f1 /proc/loadavg);" \
    "at rest: $(usage)"
  row 64 "64 conns"
  p99_base=$p99
  row 1000 "1000 conns"
  rm -f "$dir/ready" "$dir/stats.json"
  python3 "$dir/clients.py" hold "$port" $idle_conns $slow_conns "$dir/ready" "$dir/stats.json" &
  holder=$!
  for _ in $(seq 600); do [ -f "$dir/ready" ] && break; sleep 0.1; done
  [ -f "$dir/ready" ] || { echo "held-open clients not ready in 60 s" >&2; exit 1; }
  held_before=$(usage)
  row 64 "64 conns + $idle_conns idle + $slow_conns slow"
  held_after=$(usage)
  kill "$holder"; wait "$holder" || true; holder=
  echo "  p99 with held-open connections vs 64 conns alone: $(awk -v a="$p99" -v b="$p99_base" \
    'BEGIN { printf "%+.0f%%", (a / b - 1) * 100 }') (target < +20%)"
  echo "  holding them: $held_before before the row, $held_after after;" \
    "clients $(cat "$dir/stats.json")"
  echo "  $(python3 "$dir/clients.py" probe "$port" "$probe_cap" "$idle_cap")"
  kill "$pid"; wait "$pid" || true; pid=
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
