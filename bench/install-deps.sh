#!/usr/bin/env bash
# Installs what the benchmarks need on top of deploy/install-deps.sh (Debian 12, idempotent):
# the raw-limit tools (dnsperf, wrk), nginx-light (with the echo module: fast and slow HTTP-01
# targets), hyperfine and perf. Never needed by the test suite.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(dnsperf wrk nginx-light hyperfine linux-perf python3-redis)
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
