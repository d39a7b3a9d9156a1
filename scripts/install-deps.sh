#!/usr/bin/env bash
# Installs every Debian package the build, the local run, the tests and the benchmarks need.
# Idempotent: packages already present are left alone. Needs root (or sudo) and apt.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  golang-github-gogo-googleapis-dev
  libabsl-dev libpqxx-dev libpq-dev libhiredis-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libphonenumber-dev libicu-dev libsodium-dev prometheus-cpp-dev nlohmann-json3-dev
  libcpp-jwt-dev libssl-dev openssl libcpp-httplib-dev libtcmalloc-minimal4
  libboost-dev libmicrohttpd-dev libcurl4-openssl-dev libcsv-dev tzdata
  postgresql-15 postgresql-client-15 redis-server redis-tools
  util-linux procps wrk curl jq
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js and npm run buf; an image that ships its own Node keeps it (Debian's npm would conflict).
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# buf (proto lint) is an npm package with the binary inside; pinned in tools/package.json.
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$root/tools/node_modules/.bin/buf" ]; then
  echo "install-deps: installing buf (npm)"
  (cd "$root/tools" && npm install --no-package-lock --no-audit --no-fund --silent)
fi
