#!/usr/bin/env bash
# Stops the local deployment started by deploy/local/up.sh (by PID, workers first).
set -uo pipefail
state="${MPIC_LOCAL_DIR:-/tmp/mpic-local}"
[ -f "$state/pids" ] || { echo "nothing running ($state/pids not found)"; exit 0; }
tac "$state/pids" | while read -r pid name; do
  kill "$pid" 2>/dev/null && echo "stopped $name ($pid)"
done
for _ in $(seq 1 50); do
  alive=0
  while read -r pid _; do kill -0 "$pid" 2>/dev/null && alive=1; done < "$state/pids"
  [ "$alive" -eq 0 ] && break
  sleep 0.1
done
while read -r pid _; do kill -9 "$pid" 2>/dev/null; done < "$state/pids"
rm -f "$state/pids"
