"""
Hostile DNS answers (issue: hardening): a raw UDP+TCP server that answers with crafted bytes —
compression-pointer loops, pointers past the end, record lengths past the end, counts that lie,
wrong transaction ids, garbage, truncation followed by a closed TCP connection, and a 64 KiB
UDP datagram. Every perspective must fail cleanly (lookup error, never permission) within the
request's deadline, and the workers must stay alive with bounded memory.
"""
import os
import socket
import struct
import threading
import time

import pytest

import mpiclab
from mpiclab import by_code, caa_body, dns01_body, expect_200

QTYPE_TXT, QTYPE_CAA = 16, 257


def _parse_query(data):
    """(id, question bytes, qname lower-case, qtype) of a query, or None."""
    if len(data) < 12:
        return None
    qid = struct.unpack("!H", data[:2])[0]
    pos, labels = 12, []
    while pos < len(data) and data[pos] != 0:
        n = data[pos]
        labels.append(data[pos + 1:pos + 1 + n].decode("ascii", "replace").lower())
        pos += 1 + n
    end = pos + 5
    if end > len(data):
        return None
    qtype = struct.unpack("!H", data[pos + 1:pos + 3])[0]
    return qid, data[12:end], ".".join(labels), qtype


def _header(qid, flags=0x8180, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def _caa_rdata(tag, value, flags=0):
    return bytes([flags, len(tag)]) + tag.encode() + value.encode()


def _rr(name_bytes, rtype, rdata, rdlength=None):
    return name_bytes + struct.pack("!HHIH", rtype, 1, 60,
                                    len(rdata) if rdlength is None else rdlength) + rdata


def craft(data, transport):
    """The hostile answer for one query, chosen by the first label of the name."""
    parsed = _parse_query(data)
    if parsed is None:
        return None
    qid, question, name, qtype = parsed
    kind = name.split(".")[0]
    if kind.startswith("_acme-challenge"):
        kind = name.split(".")[1]
    qptr = b"\xc0\x0c"  # the question name
    if kind == "loop":  # the answer's owner name points at itself
        off = 12 + len(question)
        return _header(qid, an=1) + question + _rr(struct.pack("!H", 0xC000 | off), qtype, b"")
    if kind == "ptrpast":  # a compression pointer beyond the message
        return _header(qid, an=1) + question + _rr(b"\xcf\xff", qtype, b"")
    if kind == "rdlen":  # rdlength runs past the end of the message
        return _header(qid, an=1) + question + _rr(qptr, qtype, b"\x00\x05issue", rdlength=500)
    if kind == "countlie":  # ANCOUNT says 40, one record follows
        rd = _caa_rdata("issue", "ca.mpic.test") if qtype == QTYPE_CAA else b"\x02ok"
        return _header(qid, an=40) + question + _rr(qptr, qtype, rd)
    if kind == "wrongid":  # a plausible answer with another transaction id
        rd = _caa_rdata("issue", "ca.mpic.test") if qtype == QTYPE_CAA else b"\x02ok"
        return _header(qid ^ 0x5A5A, an=1) + question + _rr(qptr, qtype, rd)
    if kind == "garbage":
        return struct.pack("!H", qid) + os.urandom(300)
    if kind == "tcclose":  # truncated over UDP; the TCP connection is closed at once
        return _header(qid, flags=0x8380) + question if transport == "udp" else b""
    if kind == "huge":  # one 64 KiB datagram of denying CAA (or junk TXT) records
        rd = (_caa_rdata("issue", "evil.example") if qtype == QTYPE_CAA
              else b"\xff" + b"x" * 255)
        rr = _rr(qptr, qtype, rd)
        count = (65000 - 12 - len(question)) // len(rr)
        return _header(qid, an=count) + question + rr * count
    if kind == "labels":  # an owner name of 200 one-byte labels (over 255 bytes)
        long_name = b"\x01a" * 200 + b"\x00"
        return _header(qid, an=1) + question + _rr(long_name, qtype, b"\x00\x05issue")
    return _header(qid, flags=0x8183) + question  # NXDOMAIN for anything else


class HostileDNS:
    """Raw UDP and TCP DNS server on one loopback port, answering with craft()."""

    def __init__(self):
        self.port = mpiclab.free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(64)
        self.running = True
        self.queries = 0
        self.threads = [threading.Thread(target=self._serve_udp, daemon=True),
                        threading.Thread(target=self._serve_tcp, daemon=True)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.running = False
        self.udp.close()
        self.tcp.close()

    def _serve_udp(self):  # runs in its own thread until stop()
        while self.running:
            try:
                data, peer = self.udp.recvfrom(4096)
            except OSError:
                return
            self.queries += 1
            answer = craft(data, "udp")
            if answer:
                try:
                    self.udp.sendto(answer, peer)
                except OSError:
                    pass

    def _serve_tcp(self):  # runs in its own thread until stop()
        while self.running:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2.0)
                try:
                    head = conn.recv(2)
                    if len(head) < 2:
                        continue
                    want = struct.unpack("!H", head)[0]
                    data = b""
                    while len(data) < want:
                        chunk = conn.recv(want - len(data))
                        if not chunk:
                            break
                        data += chunk
                    answer = craft(data, "tcp")
                    if answer:
                        conn.sendall(struct.pack("!H", len(answer) & 0xFFFF) + answer)
                except OSError:
                    pass


@pytest.fixture(scope="module")
def hostile():
    server = HostileDNS().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fleet(make_fleet, hostile):
    return make_fleet(mpiclab.uniform_workers(hostile.address), name="hostile-dns")


KINDS = ["loop", "ptrpast", "rdlen", "countlie", "wrongid", "garbage", "tcclose", "labels"]


def assert_failed_cleanly(body, what, completed_ok=False):
    assert body["is_valid"] is False, (what, body)
    for code, cr in by_code(body).items():
        assert cr["check_passed"] is False, (what, code, cr)
        if not completed_ok:
            assert cr["check_completed"] is False, (what, code, cr)
        assert cr["errors"], (what, code, cr)
        assert cr["errors"][0]["error_type"].endswith(":lookup") or completed_ok, (what, cr)


@pytest.mark.parametrize("kind", KINDS)
def test_caa_against_hostile_answers(fleet, kind):
    t0 = time.monotonic()
    body = expect_200(fleet.post(caa_body(f"{kind}.hostile.test",
                                          orchestration={"deadline_ms": 8000}), timeout=20))
    assert_failed_cleanly(body, kind)
    assert time.monotonic() - t0 < 12.0
    for code, cr in by_code(body).items():  # messages name the name and the perspective
        assert "hostile.test" in cr["errors"][0]["error_message"], cr
        assert code in cr["errors"][0]["error_message"], cr


@pytest.mark.parametrize("kind", ["loop", "rdlen", "wrongid", "garbage", "tcclose"])
def test_dns01_against_hostile_answers(fleet, kind):
    body = expect_200(fleet.post(dns01_body(f"{kind}.hostile.test", "a" * 43,
                                            orchestration={"deadline_ms": 8000}), timeout=20))
    assert_failed_cleanly(body, kind)


def test_huge_datagram_is_bounded(fleet):
    """A 64 KiB UDP answer: either rejected or parsed, never permission, never a crash."""
    body = expect_200(fleet.post(caa_body("huge.hostile.test",
                                          orchestration={"deadline_ms": 8000}), timeout=20))
    assert_failed_cleanly(body, "huge", completed_ok=True)
    body = expect_200(fleet.post(dns01_body("huge.hostile.test", "a" * 43,
                                            orchestration={"deadline_ms": 8000}), timeout=20))
    assert_failed_cleanly(body, "huge-txt", completed_ok=True)


def test_workers_survive_and_stay_small(fleet, hostile):
    """After all of the above every worker still answers /healthz, and its RSS is modest."""
    assert hostile.queries > 0
    for procs in fleet.workers.values():
        for p in procs:
            assert p.alive(), p.name
            assert fleet_health(p) == 200, p.name
            rss_kib = int(next(line.split()[1] for line in open(f"/proc/{p.pid}/status")
                               if line.startswith("VmRSS:")))
            assert rss_kib < 256 * 1024, (p.name, rss_kib)


def fleet_health(p):
    return mpiclab.http_request("127.0.0.1", p.health_port, "GET", "/healthz").status
