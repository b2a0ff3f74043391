"""
API authentication end to end: with API keys configured, POST /mpic needs a key sent as
`Authorization: Bearer <key>` or `x-api-key: <key>`: none -> 401 with WWW-Authenticate,
a wrong or malformed one -> 401 invalid_token, a key not allowed on the route -> 403, a
good key -> 200 and a verdict. /healthz stays open by default and needs a key when
coordinator.api_auth.healthz is true. The config stores only SHA-256 hashes.
"""
import hashlib
import json
import os

import pytest

import mpiclab
from mpiclab import caa_body

CA_KEY = "ca-key-" + "x" * 24
MONITOR_KEY = "monitor-key-" + "y" * 20


def sha(key):
    return hashlib.sha256(key.encode()).hexdigest()


API_AUTH = {"keys": [{"name": "ca", "sha256": sha(CA_KEY)},
                     {"name": "monitor", "sha256": sha(MONITOR_KEY), "routes": ["healthz"]}]}


@pytest.fixture(scope="module")
def fleet(make_fleet, knot_honest):
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="auth",
                      coordinator={"api_auth": API_AUTH})


def assert_problem(resp, status, error):
    assert resp.status == status, resp
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers
    assert resp.json["error"] == error, resp.json
    assert resp.json.get("message") or resp.json.get("detail"), resp.json


def test_missing_key_is_401_with_challenge(fleet):
    resp = fleet.post(caa_body("quorum.mpic.test"))
    assert_problem(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer"), resp.headers
    # also before looking at the method or the body
    resp = fleet.request("GET", "/mpic")
    assert_problem(resp, 401, "unauthorized")


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer wrong-key"},
    {"x-api-key": "wrong-key"},
    {"Authorization": "Basic " + CA_KEY},
    {"Authorization": "Bearer " + CA_KEY + "x"},
    {"Authorization": "Bearer " + "k" * 600},
    {"Authorization": "Bearer "},
])
def test_invalid_key_is_401(fleet, headers):
    resp = fleet.post(caa_body("quorum.mpic.test"), headers=headers)
    assert_problem(resp, 401, "unauthorized")
    assert "invalid_token" in resp.headers["WWW-Authenticate"], resp.headers


def test_key_without_the_route_is_403(fleet):
    resp = fleet.post(caa_body("quorum.mpic.test"), headers={"x-api-key": MONITOR_KEY})
    assert_problem(resp, 403, "forbidden")


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer " + CA_KEY},
                                     {"authorization": "bearer " + CA_KEY},
                                     {"x-api-key": CA_KEY}])
def test_good_key_gets_a_verdict(fleet, headers):
    resp = fleet.post(caa_body("quorum.mpic.test"), headers=headers)
    body = mpiclab.expect_200(resp)
    assert body["is_valid"] is True, body


def test_healthz_open_by_default(fleet):
    assert fleet.get("/healthz").status == 200


def test_healthz_protected_when_configured(fleet, workdir):
    """A second coordinator on the same config plus api_auth.healthz = true."""
    cfg = json.loads(json.dumps(fleet.config))
    port = mpiclab.free_port()
    cfg["coordinator"]["listen"] = f"127.0.0.1:{port}"
    cfg["coordinator"]["api_auth"] = dict(API_AUTH, healthz=True)
    path = os.path.join(workdir, "auth-healthz.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    p = mpiclab.Process("auth-healthz-coordinator",
                        [mpiclab.binary("MPIC_COORDINATOR", "mpic-coordinator"), "--config",
                         path], workdir, kind="coordinator").start()
    try:
        p.wait_for_http("127.0.0.1", port, "/healthz", 401, 15.0)
        resp = mpiclab.http_request("127.0.0.1", port, "GET", "/healthz")
        assert_problem(resp, 401, "unauthorized")
        # healthy (200) once its Redis connections and consumer groups are ready
        resp = mpiclab.wait_until(
            lambda: (lambda r: r if r.status == 200 else None)(mpiclab.http_request(
                "127.0.0.1", port, "GET", "/healthz", headers={"x-api-key": MONITOR_KEY})),
            15.0, "the keyed /healthz to answer 200")
        assert resp.json["status"] == "healthy", resp
        resp = mpiclab.http_request("127.0.0.1", port, "GET", "/healthz",
                                    headers={"x-api-key": "nope"})
        assert_problem(resp, 401, "unauthorized")
    finally:
        assert p.stop() == 0
