#!/usr/bin/env bash
# Installs the Debian 12 packages mpic needs to build, run and test (idempotent; run as root).
# Used by the README's two commands; CI machines start bare. Extra package names given as
# arguments are installed the same way (bench/install-deps.sh passes the benchmark tools).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  build-essential cmake pkg-config clang libclang-rt-14-dev valgrind
  libevent-dev libhiredis-dev libc-ares-dev libcurl4-openssl-dev libssl-dev libmsgpack-dev
  libjansson-dev libidn2-dev libpsl-dev publicsuffix libcmocka-dev libjemalloc-dev
  redis-server redis-tools pebble knot knot-dnsutils unbound iproute2 curl ca-certificates
  python3 python3-pytest python3-redis python3-msgpack python3-dnslib python3-cryptography
  prometheus python3-prometheus-client systemd
  "$@"
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
