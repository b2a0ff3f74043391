"""
BR §3.2.2.9 verdicts in the namespace lab, with real routes: for n = 3..7 remote perspectives
and k = 0..n of them hijacked (the victim's prefix routed to the attacker), for every method in
METHODS, the verdict equals the BR rule (n - allowed misses pass, >= 2 RIRs among the passing)
and every hijacked perspective is named as failed with what it saw; the (honest) primary
perspective passes alongside. Plus: the primary hijacked alone (invalid, it shows what the
attacker served), the primary's DNSSEC (AD for the signed zone, Insecure proven for the unsigned
one, an unvalidated poisoned answer refused), the DNS-level hijack, DNSSEC-bogus and broken
zones, a signed zone under hijack, one poisoned resolver cache, and a 150 ms perspective that
the verdict does not wait for.
"""
import base64
import collections
import re

import pytest

import labdns
from lab import PRIMARY, REMOTE_CODES, RIR_OF

TARGET = "www.plain.test"  # unsigned zone: the attacker's answers are accepted and visible
HONEST, EVIL = labdns.WORLD["honest"], labdns.WORLD["attacker"]

# has_ad_flag: the method's details carry ad_flag (the DNS-answer methods)
Method = collections.namedtuple("Method", "name body saw honest attacker has_ad_flag")


def caa_body(target, orch):
    return {"check_type": "caa", "domain_or_ip_target": target,
            "orchestration_parameters": orch}


def http01_body(target, orch):
    return {"check_type": "dcv", "domain_or_ip_target": target, "orchestration_parameters": orch,
            "dcv_check_parameters": {"validation_method": "acme-http-01",
                                     "token": labdns.HTTP_TOKEN,
                                     "key_authorization": HONEST["http_keyauth"]}}


def dns01_body(target, orch):
    return {"check_type": "dcv", "domain_or_ip_target": target, "orchestration_parameters": orch,
            "dcv_check_parameters": {"validation_method": "acme-dns-01",
                                     "key_authorization_hash": HONEST["dns01_hash"]}}


def alpn_body(target, orch):
    return {"check_type": "dcv", "domain_or_ip_target": target, "orchestration_parameters": orch,
            "dcv_check_parameters": {"validation_method": "acme-tls-alpn-01",
                                     "key_authorization_hash": HONEST["alpn_hash"]}}


def saw_records(cr):
    return sorted(cr["details"]["records_seen"] or [])


def saw_page(cr):
    page = cr["details"]["response_page"]
    return base64.b64decode(page).decode() if page else None


def saw_cert(cr):
    """The acmeIdentifier digest of the certificate the perspective got: a mismatch names it in
    the error; a passing check got exactly the digest it was asked for."""
    if cr["check_passed"]:
        return HONEST["alpn_hash"]
    for e in cr["errors"] or []:
        m = re.search(r"acmeIdentifier value ([0-9a-f]{64}) does not match", e["error_message"])
        if m:
            return m.group(1)
    return None


# One line per method; the honest origin and the attacker serve all of them (labdns.WORLD).
METHODS = [
    Method("caa", caa_body, saw_records, [HONEST["caa"]], [EVIL["caa"]], True),
    Method("acme-http-01", http01_body, saw_page, HONEST["http_keyauth"],
           EVIL["http_keyauth"], False),
    Method("acme-dns-01", dns01_body, saw_records, [HONEST["dns01_hash"]],
           [EVIL["dns01_hash"]], True),
    Method("acme-tls-alpn-01", alpn_body, saw_cert, HONEST["alpn_hash"], EVIL["alpn_hash"],
           False),
]
METHOD_IDS = [m.name for m in METHODS]


def quorum_default(n):
    """common/quorum.c: n - allowed non-corroborations (1 up to 5 perspectives, else 2)."""
    return n - (0 if n < 2 else 1 if n <= 5 else 2)


def br_valid(cohort, failed):
    passing = [c for c in cohort if c not in failed]
    return len(passing) >= quorum_default(len(cohort)) and len({RIR_OF[c] for c in passing}) >= 2


def post_ok(lab, body):
    status, resp, _ = lab.post(body)
    assert status == 200, (status, resp)
    return resp


def results(resp):
    """The remote cohort's check responses by perspective code."""
    got = {p["perspective_code"]: p["check_response"] for p in resp["perspectives"]}
    assert PRIMARY not in got, resp
    return got


def primary(resp):
    """The primary perspective's check response (listed apart from the remote cohort)."""
    pp = resp["primary_perspective"]
    assert pp is not None and pp["perspective_code"] == PRIMARY, resp
    return pp["check_response"]


_COHORTS = {}


def cohort(lab, n, target=TARGET):
    """The coordinator's cohort for (target, n): learnt once from an unhijacked request (the
    HMAC ranking depends only on the secret, the target, n and the attempt)."""
    if (target, n) not in _COHORTS:
        lab.restore()
        resp = post_ok(lab, caa_body(target, {"perspective_count": n}))
        _COHORTS[(target, n)] = [p["perspective_code"] for p in resp["perspectives"]]
        assert set(_COHORTS[(target, n)]) <= set(REMOTE_CODES), resp
    return _COHORTS[(target, n)]


def hijack_sets(members, k):
    """The distinct k-subsets the matrix tries: non-ARIN perspectives first (exercises the RIR
    rule) and ARIN first (exercises the count rule)."""
    non_arin_first = sorted(members, key=lambda c: (RIR_OF[c] == "ARIN", c))
    arin_first = sorted(members, key=lambda c: (RIR_OF[c] != "ARIN", c))
    sets = []
    for order in (non_arin_first, arin_first):
        s = frozenset(order[:k])
        if s not in sets:
            sets.append(s)
    return sets


def assert_saw(method, code, cr, hijacked):
    if hijacked:
        assert cr["check_passed"] is False, (code, cr)
        assert cr["check_completed"] is True, (code, cr)
        assert cr["errors"], (code, cr)
        assert method.saw(cr) == method.attacker, (code, cr)
    else:
        assert cr["check_passed"] is True, (code, cr)
        assert method.saw(cr) == method.honest, (code, cr)


MATRIX = [(n, k) for n in range(3, 8) for k in range(0, n + 1)]


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
@pytest.mark.parametrize("n,k", MATRIX, ids=[f"n{n}-k{k}" for n, k in MATRIX])
def test_route_hijack_matrix(lab, n, k, method):
    members = cohort(lab, n)
    assert len(members) == n and len(set(members)) == n
    for hijacked in hijack_sets(members, k):
        lab.hijack(hijacked, kind="route")
        resp = post_ok(lab, method.body(TARGET, {"perspective_count": n}))
        assert resp["actual_orchestration_parameters"]["perspective_count"] == n
        assert resp["actual_orchestration_parameters"]["quorum_count"] == quorum_default(n)
        assert resp["is_valid"] is br_valid(members, hijacked), (sorted(hijacked), resp)
        got = results(resp)
        assert sorted(got) == sorted(members)
        for code, cr in got.items():
            assert_saw(method, code, cr, code in hijacked)
        assert_saw(method, PRIMARY, primary(resp), False)


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_dns_level_hijack(lab, method, k):
    """Only the authoritative server's address is hijacked: the attacker's DNS answers (its
    CAA, its TXT, an A record pointing at its own web server) reach the hijacked ones."""
    members = cohort(lab, 6)
    hijacked = hijack_sets(members, k)[-1]
    lab.hijack(hijacked, kind="dns")
    resp = post_ok(lab, method.body(TARGET, {"perspective_count": 6}))
    assert resp["is_valid"] is br_valid(members, hijacked), resp
    for code, cr in results(resp).items():
        assert_saw(method, code, cr, code in hijacked)
    assert_saw(method, PRIMARY, primary(resp), False)
    if method.name in ("acme-http-01", "acme-tls-alpn-01"):
        for code in hijacked:
            assert labdns.ATTACKER_WEB in results(resp)[code]["errors"][0]["error_message"]


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
@pytest.mark.parametrize("kind", ["route", "dns"])
@pytest.mark.parametrize("n", [3, 7])
def test_primary_hijacked_alone_is_invalid(lab, method, kind, n):
    """Every remote perspective sees the honest origin, only the primary sees the attacker:
    invalid (Boulder's rule), and primary_perspective shows what the attacker served."""
    members = cohort(lab, n)
    lab.hijack([PRIMARY], kind=kind)
    resp = post_ok(lab, method.body(TARGET, {"perspective_count": n}))
    assert resp["is_valid"] is False, resp
    got = results(resp)
    assert sorted(got) == sorted(members)
    for code, cr in got.items():
        assert_saw(method, code, cr, False)
    assert br_valid(members, set())  # the remote quorum alone would have said valid
    pcr = primary(resp)
    assert_saw(method, PRIMARY, pcr, True)
    if kind == "dns" and method.name in ("acme-http-01", "acme-tls-alpn-01"):
        assert labdns.ATTACKER_WEB in pcr["errors"][0]["error_message"], pcr


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
def test_primary_dnssec_signed_and_unsigned(lab, method):
    """The primary requires DNSSEC: victim.test passes with the AD bit (ad_flag true), the
    unsigned plain.test passes too because the primary proves it Insecure (an authenticated
    denial of DS in test.), with ad_flag false; the verdicts are the normal ones."""
    for target, ad in (("www.victim.test", True), ("www.plain.test", False)):
        resp = post_ok(lab, method.body(target, {"perspective_count": 6}))
        assert resp["is_valid"] is True, resp
        pcr = primary(resp)
        assert_saw(method, PRIMARY, pcr, False)
        crs = list(results(resp).values()) + [pcr]
        for cr in crs:
            assert cr["check_passed"] is True, (target, cr)
            if method.has_ad_flag:
                assert cr["details"]["ad_flag"] is ad, (target, cr)
            else:
                assert "ad_flag" not in cr["details"], (target, cr)


BOGUS = [("expired.test", "RRSIGs expired"), ("nosig.test", "DS in the parent, zone unsigned")]


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
@pytest.mark.parametrize("zone", [z for z, _ in BOGUS])
@pytest.mark.parametrize("n", [3, 4, 5, 6, 7])
def test_dnssec_bogus_is_invalid_at_any_n(lab, zone, method, n):
    resp = post_ok(lab, method.body(f"www.{zone}", {"perspective_count": n}))
    assert resp["is_valid"] is False, resp
    got = results(resp)
    assert len(got) == n
    got[PRIMARY] = primary(resp)
    for code, cr in got.items():
        assert cr["check_passed"] is False, (code, cr)
        assert cr["check_completed"] is False, (code, cr)  # a lookup failure, not a "no"
        assert any(e["error_type"].endswith(":lookup") for e in cr["errors"]), (code, cr)


@pytest.mark.parametrize("zone", ["servfail.test", "refused.test", "silent.test"])
def test_broken_servers_are_lookup_failures(lab, zone):
    resp = post_ok(lab, caa_body(f"www.{zone}", {"perspective_count": 4}))
    assert resp["is_valid"] is False, resp
    for code, cr in list(results(resp).items()) + [(PRIMARY, primary(resp))]:
        assert cr["check_completed"] is False, (code, cr)
        assert [e["error_type"] for e in cr["errors"]] == ["mpic_error:caa_checker:lookup"]


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
def test_signed_zone(lab, method):
    """victim.test is signed: valid when nobody is hijacked; under a route hijack the
    attacker's own signatures are bogus, so the hijacked perspectives fail to look it up (2
    remotes: the quorum holds; the primary: invalid)."""
    target = "www.victim.test"
    members = cohort(lab, 6, target)
    resp = post_ok(lab, method.body(target, {"perspective_count": 6}))
    assert resp["is_valid"] is True, resp
    assert primary(resp)["check_passed"] is True, resp
    for hijacked in (hijack_sets(members, 2)[-1], frozenset([PRIMARY])):
        lab.hijack(hijacked, kind="route")
        resp = post_ok(lab, method.body(target, {"perspective_count": 6}))
        assert resp["is_valid"] is (br_valid(members, hijacked) and PRIMARY not in hijacked), \
            resp
        for code, cr in list(results(resp).items()) + [(PRIMARY, primary(resp))]:
            if code in hijacked:
                assert cr["check_completed"] is False, (code, cr)
                assert any(e["error_type"].endswith(":lookup") for e in cr["errors"]), (code, cr)
            else:
                assert cr["check_passed"] is True, (code, cr)


def poison_rr(method, target):
    """A record that, planted in one resolver's cache, makes method see the attacker."""
    zone = target.split(".", 1)[1]
    return {"caa": f'{zone}. 0 IN CAA {EVIL["caa"]}',
            "acme-http-01": f"{target}. 0 IN A {labdns.ATTACKER_WEB}",
            "acme-dns-01": f'_acme-challenge.{target}. 0 IN TXT "{EVIL["dns01_hash"]}"',
            "acme-tls-alpn-01": f"{target}. 0 IN A {labdns.ATTACKER_WEB}"}[method.name]


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
def test_poisoned_cache_fails_only_that_perspective(lab, method):
    members = cohort(lab, 6)
    victim = members[0]
    rr = poison_rr(method, TARGET)
    lab.poison(victim, rr)
    try:
        resp = post_ok(lab, method.body(TARGET, {"perspective_count": 6}))
    finally:
        lab.unpoison(victim, rr.split()[0])
    assert resp["is_valid"] is True, resp
    for code, cr in results(resp).items():
        assert_saw(method, code, cr, code == victim)
    assert_saw(method, PRIMARY, primary(resp), False)


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
def test_poisoned_primary_cache_is_refused_for_a_signed_zone(lab, method):
    """A forged (unvalidated) answer for the signed victim.test in the primary's resolver cache:
    the primary refuses it (AD=0, the zone is not Insecure) and the request is invalid. The
    same forgery at one remote perspective is accepted there (remotes only report ad_flag) and
    the quorum of the others holds."""
    target = "www.victim.test"
    members = cohort(lab, 6, target)
    rr = poison_rr(method, target)
    for where in (PRIMARY, members[0]):
        lab.poison(where, rr)
        try:
            resp = post_ok(lab, method.body(target, {"perspective_count": 6}))
        finally:
            lab.unpoison(where, rr.split()[0])
        got = results(resp)
        if where == PRIMARY:
            assert resp["is_valid"] is False, resp
            pcr = primary(resp)
            assert pcr["check_completed"] is False, pcr
            assert "DNSSEC: answer not validated" in pcr["errors"][0]["error_message"], pcr
            for code, cr in got.items():
                assert_saw(method, code, cr, False)
        else:
            assert resp["is_valid"] is True, resp
            for code, cr in got.items():
                assert_saw(method, code, cr, code == where)
            if method.has_ad_flag:
                assert got[where]["details"]["ad_flag"] is False, got[where]
            assert_saw(method, PRIMARY, primary(resp), False)


def test_far_perspective_does_not_delay_the_verdict(lab):
    """One cohort member 150 ms away (and with a cold cache) cannot finish its lookups before the
    request's 700 ms deadline; the other five decide and the verdict arrives without it."""
    members = cohort(lab, 6)
    post_ok(lab, caa_body(TARGET, {"perspective_count": 6}))  # warm the others' caches
    far = next(c for c in members if RIR_OF[c] == "ARIN")
    lab.delay({far: 150})
    lab.flush([far])
    resp = post_ok(lab, caa_body(TARGET, {"perspective_count": 6, "deadline_ms": 700}))
    assert resp["is_valid"] is True, resp
    got = results(resp)
    assert got[far]["check_completed"] is False, got[far]
    # the worker ends its check shortly before the job deadline and reports its own lookup
    # timeout; its 150 ms link can still make that report late: then it is missing at the
    # deadline, or rejected as written after its sealed expiry. It never counts as a pass.
    err = got[far]["errors"][0]
    assert err["error_type"] in ("mpic_error:caa_checker:lookup",
                                 "mpic_error:coordinator:deadline",
                                 "mpic_error:seal:expired"), got[far]
    if err["error_type"] == "mpic_error:caa_checker:lookup":
        assert far in err["error_message"] and "deadline" in err["error_message"], err
    for code in members:
        if code != far:
            assert got[code]["check_passed"] is True, (code, got[code])
    assert primary(resp)["check_passed"] is True, resp


def test_distance_delays_keep_verdicts(lab):
    """With every perspective at its emulated distance (20..150 ms), verdicts are unchanged."""
    delays = lab.distance_delays()
    assert all(20 <= ms <= 150 for ms in delays.values()) and max(delays.values()) > 100
    lab.delay(delays)
    assert lab.delays() == delays
    members = cohort(lab, 6)
    hijacked = hijack_sets(members, 3)[-1]
    lab.hijack(hijacked, kind="route")
    resp = post_ok(lab, dns01_body(TARGET, {"perspective_count": 6}))
    assert resp["is_valid"] is False, resp
    for code, cr in results(resp).items():
        assert_saw(METHODS[2], code, cr, code in hijacked)
    assert_saw(METHODS[2], PRIMARY, primary(resp), False)
