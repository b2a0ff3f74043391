"""
HTTPS on the coordinator listener (coordinator.tls) with required client certificates: a
client with a certificate chained to client_ca_file gets verdicts (and /healthz, /metrics) over
TLS; no client certificate, one from another CA, plain HTTP on the TLS port and a TLS 1.1-only
client all fail before any HTTP exchange, while the coordinator keeps serving. A private key
file readable by group/other (0644), a key that does not match the certificate and a
half-configured section stop the coordinator at startup with exit 2 and a message naming the
key. A client stalling in the TLS handshake is closed by coordinator.request_read_timeout_ms.
The certificates are made by the test (tlspki.py).
"""
import json
import os
import socket
import ssl
import subprocess
import time

import pytest

import mpiclab
import tlspki
from mpiclab import caa_body, expect_200


@pytest.fixture(scope="module")
def pki(workdir):
    d = os.path.join(workdir, "tls-pki")
    os.makedirs(d, mode=0o700, exist_ok=True)
    p = {"dir": d}
    p["server_ca"] = tlspki.make_ca("mpic test server CA").write(d, "server-ca")
    p["client_ca"] = tlspki.make_ca("mpic test client CA").write(d, "client-ca")
    p["other_ca"] = tlspki.make_ca("mpic other CA").write(d, "other-ca")
    p["server"] = tlspki.make_server(p["server_ca"]).write(d, "server")
    p["client"] = tlspki.make_client(p["client_ca"], "ca-frontend").write(d, "client")
    p["stranger"] = tlspki.make_client(p["other_ca"], "ca-frontend").write(d, "stranger")
    return p


def tls_section(pki, **over):
    sec = {"cert_file": pki["server"].cert_path, "key_file": pki["server"].key_path,
           "client_ca_file": pki["client_ca"].cert_path, "require_client_cert": True}
    sec.update(over)
    return sec


@pytest.fixture(scope="module")
def fleet(make_fleet, knot_honest, pki):
    good = tlspki.client_context(pki["server_ca"], pki["client"])
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="tls",
                      coordinator={"tls": tls_section(pki), "request_read_timeout_ms": 3000},
                      client_ssl=good)


def port(fleet):
    return fleet.coordinator_ports[0]


def https_get(fleet, ctx, path="/healthz"):
    return mpiclab.http_request("127.0.0.1", port(fleet), "GET", path, timeout=10,
                                ssl_context=ctx)


def test_valid_client_certificate_gets_a_verdict(fleet):
    body = expect_200(fleet.post(caa_body("permit.mpic.test")))
    assert body["is_valid"] is True, body
    resp = fleet.get("/healthz")
    assert resp.status == 200 and resp.json["status"] == "healthy", resp
    resp = fleet.get("/metrics")
    assert resp.status == 200 and "mpic_" in resp.body, resp


def assert_refused(fleet, ctx):
    """
    The TLS exchange fails without any HTTP answer: under TLS 1.2 at the handshake; under
    TLS 1.3 the client's handshake ends before the server checks its certificate, so the
    failure shows at the first read (the server's alert, or just the closed connection).
    """
    got = b""
    with pytest.raises((ssl.SSLError, ConnectionError)) as info:
        with socket.create_connection(("127.0.0.1", port(fleet)), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                got = s.recv(4096)
    assert got == b"", got
    return str(info.value)


def pinned(ctx, version):
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


VERSIONS = [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]


@pytest.mark.parametrize("version", VERSIONS)
def test_no_client_certificate_fails_the_handshake(fleet, pki, version):
    msg = assert_refused(fleet, pinned(tlspki.client_context(pki["server_ca"]), version))
    if version == ssl.TLSVersion.TLSv1_2:
        assert "handshake failure" in msg.lower() or "certificate" in msg.lower(), msg
    assert fleet.get("/healthz").status == 200


@pytest.mark.parametrize("version", VERSIONS)
def test_client_certificate_of_another_ca_fails(fleet, pki, version):
    ctx = tlspki.client_context(pki["server_ca"], pki["stranger"])
    msg = assert_refused(fleet, pinned(ctx, version))
    if version == ssl.TLSVersion.TLSv1_2:
        assert "unknown ca" in msg.lower(), msg
    assert fleet.get("/healthz").status == 200


def test_plain_http_on_the_tls_port_fails_cleanly(fleet):
    with socket.create_connection(("127.0.0.1", port(fleet)), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
    assert b"HTTP/1." not in got and b"healthy" not in got, got  # closed, no plain answer
    assert fleet.get("/healthz").status == 200


def test_tls_1_1_client_is_refused(fleet, pki):
    old = tlspki.client_context(pki["server_ca"], pki["client"],
                                max_version=ssl.TLSVersion.TLSv1_1,
                                min_version=ssl.TLSVersion.TLSv1)
    with pytest.raises((ssl.SSLError, ConnectionError)) as info:
        https_get(fleet, old)
    msg = str(info.value)
    # the server's alert, not a client that could not even offer TLS 1.1
    assert "protocol version" in msg.lower() or "wrong version" in msg.lower() or \
        "unsupported protocol" in msg.lower(), msg
    # the same relaxed client allowed TLS 1.2 is served: the refusal was the version
    ok = tlspki.client_context(pki["server_ca"], pki["client"],
                               max_version=ssl.TLSVersion.TLSv1_2,
                               min_version=ssl.TLSVersion.TLSv1)
    assert https_get(fleet, ok).status == 200


@pytest.mark.parametrize("first_bytes", [b"", b"\x16\x03\x01\x00\xc8\x01"])
def test_stalled_tls_handshake_is_closed(fleet, first_bytes):
    """Nothing, or the first bytes of a ClientHello, then silence: closed at the deadline."""
    with socket.create_connection(("127.0.0.1", port(fleet)), timeout=15) as s:
        t0 = time.monotonic()
        s.sendall(first_bytes)
        try:
            got = s.recv(4096)
        except ConnectionResetError:
            got = b""
        took = time.monotonic() - t0
    assert got == b"" and 2.5 <= took < 12.0, (got, took)
    assert fleet.get("/healthz").status == 200


def start_coordinator(workdir, fleet, tls, name):
    cfg = json.loads(json.dumps(fleet.config))
    cfg["coordinator"]["tls"] = tls
    path = os.path.join(workdir, f"{fleet.name}-{name}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return subprocess.run([mpiclab.binary("MPIC_COORDINATOR", "mpic-coordinator"), "--config",
                           path, "--listen", f"127.0.0.1:{mpiclab.free_port()}"],
                          capture_output=True, text=True, timeout=20)


def test_group_readable_key_file_refuses_to_start(workdir, fleet, pki):
    loose = tlspki.make_server(pki["server_ca"]).write(pki["dir"], "loose", key_mode=0o644)
    out = start_coordinator(workdir, fleet, tls_section(pki, cert_file=loose.cert_path,
                                                        key_file=loose.key_path), "loose")
    assert out.returncode == 2, out
    assert "coordinator.tls.key_file" in out.stderr and "0644" in out.stderr, out.stderr


@pytest.mark.parametrize("change, key", [
    ({"key_file": "KEY_OF_OTHER"}, "coordinator.tls.key_file"),
    ({"client_ca_file": None}, "coordinator.tls.require_client_cert"),
    ({"cert_file": "/nonexistent/server.crt"}, "coordinator.tls.cert_file"),
    ({"require_client_cert": "yes"}, "coordinator.tls.require_client_cert"),
    ({"verify_depth": 3}, "coordinator.tls.verify_depth"),
])
def test_bad_tls_config_exits_2_naming_the_key(workdir, fleet, pki, change, key):
    if change.get("key_file") == "KEY_OF_OTHER":
        change = {"key_file": pki["client"].key_path}  # a valid 0600 key, not the cert's
    out = start_coordinator(workdir, fleet, tls_section(pki, **change), key.rsplit(".", 1)[1])
    assert out.returncode == 2, out
    assert key in out.stderr, out.stderr
