"""
Slow clients (slowloris) against coordinator.request_read_timeout_ms: evhttp's own timeout
(coordinator.http_timeout_ms, 30 s here) restarts on every byte, so a client trickling one
byte every 250 ms never trips it. The connection guard closes a connection whose request has
not reached its handler within the read deadline (2 s here): trickled headers, a trickled body
after complete headers, and a second trickled request on a keep-alive connection are all cut
soon after the deadline, while normal requests keep being answered. With
coordinator.max_connections reached, a further connection is closed without an answer until
one of the open ones goes away.
"""
import concurrent.futures
import http.client
import re
import socket
import time

import pytest

import mpiclab
from mpiclab import caa_body, expect_200

DEADLINE_S = 2.0
MARGIN_S = 8.0  # generous: the machine is loaded
INTERVAL_S = 0.25


@pytest.fixture(scope="module")
def fleet(make_fleet, knot_honest):
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="slow",
                      coordinator={"request_read_timeout_ms": int(DEADLINE_S * 1000),
                                   "http_timeout_ms": 30000})


def trickle(sock, data, limit=DEADLINE_S + MARGIN_S):
    """
    Sends data one byte per INTERVAL_S on sock until the server closes it. Returns (seconds
    from the call until the close, bytes sent, bytes received); fails after limit seconds.
    """
    t0 = time.monotonic()
    sent, got = 0, b""
    sock.settimeout(INTERVAL_S)
    try:
        while time.monotonic() - t0 < limit:
            if sent < len(data):
                sock.send(data[sent:sent + 1])
                sent += 1
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                continue
            if not chunk:
                return time.monotonic() - t0, sent, got
            got += chunk
    except (BrokenPipeError, ConnectionResetError):
        return time.monotonic() - t0, sent, got
    finally:
        sock.close()
    pytest.fail(f"still open after {limit}s of trickling ({sent} bytes sent, got {got[:200]!r})")


def connect(fleet):
    return socket.create_connection(("127.0.0.1", fleet.coordinator_ports[0]), timeout=10)


ENDLESS_HEADER = b"POST /mpic HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000


def assert_cut(result):
    took, sent, got = result
    assert b"HTTP/1.1 200" not in got, got
    # trickled past the deadline (the guard, not evhttp's inactivity timeout, cut it) ...
    assert took >= DEADLINE_S * 0.9 and sent >= int(DEADLINE_S / INTERVAL_S) - 1, result
    # ... and was cut within the deadline plus a margin
    assert took < DEADLINE_S + MARGIN_S, result


def closed_total(fleet, reason):
    """mpic_http_connections_closed_total{reason=...} from /metrics (0 when absent)."""
    resp = fleet.get("/metrics")
    assert resp.status == 200, resp
    m = re.search(r'^mpic_http_connections_closed_total\{reason="%s"\} (\S+)$' % reason,
                  resp.body, re.M)
    return float(m.group(1)) if m else 0.0


def test_trickled_headers_are_cut_while_others_are_served(fleet):
    before = closed_total(fleet, "read_timeout")
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        slow = [pool.submit(trickle, connect(fleet), ENDLESS_HEADER) for _ in range(10)]
        body = expect_200(fleet.post(caa_body("permit.mpic.test")))
        assert body["is_valid"] is True, body
        assert fleet.get("/healthz").status == 200
        for f in slow:
            assert_cut(f.result(DEADLINE_S + MARGIN_S + 10))
    assert fleet.get("/healthz").status == 200
    assert closed_total(fleet, "read_timeout") >= before + 10


def test_trickled_body_after_complete_headers_is_cut(fleet):
    s = connect(fleet)
    s.sendall(b"POST /mpic HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 5000\r\n\r\n")
    assert_cut(trickle(s, b"{" + b" " * 4999))
    assert fleet.get("/healthz").status == 200


def test_second_request_on_a_keep_alive_connection_is_cut(fleet):
    conn = http.client.HTTPConnection("127.0.0.1", fleet.coordinator_ports[0], timeout=10)
    conn.request("GET", "/healthz")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Connection") != "close"
    resp.read()
    # the first request was answered; the deadline restarts for the next one
    assert_cut(trickle(conn.sock, ENDLESS_HEADER))
    conn.close()


def test_prompt_keep_alive_requests_are_not_cut(fleet):
    """Requests completed in time on one connection, spread over more than the deadline."""
    conn = http.client.HTTPConnection("127.0.0.1", fleet.coordinator_ports[0], timeout=10)
    t0 = time.monotonic()
    n, first = 0, None
    try:
        while time.monotonic() - t0 < DEADLINE_S * 1.5:
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            assert resp.status == 200
            resp.read()
            first = first or conn.sock
            assert conn.sock is first  # never reconnected: one connection throughout
            n += 1
            time.sleep(DEADLINE_S / 4)  # idle gaps shorter than the deadline
    finally:
        conn.close()
    assert n >= 4, n


@pytest.fixture(scope="module")
def capped(make_fleet, knot_honest):
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="capped",
                      coordinator={"max_connections": 4, "request_read_timeout_ms": 20000})


def test_connections_over_max_connections_are_closed(capped):
    held = [connect(capped) for _ in range(4)]
    for s in held:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # incomplete: stays open
    try:
        extra = connect(capped)
        extra.settimeout(10)
        try:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            got = extra.recv(4096)
        except (BrokenPipeError, ConnectionResetError):
            got = b""
        finally:
            extra.close()
        assert got == b"", got
    finally:
        held[0].close()

    def served():
        try:
            return capped.get("/healthz", timeout=2).status == 200
        except OSError:
            return False
    mpiclab.wait_until(served, 15.0, "a connection slot to free up")
    assert closed_total(capped, "max_connections") >= 1
    for s in held[1:]:
        s.close()
