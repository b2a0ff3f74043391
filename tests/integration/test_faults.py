"""
Fault handling: (a) a worker SIGKILLed while it holds a job -> another worker of the same
perspective reclaims it (XAUTOCLAIM after job_visibility_timeout_ms) and the verdict still
needs and gets that perspective; (b) Redis down before a request -> a quick JSON 503/500 and
an unhealthy /healthz, coordinator alive; (c) Redis killed or hung (SIGSTOP) with a request
in flight -> JSON 503 by the deadline (plus one command timeout when hung); (d) a perspective
with no worker -> reported not completed at the deadline, naming it; (e) after a Redis
restart the fleet serves requests again.
"""
import signal
import threading
import time

import pytest

import mpiclab
from mpiclab import (CODES, HeldHTTPServer, RedisServer, by_code, caa_body, expect_200,
                     http01_body, uniform_workers)

ALL_MUST_PASS = {"perspective_count": 6, "quorum_count": 6}


class Background:
    """Runs fleet.post in a thread; .join() returns the Response or raises its exception."""

    def __init__(self, fleet, body, timeout):
        self.result = {}
        self.thread = threading.Thread(target=self._run, args=(fleet, body, timeout),
                                       daemon=True)
        self.t0 = time.monotonic()
        self.thread.start()

    def _run(self, fleet, body, timeout):
        try:
            self.result["resp"] = fleet.post(body, timeout=timeout)
        except Exception as e:  # reported by join()
            self.result["exc"] = e

    def join(self, timeout):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"request still pending after {timeout}s"
        if "exc" in self.result:
            raise self.result["exc"]
        return self.result["resp"]


@pytest.fixture
def held_server():
    servers = []

    def make(body):
        s = HeldHTTPServer(body).start()
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.stop()


def challenge(cts):
    token = mpiclab.random_token(43)
    keyauth = token + "." + mpiclab.random_token(43)
    cts.add_http01(token, keyauth)
    return token, keyauth


def test_worker_killed_mid_job_is_reclaimed(make_fleet, cts_honest, http01_port, held_server):
    victim = "eu-central-1"
    token, keyauth = challenge(cts_honest)
    slow = held_server(keyauth)
    victim_opts = {"resolver": cts_honest.address, "http_port": slow.port}
    fleet = make_fleet(uniform_workers(cts_honest.address, http_port=http01_port,
                                       overrides={victim: victim_opts}),
                       name="fault-reclaim", streams={"job_visibility_timeout_ms": 1000})
    try:
        req = Background(fleet, http01_body("reclaim.mpic.test", token, keyauth,
                                            orchestration=ALL_MUST_PASS), timeout=20)
        assert slow.first_request.wait(10), "the victim worker never fetched the challenge"
        fleet.start_worker(victim, victim_opts)
        fleet.kill_worker(victim, 0)
        body = expect_200(req.join(15))
    finally:
        fleet.stop()
    assert body["is_valid"] is True, body
    cr = by_code(body)[victim]
    assert cr["check_completed"] is True and cr["check_passed"] is True, cr
    assert len(slow.requests) >= 2, slow.requests
    assert all(h.startswith("reclaim.mpic.test") for _, h in slow.requests), slow.requests
    for code, other in by_code(body).items():
        assert other["check_passed"] is True, (code, other)


def test_redis_down_before_request(make_fleet, workdir, knot_honest):
    redis = RedisServer(workdir, name="redis-down").start()
    fleet = make_fleet(uniform_workers(knot_honest.address), redis=redis, name="fault-down")
    try:
        assert expect_200(fleet.post(caa_body("permit.mpic.test")))["is_valid"] is True
        redis.stop()
        resp = fleet.post(caa_body("permit.mpic.test"), timeout=15)
        assert resp.status in (500, 503), resp
        assert isinstance(resp.json, dict) and isinstance(resp.json.get("error"), str), resp
        assert resp.elapsed < 3.0, resp.elapsed  # the deadline is 8 s; failing fast is expected
        assert fleet.coordinators[0].alive()
        mpiclab.wait_until(lambda: fleet.get("/healthz").status == 503, 5.0,
                           "/healthz to report 503 with Redis down")
        health = fleet.get("/healthz")
        assert health.json["status"] == "unhealthy", health
    finally:
        fleet.stop()
        redis.kill()


def test_redis_restart_recovers(make_fleet, workdir, knot_honest):
    redis = RedisServer(workdir, name="redis-restart").start()
    fleet = make_fleet(uniform_workers(knot_honest.address), redis=redis, name="fault-restart")
    try:
        assert expect_200(fleet.post(caa_body("permit.mpic.test")))["is_valid"] is True
        redis.stop()
        mpiclab.wait_until(lambda: fleet.get("/healthz").status == 503, 5.0,
                           "/healthz to report 503 with Redis down")
        redis.start()  # same port, empty data set: streams and groups must be recreated
        mpiclab.wait_until(lambda: fleet.get("/healthz").status == 200, 10.0,
                           "/healthz to recover after the Redis restart")
        for procs in fleet.workers.values():
            procs[0].wait_for_http("127.0.0.1", procs[0].health_port, "/healthz", 200, 10.0)
        body = expect_200(fleet.post(caa_body("deny.mpic.test")))
        assert body["is_valid"] is False, body
        assert all(cr["check_completed"] for cr in by_code(body).values()), body
        assert fleet.coordinators[0].alive()
    finally:
        fleet.stop()
        redis.kill()


@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_redis_fails_in_flight(make_fleet, workdir, cts_honest, http01_port, held_server, fault):
    """Redis dies (SIGKILL) or stops answering (SIGSTOP: hiredis 0.14 has no timeouts of its
    own, so this proves ours) with a request in flight: a JSON 503 by the deadline, plus one
    Redis command timeout when the server hangs; the coordinator stays up."""
    victim = "us-west-2"
    redis = RedisServer(workdir, name=f"redis-{fault}").start()
    token, keyauth = challenge(cts_honest)
    slow = held_server(keyauth)
    fleet = make_fleet(uniform_workers(cts_honest.address, http_port=http01_port,
                                       overrides={victim: {"http_port": slow.port}}),
                       redis=redis, name=f"fault-{fault}")
    deadline_s = 3.0
    allowed_s = deadline_s + (2.0 if fault == "hung" else 0.0) + 1.0  # command timeout 2 s
    try:
        req = Background(fleet, http01_body(f"{fault}.mpic.test", token, keyauth,
                                            orchestration=dict(ALL_MUST_PASS,
                                                               deadline_ms=3000)), timeout=20)
        assert slow.first_request.wait(10), "the victim worker never fetched the challenge"
        if fault == "killed":
            redis.kill()
        else:
            redis.proc.send_signal(signal.SIGSTOP)
        resp = req.join(allowed_s + 5)
        elapsed = time.monotonic() - req.t0
        assert resp.status == 503, resp
        assert isinstance(resp.json, dict) and isinstance(resp.json.get("error"), str), resp
        assert elapsed <= allowed_s, elapsed
        health = fleet.get("/healthz", timeout=5)
        assert health.status == 503, health  # no Redis round trip succeeds any more
        assert fleet.coordinators[0].alive()
    finally:
        redis.proc.send_signal(signal.SIGCONT)
        fleet.stop()
        redis.kill()


def test_perspective_without_worker(make_fleet, knot_honest):
    missing = "ap-northeast-1"
    workers = uniform_workers(knot_honest.address, codes=[c for c in CODES if c != missing])
    fleet = make_fleet(workers, name="fault-missing")
    deadline_s = 3.0
    resp = fleet.post(caa_body("permit.mpic.test", orchestration={"deadline_ms": 3000}))
    body = expect_200(resp)
    assert resp.elapsed <= deadline_s + 1.0, resp.elapsed
    assert body["is_valid"] is True, body
    assert body["mpic_completed"] is True  # 1 incomplete <= 6 - 4
    results = by_code(body)
    assert sorted(results) == sorted(CODES)
    cr = results[missing]
    assert cr["check_completed"] is False and cr["check_passed"] is False, cr
    assert cr["errors"] and any(missing in e["error_message"] for e in cr["errors"]), cr
    assert cr["check_type"] == "caa"
    assert cr["details"] == {"caa_record_present": None, "found_at": None,
                             "records_seen": None, "ad_flag": None}, cr
    for code, other in results.items():
        if code != missing:
            assert other["check_completed"] is True and other["check_passed"] is True, other
