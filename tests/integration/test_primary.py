"""
The primary perspective end to end (Boulder's rule: valid only if the primary passes AND the
remote quorum holds). acme-http-01 on an IP literal, so no DNS is involved: the remotes' workers
fetch from a server that always answers the right key authorization; the primary's worker
fetches from one that answers it only for GOOD_TOKEN. Also: a primary that never reports
(no worker) makes the verdict wait for the deadline and fail; the response lists the primary
under primary_perspective and keeps perspectives as the remote cohort; a primary that is not
a configured perspective is a configuration error.
"""
import http.server
import json
import os
import subprocess

import pytest

import dnsseclab
import mpiclab
from dnsseclab import PRIMARY, REMOTES
from mpiclab import by_code, expect_200, http01_body

GOOD_TOKEN = "primary-good-token"
BAD_TOKEN = "primary-bad-token"
THUMB = ".primary-thumbprint"


class KeyAuthServer:
    """Answers /.well-known/acme-challenge/<token> with token + THUMB for tokens in `good`."""

    def __init__(self, good):
        outer = self
        self.good = set(good)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # called by http.server for each GET
                token = self.path.rsplit("/", 1)[-1]
                body = (token + THUMB if token in outer.good else "wrong").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.http = mpiclab.ThreadedHTTP(Handler).start()
        self.port = self.http.port

    def stop(self):
        self.http.stop()


@pytest.fixture(scope="module")
def servers():
    remote = KeyAuthServer({GOOD_TOKEN, BAD_TOKEN})
    primary = KeyAuthServer({GOOD_TOKEN})
    yield remote, primary
    remote.stop()
    primary.stop()


def workers_for(remote_port, primary_port=None):
    w = {code: [{"http_port": remote_port}] for code in REMOTES}
    if primary_port is not None:
        w[PRIMARY] = [{"http_port": primary_port}]
    return w


@pytest.fixture(scope="module")
def fleet(workdir, redis_server, servers):
    remote, primary = servers
    f = dnsseclab.start_fleet(workdir, redis_server, workers_for(remote.port, primary.port),
                              name="primary")
    yield f
    f.stop()


def body(token, deadline_ms=None):
    orch = {"deadline_ms": deadline_ms} if deadline_ms else None
    return http01_body("127.0.0.1", token, token + THUMB, orchestration=orch)


def test_primary_and_quorum_pass(fleet):
    b = expect_200(fleet.post(body(GOOD_TOKEN)))
    assert b["is_valid"] is True, b
    assert list(b) == mpiclab.TOP_LEVEL_KEYS_DCV
    # perspectives stays the remote cohort; the primary is listed on its own
    assert sorted(by_code(b)) == sorted(REMOTES)
    assert PRIMARY not in by_code(b)
    p = b["primary_perspective"]
    assert list(p) == ["perspective_code", "check_response"]
    assert p["perspective_code"] == PRIMARY
    assert list(p["check_response"]) == mpiclab.CHECK_RESPONSE_KEYS
    assert p["check_response"]["check_passed"] is True
    assert b["actual_orchestration_parameters"]["perspective_count"] == 3


def test_primary_fails_alone_is_invalid(fleet):
    b = expect_200(fleet.post(body(BAD_TOKEN)))
    remotes = by_code(b)
    assert all(cr["check_passed"] for cr in remotes.values()), remotes  # full remote quorum
    assert b["primary_perspective"]["check_response"]["check_passed"] is False
    assert b["is_valid"] is False


def test_missing_primary_waits_for_the_deadline(workdir, redis_server, servers):
    remote, _ = servers
    f = dnsseclab.start_fleet(workdir, redis_server, workers_for(remote.port),
                              name="primary-missing")
    try:
        r = f.post(body(GOOD_TOKEN, deadline_ms=3000))
        b = expect_200(r)
        assert all(cr["check_passed"] for cr in by_code(b).values())
        assert b["is_valid"] is False
        cr = b["primary_perspective"]["check_response"]
        assert cr["check_completed"] is False
        assert mpiclab.error_types(cr) == ["mpic_error:coordinator:deadline"]
    finally:
        f.stop()


def test_no_primary_configured(workdir, redis_server, servers):
    remote, _ = servers
    f = dnsseclab.start_fleet(workdir, redis_server, workers_for(remote.port), primary=None,
                              name="primary-none")
    try:
        b = expect_200(f.post(body(BAD_TOKEN)))
        assert b["is_valid"] is True  # today's behaviour: the remotes alone decide
        assert b["primary_perspective"] is None
    finally:
        f.stop()


def test_unknown_primary_is_a_config_error(workdir, redis_server):
    fleet = mpiclab.Fleet(workdir, redis_server, {}, name="primary-bad",
                          perspectives=dnsseclab.LAB_PERSPECTIVES)
    fleet.config["primary_perspective"] = "nowhere-1"
    path = os.path.join(workdir, "primary-bad.json")
    with open(path, "w") as f:
        json.dump(fleet.config, f)
    for env, name in (("MPIC_COORDINATOR", "mpic-coordinator"), ("MPIC_WORKER", "mpic-worker")):
        out = subprocess.run([mpiclab.binary(env, name), "--config", path, "--perspective",
                              "us-east-1"] if name == "mpic-worker" else
                             [mpiclab.binary(env, name), "--config", path],
                             capture_output=True, text=True, timeout=20)
        assert out.returncode == 2, out
        assert "primary_perspective" in out.stdout + out.stderr
