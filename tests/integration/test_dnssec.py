"""
DNSSEC at the primary perspective and at perspectives configured "dnssec": "required", against
a real validating resolver (unbound) in front of a knotd that signs the lab TLD mpicsec.
(dnsseclab). Signed names: AD reported and accepted. Unsigned delegation: AD clear, proven
Insecure, accepted. Bogus zone: SERVFAIL, never permission (also not with allow_lookup_failure).
A failing lookup in an Insecure zone counts as permission only with allow_lookup_failure, after
a retry and the proof. A "required" perspective behind a non-validating server never passes.
"""
import pytest

import dnsseclab
import mpiclab
from dnsseclab import PRIMARY, REMOTES
from mpiclab import by_code, caa_body, dns01_body, error_types, expect_200

# ap-northeast-1 requires DNSSEC but asks the signing knotd directly (no validation, no AD).
STRICT_NO_VALIDATOR = "ap-northeast-1"
DEADLINE = {"deadline_ms": 30000}


@pytest.fixture(scope="module")
def lab(workdir):
    knot = dnsseclab.SignedKnot(workdir).start()
    unbound = dnsseclab.Unbound(workdir, knot).start()
    yield knot, unbound
    unbound.stop()
    knot.stop()


@pytest.fixture(scope="module")
def fleet(workdir, redis_server, lab):
    knot, unbound = lab
    perspectives = [dict(p) for p in dnsseclab.LAB_PERSPECTIVES]
    for p in perspectives:
        if p["code"] == STRICT_NO_VALIDATOR:
            p["dnssec"] = "required"
    workers = {code: [{"resolver": unbound.address}] for code in REMOTES + [PRIMARY]}
    workers[STRICT_NO_VALIDATOR] = [{"resolver": knot.address}]
    f = dnsseclab.start_fleet(workdir, redis_server, workers, perspectives=perspectives)
    yield f
    f.stop()


def primary_cr(body):
    assert body["primary_perspective"]["perspective_code"] == PRIMARY
    return body["primary_perspective"]["check_response"]


def test_resolver_fixture_validates(lab):
    _, unbound = lab
    assert dnsseclab.query(unbound.port, "secure.mpicsec", "CAA").header.ad == 1
    assert dnsseclab.query(unbound.port, "unsigned.mpicsec", "CAA").header.ad == 0
    assert dnsseclab.query(unbound.port, "bogus.mpicsec", "CAA").header.rcode == 2  # SERVFAIL


def test_signed_zone_reports_ad(fleet):
    body = expect_200(fleet.post(caa_body("secure.mpicsec")))
    assert body["is_valid"] is True, body
    cr = primary_cr(body)
    assert cr["check_passed"] is True
    assert cr["details"]["ad_flag"] is True
    assert cr["details"]["found_at"] == "secure.mpicsec"
    remotes = by_code(body)
    assert sorted(remotes) == sorted(REMOTES)
    for code in ("us-east-1", "eu-central-1"):
        assert remotes[code]["details"]["ad_flag"] is True
    strict = remotes[STRICT_NO_VALIDATOR]
    assert strict["check_completed"] is False
    assert "DNSSEC" in strict["errors"][0]["error_message"]

    body = expect_200(fleet.post(dns01_body("dns01.mpicsec", "secure-dns01-value")))
    assert body["is_valid"] is True, body
    assert primary_cr(body)["details"]["ad_flag"] is True


def test_denied_in_signed_zone(fleet):
    body = expect_200(fleet.post(caa_body("denied.mpicsec")))
    assert body["is_valid"] is False
    cr = primary_cr(body)
    assert cr["check_completed"] is True and cr["check_passed"] is False
    assert cr["details"]["ad_flag"] is True


def test_unsigned_delegation_is_proven_insecure(fleet):
    body = expect_200(fleet.post(caa_body("www.unsigned.mpicsec")))
    assert body["is_valid"] is True, body
    cr = primary_cr(body)
    assert cr["check_passed"] is True, cr
    assert cr["details"]["ad_flag"] is False
    assert cr["details"]["found_at"] == "unsigned.mpicsec"
    # the same answers without a validator are not enough for a "required" perspective
    strict = by_code(body)[STRICT_NO_VALIDATOR]
    assert strict["check_completed"] is False
    assert "not proven Insecure" in strict["errors"][0]["error_message"]

    body = expect_200(fleet.post(dns01_body("dns01.unsigned.mpicsec", "unsigned-dns01-value")))
    assert body["is_valid"] is True, body
    assert primary_cr(body)["details"]["ad_flag"] is False


@pytest.mark.parametrize("allow", [False, True])
def test_bogus_zone_is_never_permission(fleet, allow):
    params = {"allow_lookup_failure": allow}
    body = expect_200(fleet.post(caa_body("www.bogus.mpicsec", params=params,
                                          orchestration=DEADLINE), timeout=60))
    assert body["is_valid"] is False
    cr = primary_cr(body)
    assert cr["check_completed"] is False and cr["check_passed"] is False
    assert "mpic_error:caa_checker:lookup" in error_types(cr)
    assert "SERVFAIL" in cr["errors"][0]["error_message"]
    if allow:
        assert "allow_lookup_failure not honoured" in cr["errors"][0]["error_message"]
    for code in ("us-east-1", "eu-central-1"):
        assert by_code(body)[code]["check_completed"] is False

    body = expect_200(fleet.post(dns01_body("dns01.bogus.mpicsec", "bogus-dns01-value")))
    assert body["is_valid"] is False
    assert primary_cr(body)["check_completed"] is False


def test_lookup_failure_in_insecure_zone(fleet):
    target = "x.dead.unsigned.mpicsec"
    body = expect_200(fleet.post(caa_body(target, orchestration=DEADLINE), timeout=60))
    assert body["is_valid"] is False
    assert primary_cr(body)["check_completed"] is False

    body = expect_200(fleet.post(caa_body(target, params={"allow_lookup_failure": True},
                                          orchestration=DEADLINE), timeout=60))
    assert body["is_valid"] is True, body
    cr = primary_cr(body)
    assert cr["check_completed"] is True and cr["check_passed"] is True
    msg = cr["errors"][0]["error_message"]
    assert "retried" in msg and "Insecure" in msg and "unsigned.mpicsec" in msg, msg
    assert cr["details"]["ad_flag"] is False
