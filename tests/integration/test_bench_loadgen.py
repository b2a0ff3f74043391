"""
Smoke test of the benchmark load generator (bench/loadgen.c, built as mpic-loadgen next to the
mpic binaries) against a real fleet, so the tool does not rot: a closed-loop and an open-loop
run of about one second each must complete CAA validations with the right is_valid counts and
print the JSON line bench/bench.py parses. It asserts correctness only, never speed.
"""
import json
import os
import subprocess

import mpiclab


def loadgen_path():
    path = os.path.join(os.path.dirname(mpiclab.binary("MPIC_COORDINATOR", "mpic-coordinator")),
                        "bench", "mpic-loadgen")
    assert os.access(path, os.X_OK), f"{path} missing: build with -DMPIC_BENCH=ON (the default)"
    return path


def run_loadgen(fleet, workdir, bodies, *args):
    path = os.path.join(workdir, "loadgen-bodies.jsonl")
    with open(path, "w") as f:
        for b in bodies:
            f.write(json.dumps(b) + "\n")
    argv = [loadgen_path(), "--target", f"127.0.0.1:{fleet.coordinator_ports[0]}",
            "--bodies", path, "--warmup", "0.2", "--duration", "1", "--drain", "60", *args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("JSON ")]
    assert len(lines) == 1, out.stdout
    return json.loads(lines[0][5:])


def test_loadgen_closed_and_open_loop(workdir, knot_honest, make_fleet):
    fleet = make_fleet(mpiclab.uniform_workers(knot_honest.address))
    permit = mpiclab.caa_body("permit.mpic.test")
    deny = mpiclab.caa_body("deny.mpic.test")

    closed = run_loadgen(fleet, workdir, [permit, deny], "--connections", "2",
                         "--name", "smoke/closed")
    assert closed["mode"] == "closed" and closed["scenario"] == "smoke/closed"
    assert closed["done"] > 0 and closed["done"] == closed["sent"]
    assert closed["errors"] == 0 and closed["non200"] == 0 and closed["unanswered"] == 0
    assert closed["http200"] == closed["done"]
    # the two bodies alternate, so permitted and denied answers are both counted
    assert closed["valid_true"] > 0 and closed["valid_false"] > 0
    assert closed["valid_true"] + closed["valid_false"] == closed["done"]
    assert 0 < closed["p50_ms"] <= closed["p99_ms"] <= closed["max_ms"]

    opened = run_loadgen(fleet, workdir, [permit], "--rate", "20", "--name", "smoke/open")
    assert opened["mode"] == "open"
    # 20/s over the 1 s window: the schedule, not the server, decides how many are sent
    assert 19 <= opened["sent"] <= 21
    assert opened["done"] == opened["sent"] and opened["valid_true"] == opened["done"]
    assert opened["errors"] == 0 and opened["unanswered"] == 0
