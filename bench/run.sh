#!/usr/bin/env bash
# The one benchmark command: installs the tools, builds mpic and the bench tools in Release
# (-O2) in build-bench/, then runs every scenario against its own redis-server, knotd, nginx and
# mpic fleets on free loopback ports (bench/bench.py) and writes bench/results/<UTC time>/.
#   bash bench/run.sh [--quick] [--only raw,throughput,overhead,memory,scaling,floor,soak] [--keep]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash deploy/install-deps.sh
bash bench/install-deps.sh
build="${MPIC_BENCH_BUILD:-$root/build-bench}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -g -DNDEBUG" \
      -DBUILD_TESTING=OFF -DMPIC_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target mpic-coordinator mpic-worker mpic-loadgen \
      mpic-bench-direct >/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
out="${MPIC_BENCH_OUT:-$root/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}"
exec /usr/bin/python3 bench/bench.py --build "$build" --out "$out" "$@"
