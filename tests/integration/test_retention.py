"""
What a validation leaves in Redis. A request's keys outlive the longest time it can run, so a
deadline longer than coordinator.result_retention_s does not lose it; and after a mix of
validations (valid, invalid with a target cooldown, a retried attempt, a result arriving after
its request's keys expired) every key under the prefix is one docs/architecture.md lists, each
per-request key expires within its bound, nothing is left pending in a consumer group and the
due set drains. A request of 100 attempts gets a TTL covering them all, and the due set stays
empty once the answers are out.
"""
import contextlib
import re
import signal
import time

import pytest
import redis as redislib

import mpiclab
from mpiclab import caa_body, expect_200

RETENTION_S = 10  # the smallest result_retention_s the config accepts
DEADLINE_MS = 14000
ASYNC = {"Prefer": "respond-async"}
CFG = {"result_retention_s": RETENTION_S, "deadline_ms": 3000, "max_deadline_ms": 20000,
       "straggler_grace_ms": 250, "target_cooldown_ms": 60000, "retry_cooldown_ms": 200,
       "retry_cooldown_max_ms": 400, "absolute_max_attempts": 100}
# coordinator/api.c api_longest_life_ms: per attempt the grace and 15 s for a takeover, the
# deadline path's round trips (4 command timeouts, 2 s each by default) and 1 s of margin
TAKEOVER_MS = 15000
COMMAND_TIMEOUT_MS = 2000


def longest_life_ms(deadline_ms, attempts=1):
    retries = 0
    for a in range(1, attempts):  # each cooldown at most 1.5 times its capped backoff
        cooldown = min(CFG["retry_cooldown_max_ms"], CFG["retry_cooldown_ms"] * 2 ** (a - 1))
        retries += cooldown + cooldown // 2 + deadline_ms + 1000
    return (deadline_ms + 4 * COMMAND_TIMEOUT_MS + 1000 + retries +
            attempts * (CFG["straggler_grace_ms"] + TAKEOVER_MS))


@pytest.fixture(scope="module")
def fleet(make_fleet, knot_honest):
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="retention",
                      coordinator=CFG, ncoordinators=2)


@pytest.fixture(scope="module")
def rcli(fleet):
    return redislib.Redis(host="127.0.0.1", port=fleet.redis.port, decode_responses=True)


def request_keys(fleet, rcli, rid):
    return sorted(rcli.scan_iter(match=f"{fleet.key_prefix}:{{{rid}}}:*", count=1000))


def submit(fleet, body):
    resp = fleet.post(body, headers=ASYNC)
    assert resp.status == 202, resp
    return resp.headers["X-Mpic-Request-Id"]


def poll_done(fleet, rid, timeout=40.0):
    def done():
        resp = fleet.get(f"/mpic/{rid}")
        return resp if resp.status != 202 else None
    return mpiclab.wait_until(done, timeout, f"request {rid} to finish")


@contextlib.contextmanager
def stopped(fleet, codes):
    """The workers of codes are stopped (SIGSTOP) inside, continued on the way out."""
    for c in codes:
        fleet.workers[c][0].send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for c in codes:
            fleet.workers[c][0].send_signal(signal.SIGCONT)


def test_a_request_outlives_a_retention_shorter_than_its_deadline(fleet, rcli):
    """Three of six workers are stopped, so the quorum waits; the retention (10 s) passes
    before the deadline (14 s). The record must still be there, and the request answers."""
    codes = sorted(fleet.workers)[:3]
    with stopped(fleet, codes):
        t0 = time.monotonic()
        rid = submit(fleet, caa_body("www.mpic.test",
                                     orchestration={"deadline_ms": DEADLINE_MS}))
        ttl = rcli.pttl(f"{fleet.key_prefix}:{{{rid}}}:req")
        assert RETENTION_S * 1000 + DEADLINE_MS < ttl <= (
            RETENTION_S * 1000 + longest_life_ms(DEADLINE_MS)), ttl
        # the retention has passed (a wall-clock wait: the time itself is what is tested)
        mpiclab.wait_until(lambda: time.monotonic() - t0 > RETENTION_S + 1, RETENTION_S + 5,
                           "the retention to pass")
        resp = fleet.get(f"/mpic/{rid}")
        assert resp.status == 202, resp
        assert len(request_keys(fleet, rcli, rid)) == 3  # req, res, st
    body = expect_200(poll_done(fleet, rid))
    assert body["is_valid"] is True, body
    assert body["actual_orchestration_parameters"]["perspective_count"] == 6
    assert time.monotonic() - t0 < DEADLINE_MS / 1000 + 2  # the stopped workers answered


def test_the_ttl_covers_every_attempt_a_request_may_make(fleet, rcli):
    """100 attempts (the most absolute_max_attempts allows): the TTL covers all of them, and
    the backoff sum the coordinator computes for it does not overflow."""
    rid = submit(fleet, caa_body("www.mpic.test", orchestration={"max_attempts": 100}))
    ttl = rcli.pttl(f"{fleet.key_prefix}:{{{rid}}}:req")
    assert RETENTION_S * 1000 + 100 * (CFG["deadline_ms"] + TAKEOVER_MS) < ttl, ttl
    assert ttl <= RETENTION_S * 1000 + longest_life_ms(CFG["deadline_ms"], attempts=100), ttl
    assert expect_200(poll_done(fleet, rid))["is_valid"] is True
    # a synchronous request arms its hard timer from the same sum
    body = expect_200(fleet.post(caa_body("www.mpic.test", orchestration={"max_attempts": 100})))
    assert body["is_valid"] is True, body


def test_the_due_set_empties_with_the_answers(fleet, rcli, knot_honest):
    """Both coordinators' reducers judge the results of a request and race to publish it;
    the loser moves the due entry to when the winner's follow-up work would be overdue. When
    that arrived after the winner had removed the entry, the entry came back and a sweeper
    took the finished request over ~10 s later (seen for ~5 % of invalid and ~2 % of valid
    validations, so 90 of them show it with high probability)."""
    due = f"{fleet.key_prefix}:due"
    owner = mpiclab.random_label("due-")
    knot_honest.set_records("mpic.test", owner, "CAA", ['0 issue "other-ca.test"'])
    mpiclab.wait_until(lambda: rcli.zcard(due) == 0, 20.0, "the earlier tests' entries")
    for i in range(90):
        valid = i % 3 == 0
        body = caa_body("www.mpic.test" if valid else f"{owner}.mpic.test",
                        orchestration={"ignore_cooldown": True})
        assert expect_200(fleet.post(body))["is_valid"] is valid
    # the follow-up work (audit record, then the entry's removal) takes milliseconds
    mpiclab.wait_until(lambda: rcli.zcard(due) == 0, 5.0, "the due set to empty",
                       interval=0.05)  # a revived entry stayed ~10 s
    t0 = time.monotonic()
    mpiclab.wait_until(lambda: time.monotonic() - t0 > 0.5, 1.0, "late ZADDs to arrive")
    assert rcli.zrange(due, 0, -1, withscores=True) == []


# Every key kind docs/architecture.md ("Redis keys") lists, by its name after the prefix.
PER_REQUEST = re.compile(r"^\{[0-9a-f]{32}\}:(req|res|st|prev)$")
KINDS = {
    "jobs": re.compile(r"^jobs:\{[a-z0-9-]+\}$"),
    "results": re.compile(r"^results$"),
    "cooldown": re.compile(r"^cooldown:\{[^}]+\}$"),
    "due": re.compile(r"^due$"),
    "alerts": re.compile(r"^alerts$"),
    "replies": re.compile(r"^replies:\{[^}]+\}$"),
    "audit": re.compile(r"^audit$"),
}


def census(fleet, rcli):
    """{kind: [key, ...]} of every key under the fleet's prefix; an unknown kind fails."""
    out = {}
    for key in rcli.scan_iter(match=f"{fleet.key_prefix}:*", count=1000):
        name = key[len(fleet.key_prefix) + 1:]
        kind = "request" if PER_REQUEST.match(name) else next(
            (k for k, rx in KINDS.items() if rx.match(name)), None)
        assert kind is not None, f"key {key} is no kind docs/architecture.md lists"
        out.setdefault(kind, []).append(key)
    return out


def pending(rcli, stream, group):
    return rcli.xpending(stream, group)["pending"]


def test_what_a_mix_of_validations_leaves_in_redis(fleet, rcli, knot_honest):
    owner = mpiclab.random_label("ret-")
    knot_honest.set_records("mpic.test", owner, "CAA", ['0 issue "other-ca.test"'])
    invalid_target = f"{owner}.mpic.test"
    # a valid one; an invalid one (starts the target's cooldown); one retried once
    valid = expect_200(fleet.post(caa_body("www.mpic.test")))
    assert valid["is_valid"] is True, valid
    invalid = expect_200(fleet.post(caa_body(invalid_target)))
    assert invalid["is_valid"] is False, invalid
    retried = submit(fleet, caa_body(invalid_target, orchestration={
        "max_attempts": 2, "ignore_cooldown": True}))
    body = expect_200(poll_done(fleet, retried))
    assert body["actual_orchestration_parameters"]["attempt_count"] == 2, body
    # a result that arrives after its request's keys are gone (deleted here, as their expiry
    # would): the late worker's result must not bring any of them back
    late_code = sorted(fleet.workers)[0]
    with stopped(fleet, [late_code]):
        resp = fleet.post(caa_body("www.mpic.test"))
        late = expect_200(resp)
        assert late["is_valid"] is True, late
        late_rid = resp.headers["X-Mpic-Request-Id"]
        missing = [p for p in late["perspectives"] if p["perspective_code"] == late_code]
        assert missing and missing[0]["check_response"]["check_completed"] is False, late
        mpiclab.wait_until(lambda: rcli.zscore(f"{fleet.key_prefix}:due", late_rid) is None,
                           30.0, "the late request's follow-up work to finish")
        keys = request_keys(fleet, rcli, late_rid)
        assert len(keys) == 3 and rcli.delete(*keys) == 3, keys  # req, res, st
    jobs_key = f"{fleet.key_prefix}:jobs:{{{late_code}}}"
    results_key = f"{fleet.key_prefix}:results"

    def drained():
        return (pending(rcli, jobs_key, "workers") == 0
                and pending(rcli, results_key, "reducers") == 0
                and rcli.zcard(f"{fleet.key_prefix}:due") == 0)
    mpiclab.wait_until(drained, 20.0, "the late job, its result and the due set to drain")

    assert request_keys(fleet, rcli, late_rid) == []
    kinds = census(fleet, rcli)
    assert "cooldown" in kinds, kinds
    assert any(k.endswith(":prev") for k in kinds["request"]), kinds["request"]
    assert "due" not in kinds, kinds  # an empty sorted set is no key
    for key in kinds["request"]:
        # each request's own bound, from the deadline and attempts its record stores
        req = rcli.hgetall(key.rsplit(":", 1)[0] + ":req")
        bound = RETENTION_S * 1000 + longest_life_ms(int(req["budget"]),
                                                     attempts=int(req["max_attempts"]))
        ttl = rcli.pttl(key)
        assert 0 < ttl <= bound, (key, ttl, bound)
    for key in kinds["cooldown"]:
        assert 0 < rcli.pttl(key) <= CFG["target_cooldown_ms"], key
    for key in kinds.get("replies", []):
        assert 0 < rcli.ttl(key) <= 3600, key
    for kind in ("jobs", "results", "audit"):
        for key in kinds[kind]:
            assert rcli.type(key) == "stream", key
    for key in kinds["jobs"]:
        assert pending(rcli, key, "workers") == 0, key
    assert pending(rcli, results_key, "reducers") == 0
