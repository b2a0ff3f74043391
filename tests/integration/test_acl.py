"""
Redis ACL users per role (deploy/redis/acl-users.sh) on a real Redis 7: a worker may only
read and acknowledge its own region's jobs and append results; it gets NOPERM for another
region's stream, for forging jobs into its own, for reading results and request records. The
coordinator user gets NOPERM outside the deployment's key prefix and for dangerous commands.
A whole fleet runs on these users (--redis-user/--redis-password-file) and reaches verdicts.
"""
import os
import subprocess

import pytest
import redis

import mpiclab
from mpiclab import caa_body

SCRIPT = os.path.join(os.environ.get("MPIC_SOURCE_DIR", os.path.join(mpiclab.HERE, "..", "..")),
                      "deploy", "redis", "acl-users.sh")


def install_users(server, prefix, pwdir, regions):
    cmds = subprocess.run(["bash", SCRIPT, prefix, pwdir] + list(regions), check=True,
                          capture_output=True, text=True).stdout
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(server.port)], input=cmds,
                         check=True, capture_output=True, text=True).stdout
    assert out.split() == ["OK"] * (1 + len(regions)), out


def connect(server, pwdir, user):
    with open(os.path.join(pwdir, f"{user}.pass")) as f:
        password = f.read().strip()
    assert os.stat(os.path.join(pwdir, f"{user}.pass")).st_mode & 0o077 == 0
    return redis.Redis(host="127.0.0.1", port=server.port, username=user, password=password)


def noperm(fn, *args):
    # redis-py turns a "-NOPERM ..." reply into NoPermissionError (prefix stripped)
    with pytest.raises(redis.exceptions.NoPermissionError) as e:
        fn(*args)
    assert "no permissions" in str(e.value), e.value


@pytest.fixture(scope="module")
def users(redis_server, workdir):
    prefix = "acl" + os.urandom(3).hex()
    pwdir = os.path.join(workdir, "acl-pw-" + prefix)
    install_users(redis_server, prefix, pwdir, mpiclab.CODES)
    return prefix, pwdir


def test_worker_user_is_confined_to_its_region(redis_server, users):
    prefix, pwdir = users
    admin = redis.Redis(host="127.0.0.1", port=redis_server.port)
    rid = "ab" * 16
    admin.hset(f"{prefix}:{{{rid}}}:req", mapping={"state": "open"})
    admin.xadd(f"{prefix}:results", {"r": b"x"})
    w = connect(redis_server, pwdir, "mpic-worker-us-east-1")
    own, other = f"{prefix}:jobs:{{us-east-1}}", f"{prefix}:jobs:{{eu-central-1}}"
    # allowed: its group on its own stream, reading and acknowledging, appending results
    w.xgroup_create(own, "workers", id="0", mkstream=True)
    admin.xadd(own, {"j": b"job"})
    got = w.xreadgroup("workers", "c1", {own: ">"}, count=10)
    assert got and got[0][1][0][1] == {b"j": b"job"}, got
    assert w.xack(own, "workers", got[0][1][0][0]) == 1
    w.xautoclaim(own, "workers", "c2", 0)
    assert w.xadd(f"{prefix}:results", {"r": b"result"})
    # forbidden
    noperm(w.xadd, other, {"j": b"forged"})                      # another region's jobs
    noperm(w.xreadgroup, "workers", "c1", {other: ">"})           # reading them
    noperm(w.xadd, own, {"j": b"forged"})                        # forging its own jobs
    noperm(w.xrange, f"{prefix}:results")                        # reading results
    noperm(w.xreadgroup, "reducers", "c1", {f"{prefix}:results": ">"})
    noperm(w.hgetall, f"{prefix}:{{{rid}}}:req")                 # request records
    noperm(w.get, "unrelated")
    noperm(w.flushall)
    noperm(w.execute_command, "EVAL", "return 1", "0")
    w.close()
    admin.close()


def test_coordinator_user_stays_inside_its_prefix(redis_server, users):
    prefix, pwdir = users
    c = connect(redis_server, pwdir, "mpic-coordinator")
    assert c.set(f"{prefix}:probe", "1")
    assert c.hset(f"{prefix}:{{r}}:req", "state", "open") == 1
    assert c.eval("return redis.call('HGET', KEYS[1], 'state')", 1, f"{prefix}:{{r}}:req") == \
        b"open"
    noperm(c.get, "other:key")
    noperm(c.set, "mpicx:key", "1")
    noperm(c.eval, "return redis.call('GET', KEYS[1])", 1, "other:key")
    noperm(c.flushall)
    noperm(c.keys, "*")
    noperm(c.config_get, "*")
    c.close()


def test_fleet_runs_on_acl_users(redis_server, workdir, knot_honest):
    fleet = mpiclab.Fleet(workdir, redis_server, mpiclab.uniform_workers(knot_honest.address),
                          name="acl")
    pwdir = os.path.join(workdir, "acl-pw-" + fleet.key_prefix)
    install_users(redis_server, fleet.key_prefix, pwdir, mpiclab.CODES)
    fleet.coordinator_args = ["--redis-user", "mpic-coordinator", "--redis-password-file",
                              os.path.join(pwdir, "mpic-coordinator.pass")]
    for code, opts_list in fleet.worker_opts.items():
        for opts in opts_list:
            opts["args"] = ["--redis-user", f"mpic-worker-{code}", "--redis-password-file",
                            os.path.join(pwdir, f"mpic-worker-{code}.pass")]
    fleet.start()
    try:
        for _ in range(2):
            body = mpiclab.expect_200(fleet.post(caa_body("quorum.mpic.test")))
            assert body["is_valid"] is True, body
            assert all(p["check_response"]["check_completed"] for p in body["perspectives"])
        admin = redis.Redis(host="127.0.0.1", port=redis_server.port)
        clients = admin.client_list()
        users_seen = {c["user"] for c in clients}
        assert "mpic-coordinator" in users_seen, clients
        assert {f"mpic-worker-{code}" for code in mpiclab.CODES} <= users_seen, clients
        admin.close()
    finally:
        fleet.stop()
