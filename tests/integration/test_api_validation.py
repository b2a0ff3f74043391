"""
The HTTP surface of mpic-coordinator: request validation (400 request-validation-failed with
one issue naming each bad field), body limits, non-JSON bodies, /healthz, unknown paths (404)
and wrong methods (405) as JSON, unknown request fields ignored, and the BR date-phased
minimum perspective count (clock_override 2026-11-01 -> 4, 2026-12-20 -> 5).
"""
import json

import pytest

import mpiclab
from mpiclab import caa_body, expect_200, http01_body


@pytest.fixture(scope="module")
def fleet(make_fleet, knot_honest):
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="api")


def http01(**over):
    params = {"validation_method": "acme-http-01", "token": "tok",
              "key_authorization": "tok.thumb"}
    params.update(over)
    return {"check_type": "dcv", "domain_or_ip_target": "permit.mpic.test",
            "dcv_check_parameters": {k: v for k, v in params.items() if v is not None}}


def orch(**params):
    return caa_body("permit.mpic.test", orchestration=params)


def without(body, key):
    body = dict(body)
    del body[key]
    return body


# id, body, field named by an issue (any of), issue_type required for that issue (or None)
INVALID = [
    ("check_type-missing", without(caa_body("permit.mpic.test"), "check_type"),
     ["check_type"], None),
    ("check_type-int", caa_body("permit.mpic.test", check_type=5), ["check_type"], None),
    ("check_type-unknown", caa_body("permit.mpic.test", check_type="ownership"),
     ["check_type"], None),
    ("target-missing", {"check_type": "caa"}, ["domain_or_ip_target"], None),
    ("target-int", caa_body(17), ["domain_or_ip_target"], None),
    ("target-invalid", caa_body("bad..name.test"), ["domain_or_ip_target"], None),
    ("target-space", caa_body("bad name.test"), ["domain_or_ip_target"], None),
    ("target-empty", caa_body(""), ["domain_or_ip_target"], None),
    ("perspective_count-too-big", orch(perspective_count=7),
     ["orchestration_parameters.perspective_count"], "invalid-perspective-count"),
    ("perspective_count-too-small", orch(perspective_count=1),
     ["orchestration_parameters.perspective_count"], "invalid-perspective-count"),
    ("perspective_count-below-br-minimum", orch(perspective_count=3),
     ["orchestration_parameters.perspective_count"], "invalid-perspective-count"),
    ("perspective_count-bool", orch(perspective_count=True),
     ["orchestration_parameters.perspective_count"], None),
    ("perspective_count-string", orch(perspective_count="6"),
     ["orchestration_parameters.perspective_count"], None),
    ("quorum_count-below-br-table", orch(perspective_count=6, quorum_count=3),
     ["orchestration_parameters.quorum_count"], "invalid-quorum-count"),
    ("quorum_count-below-br-table-default-n", orch(quorum_count=3),
     ["orchestration_parameters.quorum_count"], "invalid-quorum-count"),
    ("quorum_count-above-n", orch(perspective_count=5, quorum_count=6),
     ["orchestration_parameters.quorum_count"], "invalid-quorum-count"),
    ("orchestration-not-object", caa_body("permit.mpic.test", orchestration_parameters=[6]),
     ["orchestration_parameters"], None),
    ("caa-certificate_type-unknown", caa_body("permit.mpic.test", {"certificate_type": "ev"}),
     ["caa_check_parameters.certificate_type"], None),
    ("caa-caa_domains-not-list", caa_body("permit.mpic.test", {"caa_domains": "ca.mpic.test"}),
     ["caa_check_parameters.caa_domains"], None),
    ("dcv-without-parameters", {"check_type": "dcv", "domain_or_ip_target": "x.mpic.test"},
     ["dcv_check_parameters"], None),
    ("http01-without-token", http01(token=None), ["dcv_check_parameters.token"], None),
    ("http01-without-key_authorization", http01(key_authorization=None),
     ["dcv_check_parameters.key_authorization"], None),
    ("http01-wildcard-target", dict(http01(), domain_or_ip_target="*.permit.mpic.test"),
     ["domain_or_ip_target", "dcv_check_parameters.validation_method"], None),
    ("website-change-empty-challenge",
     {"check_type": "dcv", "domain_or_ip_target": "x.mpic.test",
      "dcv_check_parameters": {"validation_method": "website-change",
                               "http_token_path": "a", "challenge_value": ""}},
     ["dcv_check_parameters.challenge_value"], None),
    ("validation_method-missing",
     {"check_type": "dcv", "domain_or_ip_target": "x.mpic.test",
      "dcv_check_parameters": {"token": "a", "key_authorization": "a.b"}},
     ["dcv_check_parameters.validation_method"], None),
    ("dns01-record-type-not-txt",
     {"check_type": "dcv", "domain_or_ip_target": "x.mpic.test",
      "dcv_check_parameters": {"validation_method": "acme-dns-01",
                               "key_authorization_hash": "abc", "dns_record_type": "CNAME"}},
     ["dcv_check_parameters.dns_record_type"], None),
    ("trace_identifier-int", caa_body("permit.mpic.test", trace_identifier=42),
     ["trace_identifier"], None),
    ("deadline_ms-too-small", orch(deadline_ms=1), ["orchestration_parameters.deadline_ms"],
     None),
]


def assert_validation_failed(resp, fields, issue_type=None):
    assert resp.status == 400, resp
    assert resp.headers.get("Content-Type", "").startswith("application/json")
    body = resp.json
    assert isinstance(body, dict), resp
    assert body["error"] == "request-validation-failed", body
    issues = body["validation_issues"]
    assert isinstance(issues, list) and issues, body
    for issue in issues:
        assert isinstance(issue.get("issue_type"), str) and issue["issue_type"], issue
        assert isinstance(issue.get("message"), str) and issue["message"], issue
    named = [i for i in issues if i.get("field") in fields]
    assert named, f"no issue names {fields}: {issues}"
    if issue_type is not None:
        assert issue_type in [i["issue_type"] for i in named], issues
    return issues


@pytest.mark.parametrize("case", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_request(fleet, case):
    _, body, fields, issue_type = case
    assert_validation_failed(fleet.post(body), fields, issue_type)


def test_several_issues_reported_together(fleet):
    body = {"check_type": "caa", "domain_or_ip_target": 5, "trace_identifier": [],
            "orchestration_parameters": {"perspective_count": 99}}
    issues = assert_validation_failed(fleet.post(body), ["domain_or_ip_target"])
    fields = {i.get("field") for i in issues}
    assert {"domain_or_ip_target", "trace_identifier"} <= fields, issues


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1,2]", b'"caa"', b"\xff\xfe{}"],
                         ids=["broken", "empty", "array", "string", "not-utf8"])
def test_body_not_a_json_object(fleet, raw):
    resp = fleet.post(raw)
    assert resp.status == 400, resp
    assert isinstance(resp.json, dict) and isinstance(resp.json.get("error"), str), resp


def test_body_too_large(fleet):
    big = caa_body("permit.mpic.test", trace_identifier="x", padding="p" * (65 * 1024))
    resp = fleet.post(big)
    assert resp.status in (400, 413), resp
    assert isinstance(resp.json, dict) and isinstance(resp.json.get("error"), str), resp


def test_body_just_under_limit_is_accepted(fleet):
    body = caa_body("permit.mpic.test", padding="")
    size = len(json.dumps(body))
    body["padding"] = "p" * (60 * 1024 - size)
    assert expect_200(fleet.post(body))["is_valid"] is True


def test_unknown_fields_ignored(fleet):
    body = caa_body("permit.mpic.test", {"certificate_type": "tls-server", "future": 1},
                    orchestration={"perspective_count": 6, "also_future": True},
                    some_future_field={"a": [1, 2]})
    out = expect_200(fleet.post(body))
    assert out["is_valid"] is True, out
    assert "some_future_field" not in out


def test_healthz(fleet):
    resp = fleet.get("/healthz")
    assert resp.status == 200, resp
    assert resp.json["status"] == "healthy", resp


def test_unknown_path_404_json(fleet):
    for method, path in (("GET", "/nope"), ("POST", "/mpic/extra/x"), ("GET", "/")):
        resp = fleet.request(method, path, body={} if method == "POST" else None)
        assert resp.status == 404, (method, path, resp)
        assert isinstance(resp.json, dict) and "error" in resp.json, resp


@pytest.mark.parametrize("method,path", [("GET", "/mpic"), ("PUT", "/mpic"),
                                         ("DELETE", "/mpic"), ("POST", "/healthz")])
def test_wrong_method_405_json(fleet, method, path):
    resp = fleet.request(method, path, body={} if method in ("PUT", "POST") else None)
    assert resp.status == 405, (method, path, resp)
    assert isinstance(resp.json, dict) and "error" in resp.json, resp


def test_dcv_request_admitted(fleet):
    """A well-formed http-01 request is admitted (200); the name has no A record -> invalid."""
    resp = fleet.post(http01_body("permit.mpic.test", "tok", "tok.thumb",
                                  orchestration={"deadline_ms": 3000}), timeout=15)
    body = expect_200(resp)
    assert body["check_type"] == "dcv" and body["is_valid"] is False
    assert body["actual_orchestration_parameters"]["perspective_count"] == 6


def test_br_minimum_follows_clock_override(make_fleet, knot_honest):
    """From 2026-12-15 the BR minimum is 5 remote perspectives: 4 is rejected, 5 accepted."""
    fleet = make_fleet(mpiclab.uniform_workers(knot_honest.address), name="api-dec",
                       coordinator={"clock_override": "2026-12-20"})
    assert_validation_failed(fleet.post(orch(perspective_count=4)),
                             ["orchestration_parameters.perspective_count"],
                             "invalid-perspective-count")
    body = expect_200(fleet.post(orch(perspective_count=5)))
    assert body["is_valid"] is True, body
    assert body["actual_orchestration_parameters"]["perspective_count"] == 5
    assert len(body["perspectives"]) == 5


def test_br_minimum_before_december(fleet):
    """With clock_override 2026-11-01 the minimum is 4: 4 perspectives are accepted."""
    body = expect_200(fleet.post(orch(perspective_count=4)))
    assert body["is_valid"] is True, body
    assert body["actual_orchestration_parameters"] == {"perspective_count": 4,
                                                       "quorum_count": 3, "attempt_count": 1}


def test_no_valid_cohort_is_a_500_naming_why(make_fleet, knot_honest):
    """A cohort of 7 must contain us-east-1 and us-east-2, which are < 500 km apart."""
    close = {"code": "us-east-2", "rir": "ARIN", "latitude": 39.96, "longitude": -83.00}
    perspectives = mpiclab.STANDARD_PERSPECTIVES + [close]
    f = make_fleet(mpiclab.uniform_workers(knot_honest.address,
                                           codes=mpiclab.CODES + ["us-east-2"]),
                   name="cohort", perspectives=perspectives)
    resp = f.post(caa_body("permit.mpic.test", orchestration={"perspective_count": 7}))
    assert resp.status == 500, resp
    assert resp.json["error"] == "cohort-selection-failed", resp
    assert "500 km" in resp.json["message"], resp
    # six of them can still form a valid cohort (us-east-2 or us-east-1 left out)
    body = expect_200(f.post(caa_body("permit.mpic.test")))
    codes = {p["perspective_code"] for p in body["perspectives"]}
    assert len(codes) == 6 and not {"us-east-1", "us-east-2"} <= codes, codes
    assert body["is_valid"] is True
    assert all(p["check_response"]["check_passed"] for p in body["perspectives"]), body


def test_cohort_for_single_attempt_selects_another_cohort(make_fleet, knot_honest):
    """Cohort k is deterministic per target and k; different k give different sets (the
    fleet's cohort secret is random, so six values of k make that all but certain)."""
    close = {"code": "us-east-2", "rir": "ARIN", "latitude": 39.96, "longitude": -83.00}
    f = make_fleet(mpiclab.uniform_workers(knot_honest.address,
                                           codes=mpiclab.CODES + ["us-east-2"]),
                   name="cohortk", perspectives=mpiclab.STANDARD_PERSPECTIVES + [close])
    seen = {}
    for k in (1, 2, 3, 4, 5, 6, 1):
        body = expect_200(f.post(caa_body("permit.mpic.test", orchestration={
            "perspective_count": 4, "cohort_for_single_attempt": k})))
        assert body["request_orchestration_parameters"]["cohort_for_single_attempt"] == k
        codes = frozenset(p["perspective_code"] for p in body["perspectives"])
        assert len(codes) == 4
        assert seen.setdefault(k, codes) == codes  # same k, same cohort
    assert len(set(seen.values())) > 1, seen
