"""
Smoke test of the benchmark's floor probe (bench/floor.py) against a real fleet and redis-server,
so the probe does not rot when lua/record.lua, lua/finalize.lua or the request record change:
it samples a real validation, drives the design's minimum commands with mpic's own scripts,
and every simulated request must end decided with all six outcomes. Correctness only, never
speed.
"""
import os
import sys

import redis

import mpiclab

ROOT = os.path.dirname(os.path.dirname(mpiclab.HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import floor  # noqa: E402  (bench/floor.py)


def test_floor_probe_runs_the_real_scripts(knot_honest, make_fleet, redis_server):
    fleet = make_fleet(mpiclab.uniform_workers(knot_honest.address))
    r = fleet.post(mpiclab.caa_body("permit.mpic.test"))
    assert r.status == 200 and r.json["is_valid"] is True, r
    rcli = redis.Redis(host="127.0.0.1", port=redis_server.port)
    sample = floor.sample_validation(rcli, fleet.key_prefix, mpiclab.CODES[0])
    assert sample["job_len"] > 0 and sample["result_len"] > 0
    assert sample["req"]["state"] in ("replied", "decided") and sample["req"]["n"] == "6"

    probe = floor.RedisFloor(rcli, os.path.join(ROOT, "lua"), sample,
                             prefix=fleet.key_prefix + "floor")
    m = probe.measure(batch=3, validations=6, tries=2)  # raises if a finalize did not decide
    assert m["validations"] == 6 and len(m["runs_us"]) == 2
    assert m["redis_cpu_us_per_validation"] > 0
    # a batch of 3 sends, per validation, 11 admission commands, 2 scripts, 6 result XADDs and
    # the scripts' own calls; per batch 6 XREADGROUP + 6 XACK + 1 XREADGROUP + 1 XACK
    assert 35 <= m["redis_commands_per_validation"] <= 60
    for seq in range(probe.seq):
        req = rcli.hgetall(probe.key(f"r{seq}", "req"))
        assert req[b"state"] == b"decided" and req[b"verdict"] == b"valid"
        assert rcli.hlen(probe.key(f"r{seq}", "st")) == floor.REGIONS
    for s in probe.streams + [probe.results]:  # every job and result was acknowledged
        assert rcli.xpending(s, "g")["pending"] == 0

    rtt = floor.ping_rtt(rcli, 0.001, 20)
    assert 0 < rtt["p50"] <= rtt["p90"] <= rtt["p99"]
