#!/usr/bin/env bash
# Installs what the benchmarks need on top of deploy/install-deps.sh (Debian 12, idempotent):
# the raw-limit tools (dnsperf, wrk), nginx-light (with the echo module: fast and slow HTTP-01
# targets; openssl makes the TLS target's certificate), hyperfine and perf. Never needed by the
# test suite.
set -euo pipefail
exec bash "$(dirname "$0")/../deploy/install-deps.sh" dnsperf wrk nginx-light hyperfine linux-perf \
  python3-redis openssl
