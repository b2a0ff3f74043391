#!/usr/bin/env bash
# The walkthrough of docs/lab.md as one table: starts the lab if needed, hijacks 0, 1 and 3 of
# a 6-perspective remote cohort or the primary perspective, and compares with a single
# perspective (the primary alone) that is fooled.
set -euo pipefail
exec python3 "$(dirname "$0")/labdemo.py" "$@"
