"""
Async API: POST /mpic with `Prefer: respond-async` answers 202 with Location /mpic/<id>; any
coordinator answers GET /mpic/<id> from Redis: 202 with progress while the request runs, 200
with exactly the synchronous body once published, 404 when unknown, malformed or expired.
"""
import json
import time

import pytest
import redis as redislib

import mpiclab
from mpiclab import by_code, caa_body, expect_200

ASYNC = {"Prefer": "respond-async"}


@pytest.fixture(scope="module")
def fleet(make_fleet, knot_honest):
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="async",
                      ncoordinators=2)


def poll(fleet, location, coordinator, timeout=20.0):
    """GET location until it is no longer 202; returns the final response."""
    deadline = time.monotonic() + timeout
    while True:
        resp = fleet.get(location, coordinator=coordinator)
        if resp.status != 202:
            return resp
        assert resp.headers.get("Retry-After") == "1"
        progress = resp.json
        assert progress["status"] == "running", progress
        assert 0 <= progress["perspectives_reported"] <= progress["perspective_count"]
        if time.monotonic() > deadline:
            raise AssertionError(f"{location} still running after {timeout}s: {progress}")
        time.sleep(0.05)


def submit(fleet, body, coordinator=0, prefer=ASYNC):
    resp = fleet.post(body, coordinator=coordinator, headers=prefer)
    assert resp.status == 202, resp
    accepted = resp.json
    rid = resp.headers.get("X-Mpic-Request-Id")
    assert rid and accepted["request_id"] == rid
    assert resp.headers.get("Location") == f"/mpic/{rid}" == accepted["location"]
    assert resp.headers.get("Preference-Applied") == "respond-async"
    return rid, accepted["location"]


@pytest.mark.parametrize("target,valid", [("permit.mpic.test", True),
                                          ("deny.mpic.test", False)])
def test_submit_on_one_poll_on_the_other(fleet, target, valid):
    rid, location = submit(fleet, caa_body(target, trace_identifier=f"async-{target}"))
    resp = poll(fleet, location, coordinator=1)
    body = expect_200(resp)
    assert resp.headers.get("X-Mpic-Request-Id") == rid
    assert body["is_valid"] is valid, body
    assert body["domain_or_ip_target"] == target
    assert body["trace_identifier"] == f"async-{target}"
    assert len(body["perspectives"]) == body["actual_orchestration_parameters"][
        "perspective_count"]
    assert all(cr["check_completed"] for cr in by_code(body).values()), body
    # the same answer from the coordinator that admitted it, and again (idempotent reads)
    again = expect_200(fleet.get(location, coordinator=0))
    assert again == body


def test_async_body_equals_sync_body_shape(fleet):
    body = caa_body("permit.mpic.test", trace_identifier="shape")
    sync = expect_200(fleet.post(body))
    _, location = submit(fleet, body)
    got = expect_200(poll(fleet, location, coordinator=0))
    assert list(got) == list(sync)
    strip = lambda b: {k: v for k, v in b.items() if k != "perspectives"}  # noqa: E731
    assert strip(got) == strip(sync)


def test_prefer_with_other_preferences_and_case(fleet):
    rid, location = submit(fleet, caa_body("permit.mpic.test"),
                           prefer={"Prefer": "wait=5, Respond-Async"})
    assert expect_200(poll(fleet, location, coordinator=1))["is_valid"] is True
    # a Prefer header without respond-async keeps the synchronous answer
    resp = fleet.post(caa_body("permit.mpic.test"), headers={"Prefer": "return=minimal"})
    assert expect_200(resp)["is_valid"] is True


def test_progress_while_a_perspective_is_silent(make_fleet, knot_honest):
    """One cohort member has no worker: the request is 202 with progress until its deadline,
    then 200 with that perspective reported as missing (judged by the local deadline timer,
    not left to the sweeper)."""
    silent = "us-west-2"
    workers = mpiclab.uniform_workers(knot_honest.address,
                                      codes=[c for c in mpiclab.CODES if c != silent])
    fleet = make_fleet(workers, name="async-silent")
    body = caa_body("permit.mpic.test", orchestration={"perspective_count": 6,
                                                        "quorum_count": 6,
                                                        "deadline_ms": 2500})
    start = time.monotonic()
    rid, location = submit(fleet, body)
    first = fleet.get(location)
    assert first.status == 202, first
    progress = first.json
    assert progress["request_id"] == rid and progress["perspective_count"] == 6
    assert progress["domain_or_ip_target"] == "permit.mpic.test"
    final = expect_200(poll(fleet, location, coordinator=0, timeout=20))
    assert final["is_valid"] is False
    missing = by_code(final)[silent]
    assert missing["check_completed"] is False
    assert missing["errors"][0]["error_type"] == "mpic_error:coordinator:deadline"
    assert time.monotonic() - start < 10.0


def test_unknown_malformed_and_expired_ids(fleet):
    assert fleet.get("/mpic/" + "0" * 32).status == 404
    for bad in ("/mpic/xyz", "/mpic/" + "A" * 32, "/mpic/" + "0" * 33, "/mpic/"):
        resp = fleet.get(bad)
        assert resp.status == 404, (bad, resp)
        assert resp.json["error"] == "not-found"
    resp = fleet.request("DELETE", "/mpic/" + "0" * 32)
    assert resp.status == 405 and resp.headers.get("Allow") == "GET"

    rid, location = submit(fleet, caa_body("permit.mpic.test"))
    expect_200(poll(fleet, location, coordinator=0))
    r = redislib.Redis(host="127.0.0.1", port=fleet.redis.port)
    key = f"{fleet.key_prefix}:{{{rid}}}:req"
    ttl = r.pttl(key)
    # result_retention_s after the longest the request could run (test_retention.py)
    assert 86400 * 1000 < ttl <= (86400 + 120) * 1000, ttl
    r.delete(key)  # what expiry does
    assert fleet.get(location, coordinator=1).status == 404


def test_bad_async_request_is_still_400(fleet):
    resp = fleet.post({"check_type": "caa"}, headers=ASYNC)
    assert resp.status == 400
    fields = {i["field"] for i in resp.json["validation_issues"]}
    assert "domain_or_ip_target" in fields


def test_many_async_requests_all_complete(fleet):
    targets = ["permit.mpic.test", "deny.mpic.test", "a.b.c.deep.mpic.test"] * 5
    submitted = [(t, submit(fleet, caa_body(t), coordinator=i % 2)[1])
                 for i, t in enumerate(targets)]
    expected = {"permit.mpic.test": True, "deny.mpic.test": False,
                "a.b.c.deep.mpic.test": True}
    for i, (target, location) in enumerate(submitted):
        body = expect_200(poll(fleet, location, coordinator=(i + 1) % 2))
        assert body["is_valid"] is expected[target], (target, json.dumps(body)[:400])
