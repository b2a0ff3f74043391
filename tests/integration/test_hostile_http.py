"""
Hostile HTTP challenge servers (issue: hardening): a raw TCP server that trickles its headers a
byte at a time, streams an endless body, redirects forever, answers with HTTP/2 frames on port
80, sends a header section of megabytes, or accepts and never answers. Each perspective must
fail with a clear error (never pass) within the request's deadline, with bounded memory.
"""
import socket
import threading
import time

import pytest

import mpiclab
from mpiclab import by_code, expect_200, http01_body

H2_PREFACE_SETTINGS = bytes.fromhex("000000040000000000")  # an empty HTTP/2 SETTINGS frame


class HostileHTTP:
    """Raw TCP server on 127.0.0.1; the behaviour is picked by the first label of Host."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(128)
        self.running = True
        self.sent_bytes = {}
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.running = False
        self.sock.close()

    def _accept(self):  # runs in its own thread until stop()
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):  # one thread per connection
        conn.settimeout(30)
        kind = "?"
        sent = 0
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"host:"):
                    kind = line.split(b":", 1)[1].strip().split(b".")[0].decode()
            if kind == "trickle":  # one byte of the status line every 200 ms
                for b in b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello":
                    conn.sendall(bytes([b]))
                    sent += 1
                    time.sleep(0.2)
            elif kind == "endless":  # a body that never ends, as fast as the peer reads
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
                block = b"x" * 65536
                while self.running and sent < 8 << 30:
                    sent += conn.send(block)
            elif kind == "loop":  # redirects to itself forever
                conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: " +
                             head.split(b" ")[1] + b"\r\nContent-Length: 0\r\n\r\n")
            elif kind == "h2":  # HTTP/2 frames where HTTP/1.1 is expected
                conn.sendall(H2_PREFACE_SETTINGS * 4)
                sent = len(H2_PREFACE_SETTINGS) * 4
                time.sleep(1)
            elif kind == "bigheaders":  # an endless header section
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                line = b"X-Junk: " + b"j" * 8000 + b"\r\n"
                while self.running and sent < 64 << 20:
                    sent += conn.send(line)
            elif kind == "silent":  # accepts, reads the request, never answers
                time.sleep(20)
        except OSError:
            pass  # the peer gave up: that is what the hostile cases expect
        finally:
            self.sent_bytes[kind] = self.sent_bytes.get(kind, 0) + sent
            conn.close()


@pytest.fixture(scope="module")
def hostile():
    server = HostileHTTP().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fleet(make_fleet, cts_honest, hostile):
    return make_fleet(mpiclab.uniform_workers(cts_honest.address, http_port=hostile.port),
                      name="hostile-http")


@pytest.mark.parametrize("kind", ["trickle", "endless", "loop", "h2", "bigheaders", "silent"])
def test_hostile_http01_server_fails_cleanly(fleet, kind):
    token = mpiclab.random_token(43)
    t0 = time.monotonic()
    body = expect_200(fleet.post(http01_body(f"{kind}.hostile.mpic.test", token, token + ".k",
                                             orchestration={"deadline_ms": 10000}),
                                 timeout=30))
    elapsed = time.monotonic() - t0
    assert body["is_valid"] is False, (kind, body)
    for code, cr in by_code(body).items():
        assert cr["check_passed"] is False, (kind, code, cr)
        assert cr["errors"], (kind, code, cr)
        msg = cr["errors"][0]["error_message"]
        assert cr["errors"][0]["error_type"].startswith("mpic_error:"), cr
        assert msg, cr
    assert elapsed < 15.0, (kind, elapsed)


def test_endless_body_read_is_bounded(hostile):
    """The workers stopped reading the endless body early: far less than what a naive client
    would have swallowed in the same time."""
    assert 0 < hostile.sent_bytes.get("endless", 0) < 6 * (256 << 20), hostile.sent_bytes


def test_workers_alive_and_small_after_hostile_servers(fleet):
    for procs in fleet.workers.values():
        for p in procs:
            assert p.alive(), p.name
            status = mpiclab.http_request("127.0.0.1", p.health_port, "GET", "/healthz").status
            assert status == 200, p.name
            rss_kib = int(next(line.split()[1] for line in open(f"/proc/{p.pid}/status")
                               if line.startswith("VmRSS:")))
            assert rss_kib < 256 * 1024, (p.name, rss_kib)
