"""
Smoke test of the benchmark's soak step helpers (bench/soak.py) against a real fleet and
redis-server, so the step does not rot: what it counts as pending in the consumer groups, when
it calls the fleet drained, and one sample of the fleet's processes. Correctness only.
"""
import os
import sys
import types

import redis

import mpiclab

ROOT = os.path.dirname(os.path.dirname(mpiclab.HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import soak  # noqa: E402  (bench/soak.py)
from bench import rss_kb  # noqa: E402  (bench/bench.py, what the bench passes to the step)


def test_soak_helpers_on_a_real_fleet(knot_honest, make_fleet, redis_server):
    fleet = make_fleet(mpiclab.uniform_workers(knot_honest.address), name="soak")
    r = fleet.post(mpiclab.caa_body("permit.mpic.test"))
    assert r.status == 200 and r.json["is_valid"] is True, r
    rcli = redis.Redis(host="127.0.0.1", port=redis_server.port)
    bench = types.SimpleNamespace(rcli=rcli, fleet=fleet, components=lambda: {
        "coordinator": [p.pid for p in fleet.coordinators],
        "workers": [p.pid for procs in fleet.workers.values() for p in procs]})
    assert soak.drain(bench, timeout_s=10.0) is not None  # the validation left nothing behind

    # an entry delivered and not acknowledged counts, in a stream of the fleet's prefix
    stream = f"{fleet.key_prefix}:jobs:{{soak-test}}"
    rcli.xgroup_create(stream, "workers", id="0", mkstream=True)
    rcli.xadd(stream, {"j": b"x"})
    got = rcli.xreadgroup("workers", "soak-test", {stream: ">"}, count=1)
    assert soak.pending_total(rcli, fleet.key_prefix) == 1
    assert soak.drain(bench, timeout_s=0.3) is None
    rcli.xack(stream, "workers", got[0][1][0][0])
    assert soak.pending_total(rcli, fleet.key_prefix) == 0
    rcli.delete(stream)

    s = soak.sample(bench, rss_kb, 0.0)
    assert s["coordinator_rss_kb"] > 1000 and s["workers_rss_kb"] > 6 * 1000
    assert s["coordinator_fds"] > 3 and s["workers_fds"] >= 6 * 3
    assert s["redis_used_memory"] > 0 and s["redis_keys"] > 0 and s["pending"] == 0
