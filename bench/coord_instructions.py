#!/usr/bin/python3
"""
Instructions per validation of the coordinator, for A/B comparisons of builds on a shared
machine (instruction counts, unlike CPU time, do not depend on the other processes' load).
For each build directory (built by bench/run.sh, or with the same cmake flags), starts the
bench lab (bench.py) and a fleet whose coordinator runs under valgrind --tool=callgrind, sends
a warm-up, zeroes the counters (callgrind_control -z), sends N validations at a low fixed rate
and dumps the profile (callgrind_control -d). Prints Ir per validation and the profile file;
`callgrind_annotate --inclusive=yes FILE` shows where they go.
    /usr/bin/python3 bench/coord_instructions.py BUILD_DIR [BUILD_DIR ...] [--body caa_direct]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("builds", nargs="+", help="build directories holding mpic-coordinator")
    ap.add_argument("--rate", type=int, default=25, help="validations per second (25)")
    ap.add_argument("--duration", type=float, default=8, help="seconds measured (8)")
    ap.add_argument("--body", default="caa_direct", choices=sorted(bench.bodies()),
                    help="request scenario (caa_direct)")
    a = ap.parse_args()
    outdir = tempfile.mkdtemp(prefix="mpic-callgrind-")
    wrapper = os.path.join(outdir, "coordinator.sh")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec valgrind --tool=callgrind "
                f"--callgrind-out-file={outdir}/callgrind.%p \"$MPIC_CG_BUILD/mpic-coordinator\""
                " \"$@\"\n")
    os.chmod(wrapper, 0o755)
    args = types.SimpleNamespace(build=a.builds[0], out=outdir, quick=True, only=None, conns=64,
                                 profile=False, scaling_inflight=2, keep=False)
    b = bench.Bench(args)
    try:
        b.start_lab()
        for build in a.builds:
            build = os.path.abspath(build)
            os.environ["MPIC_CG_BUILD"] = build
            os.environ["MPIC_COORDINATOR"] = wrapper
            os.environ["MPIC_WORKER"] = os.path.join(build, "mpic-worker")
            b.loadgen = os.path.join(build, "bench", "mpic-loadgen")
            b.start_fleet(b.nginx.port)
            pid = b.fleet.coordinators[0].pid
            b.run_loadgen("warm-up", a.body, rate=a.rate, duration=2, warmup=0.5)
            subprocess.run(["callgrind_control", "-z", str(pid)], check=True,
                           capture_output=True)
            out = b.run_loadgen("measured", a.body, rate=a.rate, duration=a.duration, warmup=0)
            time.sleep(1)  # the follow-up work (audit, metrics) of the last requests
            subprocess.run(["callgrind_control", "-d", "measured", str(pid)], check=True,
                           capture_output=True)
            dump = max(glob.glob(f"{outdir}/callgrind.{pid}.*"), key=os.path.getmtime)
            ir = 0
            with open(dump) as f:
                for line in f:
                    if line.startswith(("summary:", "totals:")):
                        ir = int(line.split()[1])
            n = out["done"]
            print(f"{build}: {n} validations ({out['valid_true']} valid), "
                  f"{ir / max(1, n):,.0f} instructions per validation; profile {dump}",
                  flush=True)
            b.stop_fleet()
    finally:
        b.stop_lab()


if __name__ == "__main__":
    main()
