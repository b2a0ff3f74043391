"""
SSRF (issue: hardening): with the lab switch off (workers without --lab-allow-private, but
with --lab-http-port pointing at a listener the test runs on 127.0.0.1), acme-http-01 and
website-change targets whose names resolve to 127.0.0.1, 10.x, ::1 or 169.254.169.254, IP
literal targets, and a name whose A record (TTL 0) flips between a public-looking and a
private address on every query (DNS rebinding) are each refused with a clear error, and the
listener never sees a connection: the worker connects only to the address it resolved and
checked (CURLOPT_CONNECT_TO pinning plus the OPENSOCKETFUNCTION veto).
Redirects to private addresses need a first hop on a public address, which the test machine
cannot offer with the switch off; worker/http_walk's unit tests and the namespace lab cover
them.
"""
import socket
import threading

import dnslib
import pytest

import mpiclab
from mpiclab import by_code, expect_200, http01_body

PUBLIC = "93.184.216.34"  # public-looking; no route from the test machine is needed
ANSWERS = {"loop": ("A", "127.0.0.1"), "ten": ("A", "10.1.2.3"), "six": ("AAAA", "::1"),
           "meta": ("A", "169.254.169.254"), "mapped": ("AAAA", "::ffff:127.0.0.1")}


class ScriptedDNS:
    """UDP DNS server: <kind>.ssrf.test answers from ANSWERS; flip.ssrf.test alternates
    PUBLIC and 127.0.0.1 with TTL 0 on every A query."""

    def __init__(self):
        self.port = mpiclab.free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", self.port))
        self.flips = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.sock.close()

    def _answer(self, q):
        name = str(q.q.qname).rstrip(".").lower()
        qtype = dnslib.QTYPE[q.q.qtype]
        reply = q.reply()
        kind = name.split(".")[0]
        if kind == "flip" and qtype == "A":
            self.flips += 1
            ip = PUBLIC if self.flips % 2 else "127.0.0.1"
            reply.add_answer(dnslib.RR(name, dnslib.QTYPE.A, rdata=dnslib.A(ip), ttl=0))
        elif kind in ANSWERS and ANSWERS[kind][0] == qtype:
            rtype, ip = ANSWERS[kind]
            rdata = (dnslib.A(ip) if rtype == "A"
                     else dnslib.AAAA(list(socket.inet_pton(socket.AF_INET6, ip))))
            reply.add_answer(dnslib.RR(name, getattr(dnslib.QTYPE, rtype), rdata=rdata, ttl=0))
        return reply

    def _serve(self):  # runs in its own thread until stop()
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                self.sock.sendto(self._answer(dnslib.DNSRecord.parse(data)).pack(), peer)
            except Exception:  # a malformed query: no answer
                pass


class Listener:
    """TCP listener on 127.0.0.1 and ::1 (same port) counting every accepted connection."""

    def __init__(self):
        self.port = mpiclab.free_port()
        self.accepted = []
        self.socks = []
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, self.port))
            except OSError:
                s.close()
                continue
            s.listen(16)
            self.socks.append(s)
            threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, s):  # runs in its own thread until stop()
        while True:
            try:
                conn, peer = s.accept()
            except OSError:
                return
            self.accepted.append(peer)
            conn.close()

    def stop(self):
        for s in self.socks:
            s.close()


@pytest.fixture(scope="module")
def lab(make_fleet):
    dns = ScriptedDNS().start()
    listener = Listener()
    workers = mpiclab.uniform_workers(dns.address, http_port=listener.port,
                                      overrides={c: {"allow_private": False}
                                                 for c in mpiclab.CODES})
    fleet = make_fleet(workers, name="ssrf", worker={"http_connect_timeout_ms": 1500})
    yield fleet, dns, listener
    listener.stop()
    dns.stop()


def check_refused(fleet, listener, target, expect_in_error):
    token = mpiclab.random_token(43)
    resp = fleet.post(http01_body(target, token, token + ".x",
                                  orchestration={"deadline_ms": 8000}), timeout=30)
    body = expect_200(resp)
    assert body["is_valid"] is False, body
    for code, cr in by_code(body).items():
        assert cr["check_passed"] is False, (target, code, cr)
        text = " ".join(e["error_message"] for e in cr["errors"] or [])
        if expect_in_error is not None:
            assert expect_in_error in text, (target, code, cr["errors"])
    assert listener.accepted == [], (target, listener.accepted)
    return body


@pytest.mark.parametrize("kind", sorted(ANSWERS))
def test_names_resolving_to_special_purpose_addresses(lab, kind):
    fleet, _, listener = lab
    check_refused(fleet, listener, f"{kind}.ssrf.test", "special-purpose")


@pytest.mark.parametrize("target", ["127.0.0.1", "10.0.0.1", "169.254.169.254"])
def test_ip_literal_targets(lab, target):
    fleet, _, listener = lab
    check_refused(fleet, listener, target, "special-purpose")


def test_dns_rebinding_never_reaches_the_private_address(lab):
    """Each perspective asks once per hop; whichever answer it got, it connects only to that
    address: the public one (unreachable here: a connect error) or none at all."""
    fleet, dns, listener = lab
    for _ in range(3):
        check_refused(fleet, listener, "flip.ssrf.test", None)
    assert dns.flips >= 6, dns.flips  # both answers were handed out
    assert listener.accepted == []
