"""
The command-line and lifecycle contract of both binaries: a bad config exits 2 with a message
naming the offending key, --help exits 0, both start before or after each other (jobs are not
lost), and both exit 0 on SIGTERM. A worker given --perspective CODE:N (a systemd pool
instance, deploy/systemd) serves perspective CODE; a malformed N exits 2.
"""
import json
import os
import subprocess

import pytest

import mpiclab
from mpiclab import caa_body, expect_200


def run(binary_env, binary_name, args, timeout=10):
    exe = mpiclab.binary(binary_env, binary_name)
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


def write_config(workdir, name, config):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        json.dump(config, f)
    return path


BASE = {"key_prefix": "tcli", "perspectives": mpiclab.STANDARD_PERSPECTIVES}


@pytest.mark.parametrize("env,name", [("MPIC_COORDINATOR", "mpic-coordinator"),
                                      ("MPIC_WORKER", "mpic-worker")])
def test_help_exits_0(env, name):
    out = run(env, name, ["--help"])
    assert out.returncode == 0, out
    assert "--config" in out.stdout + out.stderr


@pytest.mark.parametrize("env,name", [("MPIC_COORDINATOR", "mpic-coordinator"),
                                      ("MPIC_WORKER", "mpic-worker")])
@pytest.mark.parametrize("bad,key", [
    ({"coordinatr": {}}, "coordinatr"),
    ({"redis": {"adress": "127.0.0.1:1"}}, "adress"),
    ({"streams": {"jobs_maxlen": "many"}}, "jobs_maxlen"),
    ({"perspectives": [dict(mpiclab.STANDARD_PERSPECTIVES[0], rir="NOPE")]}, "rir"),
])
def test_bad_config_exits_2_naming_key(workdir, env, name, bad, key):
    path = write_config(workdir, f"bad-{key}.json", dict(BASE, **bad))
    args = ["--config", path] + (["--perspective", "us-east-1"] if name == "mpic-worker" else [])
    out = run(env, name, args)
    assert out.returncode == 2, out
    assert key in out.stderr, out.stderr


def test_worker_unknown_perspective_exits_2(workdir):
    path = write_config(workdir, "ok.json", BASE)
    out = run("MPIC_WORKER", "mpic-worker", ["--config", path, "--perspective", "mars-1"])
    assert out.returncode == 2, out
    assert "mars-1" in out.stderr


def test_workers_first_then_coordinator_and_sigterm_exit_0(workdir, redis_server, knot_honest):
    """Workers started before the coordinator get the jobs; everything exits 0 on SIGTERM."""
    fleet = mpiclab.Fleet(workdir, redis_server, mpiclab.uniform_workers(knot_honest.address),
                          name="cli-order")
    try:
        for code, opts in fleet.worker_opts.items():
            fleet.start_worker(code, opts[0], wait=True)
        fleet.worker_opts = {}
        fleet.start()
        body = expect_200(fleet.post(caa_body("permit.mpic.test")))
        assert body["is_valid"] is True, body
    finally:
        codes = fleet.stop()
    assert len(codes) == 7 and all(rc == 0 for rc in codes.values()), codes


def test_worker_pool_instance_suffix_names_the_process_not_the_perspective(
        workdir, redis_server, knot_honest):
    fleet = mpiclab.Fleet(workdir, redis_server, mpiclab.uniform_workers(knot_honest.address),
                          name="pool")
    try:
        for code, opts in fleet.worker_opts.items():
            o = dict(opts[0])
            o["args"] = list(o.get("args", [])) + ["--perspective", f"{code}:2"]
            fleet.start_worker(code, o, wait=True)
        fleet.worker_opts = {}
        fleet.start()
        body = expect_200(fleet.post(caa_body("permit.mpic.test")))
        assert body["is_valid"] is True, body
        codes = {p["perspective_code"] for p in body["perspectives"]}
        assert all(":" not in c for c in codes) and len(codes) == 6
        code, procs = next(iter(fleet.workers.items()))
        assert f"worker/{code}:2: " in open(procs[0].log_path, errors="replace").read()
    finally:
        fleet.stop()
    for bad in ("us-east-1:", "us-east-1:X", "us-east-1:a_b", "us-east-1:" + "1" * 17):
        out = subprocess.run([mpiclab.binary("MPIC_WORKER", "mpic-worker"), "--config",
                              fleet.config_path, "--perspective", bad],
                             capture_output=True, text=True, timeout=10)
        assert out.returncode == 2, (bad, out)
        assert "--perspective" in out.stderr and "CODE:N" in out.stderr, out.stderr
