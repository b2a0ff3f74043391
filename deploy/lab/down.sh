#!/usr/bin/env bash
# Stops every lab process by PID and deletes the lab's namespaces (safe to rerun).
set -euo pipefail
exec python3 "$(dirname "$0")/lab.py" down
