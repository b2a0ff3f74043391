"""
The README's first command: deploy/local/up.sh starts Redis, knotd, pebble-challtestsrv, a
coordinator and nine workers, runs its demo validations (each must give the verdict its zone
data implies), and leaves a deployment that answers; deploy/local/down.sh stops every process
it started. Run on free loopback ports, in a scratch state directory, with the binaries under
test (MPIC_COORDINATOR / MPIC_WORKER, so the script builds nothing).
"""
import json
import os
import re
import subprocess
import time
import urllib.request

import pytest

from mpiclab import binary, free_port

SRC = os.environ.get("MPIC_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
UP = os.path.join(SRC, "deploy", "local", "up.sh")
DOWN = os.path.join(SRC, "deploy", "local", "down.sh")


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its new parent) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    state = str(tmp_path_factory.mktemp("local"))
    env = dict(os.environ,
               MPIC_LOCAL_DIR=state,
               MPIC_COORDINATOR=binary("MPIC_COORDINATOR", "mpic-coordinator"),
               MPIC_WORKER=binary("MPIC_WORKER", "mpic-worker"))
    for name in ("MPIC_PORT", "MPIC_REDIS_PORT", "MPIC_KNOT_PORT", "MPIC_HTTP01_PORT",
                 "MPIC_CHALL_MGMT_PORT", "MPIC_CHALL_DNS_PORT"):
        env[name] = str(free_port())
    up = None
    try:
        up = subprocess.run(["bash", UP], env=env, cwd=SRC, capture_output=True, text=True,
                            timeout=240)
        pids = []
        with open(os.path.join(state, "pids")) as f:
            for line in f:
                pid, name = line.split()
                pids.append((int(pid), name))
        yield {"state": state, "env": env, "up": up, "pids": pids}
    finally:
        if os.path.exists(os.path.join(state, "pids")):
            subprocess.run(["bash", DOWN], env=env, capture_output=True, timeout=60)
        if up is not None and up.returncode != 0:
            print("up.sh stdout:\n" + up.stdout + "\nup.sh stderr:\n" + up.stderr)


def test_up_runs_the_demo_validations_with_the_expected_verdicts(deployment):
    up = deployment["up"]
    assert up.returncode == 0, up.stdout + up.stderr
    sections = re.findall(r"^== (.+)\n  is_valid=(True|False)  perspectives passed (\d+)/(\d+)",
                          up.stdout, re.M)
    assert [(title.split(" (")[0], valid, total) for title, valid, _, total in sections] == [
        ("CAA www.mpic.test", "True", "6"),
        ("CAA deny.mpic.test", "False", "6"),
        ("acme-http-01 www.mpic.test", "True", "6"),
    ]
    passed = [int(p) for _, _, p, _ in sections]
    assert passed[0] == 6 and passed[1] == 0 and passed[2] == 6
    assert "UNEXPECTED" not in up.stdout and "mpic is running" in up.stdout
    names = [n for _, n in deployment["pids"]]
    assert names[:4] == ["redis", "knotd", "challtestsrv", "coordinator"]
    assert sorted(names[4:]) == sorted(
        "worker-" + p for p in ("us-east-1", "us-west-2", "ca-central-1", "eu-central-1",
                                "eu-west-1", "ap-northeast-1", "ap-southeast-1", "sa-east-1",
                                "af-south-1"))
    assert all(alive(pid) for pid, _ in deployment["pids"])


def test_the_deployment_answers_the_readme_example(deployment):
    assert deployment["up"].returncode == 0
    port = deployment["env"]["MPIC_PORT"]
    body = json.dumps({"check_type": "caa", "domain_or_ip_target": "www.mpic.test"}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/mpic", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        answer = json.load(r)
    assert answer["is_valid"] is True and answer["mpic_completed"] is True
    assert answer["actual_orchestration_parameters"]["perspective_count"] == 6
    assert len({p["perspective_code"] for p in answer["perspectives"]}) == 6
    found = {p["check_response"]["details"]["found_at"] for p in answer["perspectives"]}
    assert found == {"mpic.test"}


def test_down_stops_every_process_it_started(deployment):
    assert deployment["up"].returncode == 0
    down = subprocess.run(["bash", DOWN], env=deployment["env"], capture_output=True, text=True,
                          timeout=60)
    assert down.returncode == 0, down.stderr
    stopped = re.findall(r"^stopped (\S+) \((\d+)\)$", down.stdout, re.M)
    assert sorted((n, int(p)) for n, p in stopped) == sorted(
        (n, p) for p, n in deployment["pids"])
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid, _ in deployment["pids"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid, _ in deployment["pids"])
    assert not os.path.exists(os.path.join(deployment["state"], "pids"))
    again = subprocess.run(["bash", DOWN], env=deployment["env"], capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0 and "nothing running" in again.stdout
