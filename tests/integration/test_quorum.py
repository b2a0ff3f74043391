"""
The BR §3.2.2.9 corroboration rules end to end, with "worlds": some perspectives' workers use
the evil knotd / evil challtestsrv (127.0.0.2), which answer differently. For CAA, acme-http-01
and acme-dns-01: all honest -> valid; 2 of 6 evil (us-west-2, ap-northeast-1) -> valid (4 pass,
3 RIRs); 3 of 6 evil -> invalid; the two non-ARIN perspectives evil -> 4 ARIN pass, one RIR ->
invalid. Also quorum_count 5 with 2 failing, and a deterministic cohort of 5 out of 6.
"""
import pytest

import mpiclab
from mpiclab import CODES, RIR_OF, by_code, caa_body, dns01_body, expect_200, http01_body

# scenario -> (perspectives that see the evil world, expected verdict with quorum 4 of 6)
SCENARIOS = {
    "all-honest": (frozenset(), True),
    "two-evil": (frozenset({"us-west-2", "ap-northeast-1"}), True),
    "three-evil": (frozenset({"us-west-2", "ap-northeast-1", "us-south-1"}), False),
    "non-arin-evil": (frozenset({"eu-central-1", "ap-northeast-1"}), False),
}
KINDS = ["caa", "http-01", "dns-01"]
HTTP_TOKEN = "quorum-http-token"
HTTP_KEYAUTH = HTTP_TOKEN + ".honest-thumbprint"
DNS_VALUE = mpiclab.acme_dns01_hash("quorum-dns-keyauth")


@pytest.fixture(scope="module")
def worlds(cts_honest, cts_evil):
    """Publishes the honest and the evil DCV answers once."""
    cts_honest.add_http01(HTTP_TOKEN, HTTP_KEYAUTH)
    cts_evil.add_http01(HTTP_TOKEN, HTTP_TOKEN + ".evil-thumbprint")
    cts_honest.set_txt("_acme-challenge.quorum.mpic.test", DNS_VALUE)
    cts_evil.set_txt("_acme-challenge.quorum.mpic.test", mpiclab.acme_dns01_hash("evil"))


@pytest.fixture(scope="module")
def pools(make_fleet):
    """One live fleet per world type (knotd for CAA, challtestsrv for DCV)."""
    return {"knot": mpiclab.FleetPool(make_fleet), "cts": mpiclab.FleetPool(make_fleet)}


@pytest.fixture
def world_fleet(pools, knot_honest, knot_evil, cts_honest, cts_evil,
                http01_port):
    """get(kind, evil_set) -> a fleet whose evil_set perspectives use the evil resolver."""

    def get(kind, evil):
        if kind == "caa":
            honest, bad, port = knot_honest.address, knot_evil.address, None
        else:
            honest, bad, port = cts_honest.address, cts_evil.address, http01_port
        world = "knot" if kind == "caa" else "cts"
        overrides = {code: {"resolver": bad} for code in evil}
        return pools[world].get(evil, lambda: mpiclab.uniform_workers(
            honest, http_port=port, overrides=overrides), name=f"quorum-{world}")
    return get


def body_for(kind, orchestration=None):
    if kind == "caa":
        return caa_body("quorum.mpic.test", orchestration=orchestration)
    if kind == "http-01":
        return http01_body("quorum.mpic.test", HTTP_TOKEN, HTTP_KEYAUTH,
                           orchestration=orchestration)
    return dns01_body("quorum.mpic.test", DNS_VALUE, orchestration=orchestration)


def assert_outcomes(body, evil):
    """Every perspective completed; exactly the evil ones failed."""
    results = by_code(body)
    for code, cr in results.items():
        assert cr["check_completed"] is True, (code, cr)
        assert cr["check_passed"] is (code not in evil), (code, cr)
    return results


# The scenario decorator is innermost so tests of one world run together (one fleet each).
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_verdict(worlds, world_fleet, scenario, kind):
    evil, valid = SCENARIOS[scenario]
    fleet = world_fleet(kind, evil)
    body = expect_200(fleet.post(body_for(kind)))
    assert body["is_valid"] is valid, body
    assert body["mpic_completed"] is True
    assert body["actual_orchestration_parameters"] == {"perspective_count": 6,
                                                       "quorum_count": 4, "attempt_count": 1}
    results = assert_outcomes(body, evil)
    assert sorted(results) == sorted(CODES)
    passing_rirs = {RIR_OF[c] for c in CODES if c not in evil}
    # the verdict follows the BR rule: enough passes AND >= 2 RIRs among them
    assert valid == (len(CODES) - len(evil) >= 4 and len(passing_rirs) >= 2)


@pytest.mark.parametrize("kind", KINDS)
def test_quorum_5_with_two_failing_is_invalid(worlds, world_fleet, kind):
    evil = SCENARIOS["two-evil"][0]
    fleet = world_fleet(kind, evil)
    body = expect_200(fleet.post(body_for(kind, {"perspective_count": 6, "quorum_count": 5})))
    assert body["is_valid"] is False, body
    assert body["actual_orchestration_parameters"]["quorum_count"] == 5
    assert_outcomes(body, evil)


def test_cohort_of_five_is_deterministic(worlds, world_fleet):
    fleet = world_fleet("caa", frozenset())
    cohorts = []
    for _ in range(2):
        body = expect_200(fleet.post(caa_body("quorum.mpic.test",
                                              orchestration={"perspective_count": 5})))
        assert body["is_valid"] is True, body
        assert body["actual_orchestration_parameters"] == {"perspective_count": 5,
                                                           "quorum_count": 4,
                                                           "attempt_count": 1}
        codes = [p["perspective_code"] for p in body["perspectives"]]
        assert len(codes) == 5 and len(set(codes)) == 5 and set(codes) <= set(CODES)
        assert len({RIR_OF[c] for c in codes}) >= 2
        cohorts.append(sorted(codes))
    assert cohorts[0] == cohorts[1]
