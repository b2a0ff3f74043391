#!/usr/bin/env bash
# Starts the mpic namespace lab (as root; idempotent: tears down a previous or crashed lab of
# the same prefix first). MPIC_LAB_PREFIX names the namespaces (default "mpiclab").
# Needs a build (build/mpic-coordinator, build/mpic-worker) or MPIC_COORDINATOR/MPIC_WORKER.
set -euo pipefail
exec python3 "$(dirname "$0")/lab.py" up
