"""
Backpressure and slow clients (issue: hardening): a coordinator holding
coordinator.max_inflight_requests requests answers the next one 503 `overloaded` with
Retry-After at once; a region without workers keeps its job stream near streams.jobs_maxlen;
with coordinator.http_timeout_ms = 1 s a client that stalls in its headers or never finishes
its body is disconnected, headers over 16 KiB and bodies over the limits are refused, and
normal requests are served meanwhile.
evhttp's timeout is an inactivity timeout, so a client trickling one header byte per second is
not cut by it; coordinator.request_read_timeout_ms (the connection guard) is, see
test_slow_clients.py and docs/security.md.
"""
import concurrent.futures
import socket
import time

import pytest
import redis as redislib

import mpiclab
from mpiclab import CODES, caa_body, expect_200

SILENT = "ap-northeast-1"  # no worker: every request waits for its deadline


@pytest.fixture(scope="module")
def fleet(make_fleet, knot_honest):
    workers = mpiclab.uniform_workers(knot_honest.address,
                                      codes=[c for c in CODES if c != SILENT])
    return make_fleet(workers, name="backpressure", streams={"jobs_maxlen": 100},
                      coordinator={"max_inflight_requests": 4, "http_timeout_ms": 1000})


def held_body():
    return caa_body("permit.mpic.test", orchestration={"perspective_count": 6,
                                                       "quorum_count": 6, "deadline_ms": 4000})


def test_overload_answers_503_at_once(fleet):
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        held = [pool.submit(fleet.post, held_body(), 20.0) for _ in range(4)]
        mpiclab.wait_until(lambda: fleet.get("/healthz").json["in_flight"] == 4, 10.0,
                           "four held requests")
        resp = fleet.post(caa_body("permit.mpic.test"), timeout=10)
        assert resp.status == 503, resp
        assert resp.elapsed < 1.0, resp.elapsed
        assert resp.headers.get("Retry-After") == "1"
        assert resp.json["error"] == "overloaded", resp
        for f in held:
            assert expect_200(f.result(20))["is_valid"] is False  # the silent one is missing
    assert expect_200(fleet.post(caa_body("permit.mpic.test", orchestration={
        "perspective_count": 6, "quorum_count": 4, "deadline_ms": 3000})))["is_valid"] is True


def test_job_stream_of_a_dead_region_stays_bounded(fleet):
    r = redislib.Redis(host="127.0.0.1", port=fleet.redis.port)
    key = f"{fleet.key_prefix}:jobs:{{{SILENT}}}"
    for _ in range(260):
        resp = fleet.post(caa_body("permit.mpic.test", orchestration={
            "perspective_count": 6, "quorum_count": 4, "deadline_ms": 1000}),
            headers={"Prefer": "respond-async"})
        assert resp.status == 202, resp
    length = r.xlen(key)
    # MAXLEN ~ trims whole macro nodes (100 entries): at most maxlen + one node remains
    assert 100 <= length <= 200, length


def raw(fleet, data, wait=5.0):
    """Sends data on a new connection; returns (bytes received, seconds until closed)."""
    s = socket.create_connection(("127.0.0.1", fleet.coordinator_ports[0]), timeout=wait)
    t0 = time.monotonic()
    s.sendall(data)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pytest.fail(f"connection still open after {wait}s: {got[:200]!r}")
    finally:
        s.close()
    return got, time.monotonic() - t0


def test_stalled_headers_are_disconnected(fleet):
    got, took = raw(fleet, b"POST /mpic HTTP/1.1\r\nHost: x\r\nContent-Ty")
    assert took < 4.0 and b"200 OK" not in got, (took, got)
    assert fleet.get("/healthz").status == 200


def test_unfinished_body_is_disconnected(fleet):
    got, took = raw(fleet, b"POST /mpic HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                           b"\r\nContent-Length: 100\r\n\r\n{\"check_type\"")
    assert took < 4.0 and b"200 OK" not in got, (took, got)


def test_huge_headers_are_refused(fleet):
    got, _ = raw(fleet, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 +
                 b"\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 413") or got.startswith(b"HTTP/1.1 400") or got == b"", got


def test_bodies_over_the_limits(fleet):
    resp = fleet.post("x" * (70 * 1024), timeout=10)  # over /mpic's 64 KiB
    assert resp.status == 413 and resp.json["error"] == "request-too-large", resp
    got, _ = raw(fleet, b"POST /mpic HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 413"), got  # evhttp's own 1 MiB cap, before the body


def test_served_while_slow_clients_hang_on(fleet):
    slow = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", fleet.coordinator_ports[0]), timeout=5)
        s.sendall(b"POST /mpic HTTP/1.1\r\nHost: x\r\n")
        slow.append(s)
    try:
        body = expect_200(fleet.post(caa_body("deny.mpic.test", orchestration={
            "perspective_count": 6, "quorum_count": 4, "deadline_ms": 3000})))
        assert body["is_valid"] is False
    finally:
        for s in slow:
            s.close()
