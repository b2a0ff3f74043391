"""
CAA checks through the full pipeline (coordinator -> Redis -> 6 workers -> knotd -> reducer):
every zone case of zones/honest/mpic.test.zone (issue/issuewild/issuemail, critical flags,
tag case, RFC 8657 parameters, tree climbing, CNAME chain and loop, a 1,000-record RRset over
TCP, no CAA anywhere, REFUSED, SERVFAIL below a permitting parent, resolver timeout), each asserting the verdict, every perspective's outcome and
details, plus the exact response shape of the Open MPIC v3 API.
"""
import time

import pytest

import mpiclab
from mpiclab import CAA_DEFAULTS, CODES, by_code, caa_body, error_types, expect_200

APEX = ['0 issue "ca.mpic.test"']
PERMIT = ['0 issue "ca.mpic.test"']
OTHER = ['0 issue "other-ca.test"']
SMIME = {"certificate_type": "s-mime"}
ACCOUNT = "https://acme.mpic.test/acct/1234"
CRITCONTACT = ['128 iodef "mailto:security@mpic.test"', '128 contactemail "security@mpic.test"',
               '128 contactphone "+1 555 0100"', '0 issue "ca.mpic.test"']
PARAMS = (f'0 issue " ca.mpic.test ; accounturi={ACCOUNT} ; '
          'validationmethods=dns-01,http-01 "')


@pytest.fixture(scope="module")
def fleet(make_fleet, knot_honest):
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="caa")


# id, target, caa_check_parameters, is_valid, found_at, records_seen (as a sorted list)
CASES = [
    ("apex", "mpic.test", None, True, "mpic.test", APEX),
    ("permit", "permit.mpic.test", None, True, "permit.mpic.test", PERMIT),
    ("permit-mixed-case-target", "PerMit.MPIC.test", None, True, "permit.mpic.test", PERMIT),
    ("deny", "deny.mpic.test", None, False, "deny.mpic.test", OTHER),
    ("deny-but-requested-domain", "deny.mpic.test", {"caa_domains": ["other-ca.test"]}, True,
     "deny.mpic.test", OTHER),
    ("issue-semicolon-forbids", "empty.mpic.test", None, False, "empty.mpic.test",
     ['0 issue ";"']),
    ("issue-empty-string-forbids", "emptystr.mpic.test", None, False, "emptystr.mpic.test",
     ['0 issue ""']),
    ("issue-additive", "additive.mpic.test", None, True, "additive.mpic.test",
     ['0 issue ";"', '0 issue "ca.mpic.test"']),
    ("critical-unknown-128", "crit128.mpic.test", None, False, "crit128.mpic.test",
     ['0 issue "ca.mpic.test"', '128 tbs "unknown"']),
    ("critical-unknown-130", "crit130.mpic.test", None, False, "crit130.mpic.test",
     ['0 issue "ca.mpic.test"', '130 tbs "unknown"']),
    ("flag1-unknown-boulder", "flag1.mpic.test", None, False, "flag1.mpic.test",
     ['0 issue "ca.mpic.test"', '1 tbs "unknown"']),
    ("critical-known-tag", "critknown.mpic.test", None, True, "critknown.mpic.test",
     ['128 issue "ca.mpic.test"']),
    ("uppercase-tag", "upper.mpic.test", None, True, "upper.mpic.test",
     ['0 ISSUE "ca.mpic.test"']),
    ("issuewild-only-non-wildcard", "wildonly-deny.mpic.test", None, True,
     "wildonly-deny.mpic.test", ['0 issuewild "other-ca.test"']),
    ("issuewild-only-wildcard-deny", "*.wildonly-deny.mpic.test", None, False,
     "wildonly-deny.mpic.test", ['0 issuewild "other-ca.test"']),
    ("issuewild-only-wildcard-permit", "*.wildonly-permit.mpic.test", None, True,
     "wildonly-permit.mpic.test", ['0 issuewild "ca.mpic.test"']),
    ("issuewild-semicolon-wildcard", "*.wildsemi.mpic.test", None, False, "wildsemi.mpic.test",
     ['0 issue "ca.mpic.test"', '0 issuewild ";"']),
    ("issuewild-semicolon-non-wildcard", "wildsemi.mpic.test", None, True, "wildsemi.mpic.test",
     ['0 issue "ca.mpic.test"', '0 issuewild ";"']),
    ("wildcard-uses-issue", "*.permit.mpic.test", None, True, "permit.mpic.test", PERMIT),
    ("wildcard-issue-deny", "*.deny.mpic.test", None, False, "deny.mpic.test", OTHER),
    ("smime-issuemail-permit", "smime-permit.mpic.test", SMIME, True, "smime-permit.mpic.test",
     ['0 issue "other-ca.test"', '0 issuemail "ca.mpic.test"']),
    ("tls-server-ignores-issuemail", "smime-permit.mpic.test", None, False,
     "smime-permit.mpic.test", ['0 issue "other-ca.test"', '0 issuemail "ca.mpic.test"']),
    ("smime-issuemail-deny", "smime-deny.mpic.test", SMIME, False, "smime-deny.mpic.test",
     ['0 issuemail "other-ca.test"']),
    ("smime-issue-only-permits", "smime-issueonly.mpic.test", SMIME, True,
     "smime-issueonly.mpic.test", OTHER),
    ("accounturi-match", "acct.mpic.test", {"account_uri": ACCOUNT}, True, "acct.mpic.test",
     [f'0 issue "ca.mpic.test; accounturi={ACCOUNT}"']),
    ("accounturi-other-account", "acct.mpic.test",
     {"account_uri": "https://acme.mpic.test/acct/9999"}, False, "acct.mpic.test",
     [f'0 issue "ca.mpic.test; accounturi={ACCOUNT}"']),
    ("accounturi-not-requested", "acct.mpic.test", None, True, "acct.mpic.test",
     [f'0 issue "ca.mpic.test; accounturi={ACCOUNT}"']),
    ("validationmethods-match", "methods.mpic.test", {"validation_method": "dns-01"}, True,
     "methods.mpic.test", ['0 issue "ca.mpic.test; validationmethods=dns-01"']),
    ("validationmethods-other-method", "methods.mpic.test", {"validation_method": "http-01"},
     False, "methods.mpic.test", ['0 issue "ca.mpic.test; validationmethods=dns-01"']),
    ("validationmethods-not-requested", "methods.mpic.test", None, True, "methods.mpic.test",
     ['0 issue "ca.mpic.test; validationmethods=dns-01"']),
    ("tree-climb-to-apex", "a.b.c.deep.mpic.test", None, True, "mpic.test", APEX),
    ("tree-climb-to-parent", "x.y.climb.mpic.test", None, False, "climb.mpic.test", OTHER),
    ("nxdomain-climbs", "nx.mpic.test", None, True, "mpic.test", APEX),
    ("cname-chain", "alias.mpic.test", None, False, "alias.mpic.test", OTHER),
    # caatestsuite.com shapes: the climb runs on the original name, the alias is a level
    ("cname-deny", "cname-deny.mpic.test", None, False, "cname-deny.mpic.test", OTHER),
    ("sub1-cname-deny", "sub1.cname-deny.mpic.test", None, False, "cname-deny.mpic.test",
     OTHER),
    ("deny-below-permit-stops-at-first-set", "deny.permit.mpic.test", None, False,
     "deny.permit.mpic.test", OTHER),
    ("dname-synthesized-cname", "x.dn.mpic.test", None, False, "x.dn.mpic.test", OTHER),
    ("dname-owner-climbs", "dn.mpic.test", None, True, "mpic.test", APEX),
    ("mixedcase-tag", "mixedcase.mpic.test", None, True, "mixedcase.mpic.test",
     ['0 IsSuE "ca.mpic.test"']),
    ("critical-iodef-contact-are-known", "critcontact.mpic.test", None, True,
     "critcontact.mpic.test", CRITCONTACT),
    ("params-whitespace-match", "params.mpic.test",
     {"account_uri": ACCOUNT, "validation_method": "http-01"}, True, "params.mpic.test",
     [PARAMS]),
    ("params-whitespace-other-method", "params.mpic.test",
     {"account_uri": ACCOUNT, "validation_method": "tls-alpn-01"}, False, "params.mpic.test",
     [PARAMS]),
    ("duplicate-accounturi-unsatisfiable", "dupacct.mpic.test", {"account_uri": ACCOUNT},
     False, "dupacct.mpic.test", [f'0 issue "ca.mpic.test; accounturi={ACCOUNT}; '
                                  f'accounturi={ACCOUNT}"']),
    ("duplicate-validationmethods-unsatisfiable", "dupmethods.mpic.test", None, False,
     "dupmethods.mpic.test",
     ['0 issue "ca.mpic.test; validationmethods=dns-01; validationmethods=dns-01"']),
    ("issuer-trailing-semicolon", "trailsemi.mpic.test", None, True, "trailsemi.mpic.test",
     ['0 issue "ca.mpic.test;"']),
    ("param-trailing-semicolon-malformed", "trailsemi-param.mpic.test",
     {"validation_method": "dns-01"}, False, "trailsemi-param.mpic.test",
     ['0 issue "ca.mpic.test; validationmethods=dns-01;"']),
    ("non-ascii-value-malformed", "nonascii.mpic.test", None, False, "nonascii.mpic.test",
     ['0 issue "ca.mpic.test\\195\\169"']),
    ("xss-value-malformed", "xss.mpic.test", None, False, "xss.mpic.test",
     ['0 issue "<script>alert(\\"ca.mpic.test\\")</script>"']),
]


def expected_params(params):
    exp = dict(CAA_DEFAULTS)
    exp.update(params or {})
    return exp


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_caa_case(fleet, case):
    _, target, params, valid, found_at, records = case
    body = expect_200(fleet.post(caa_body(target, params)))
    assert body["is_valid"] is valid, body
    assert body["mpic_completed"] is True
    assert body["domain_or_ip_target"] == target
    assert body["caa_check_parameters"] == expected_params(params)
    results = by_code(body)
    assert sorted(results) == sorted(CODES)
    for code, cr in results.items():
        assert cr["check_completed"] is True, (code, cr)
        assert cr["check_passed"] is valid, (code, cr)
        if valid:
            assert cr["errors"] in (None, []), (code, cr)
        else:  # a denial may be explained, but it is not a lookup failure
            assert "mpic_error:caa_checker:lookup" not in error_types(cr), (code, cr)
        assert cr["check_type"] == "caa"
        d = cr["details"]
        assert d["caa_record_present"] is True, (code, d)
        assert d["found_at"] == found_at, (code, d)
        assert sorted(d["records_seen"]) == sorted(records), (code, d)


def test_big_rrset_over_tcp(fleet):
    """999 filler issuers plus ca.mpic.test: the answer is truncated over UDP, TCP gets it all."""
    body = expect_200(fleet.post(caa_body("big.mpic.test")))
    assert body["is_valid"] is True, body
    for code, cr in by_code(body).items():
        assert cr["check_completed"] is True and cr["check_passed"] is True, (code, cr)
        d = cr["details"]
        assert d["found_at"] == "big.mpic.test"
        assert len(d["records_seen"]) == 1000
        assert '0 issue "ca.mpic.test"' in d["records_seen"]
        assert '0 issue "filler-999.test"' in d["records_seen"]


def test_no_caa_anywhere_permits(fleet):
    body = expect_200(fleet.post(caa_body("www.nocaa.test")))
    assert body["is_valid"] is True, body
    for code, cr in by_code(body).items():
        assert cr["check_completed"] is True and cr["check_passed"] is True, (code, cr)
        assert cr["details"] == {"caa_record_present": False, "found_at": None,
                                 "records_seen": None, "ad_flag": False}, (code, cr)


@pytest.mark.parametrize("target", ["loop1.mpic.test", "unserved.example"],
                         ids=["cname-loop", "refused"])
def test_lookup_failure_is_not_completed(fleet, target):
    body = expect_200(fleet.post(caa_body(target)))
    assert body["is_valid"] is False, body
    assert body["mpic_completed"] is False, body
    for code, cr in by_code(body).items():
        assert cr["check_completed"] is False, (code, cr)
        assert cr["check_passed"] is False, (code, cr)
        assert error_types(cr) == ["mpic_error:caa_checker:lookup"], (code, cr)
        assert cr["details"] == {"caa_record_present": None, "found_at": None,
                                 "records_seen": None, "ad_flag": None}, (code, cr)


def test_runtime_zone_change_is_seen(fleet, knot_honest):
    """No cache between requests: a record changed with knotc is seen by the next request."""
    name = "dyn.mpic.test"
    knot_honest.set_records("mpic.test", "dyn", "CAA", ['0 issue "other-ca.test"'])
    assert expect_200(fleet.post(caa_body(name)))["is_valid"] is False
    knot_honest.set_records("mpic.test", "dyn", "CAA", ['0 issue "ca.mpic.test"'])
    assert expect_200(fleet.post(caa_body(name)))["is_valid"] is True


def test_response_shape(fleet):
    t0 = time.time_ns()
    resp = fleet.post(caa_body("permit.mpic.test", trace_identifier="trace-123",
                               orchestration={"perspective_count": 6, "quorum_count": 4}))
    t1 = time.time_ns()
    body = expect_200(resp)
    assert resp.headers.get("Content-Type", "").startswith("application/json")
    rid = resp.headers.get("X-Mpic-Request-Id")
    assert rid, resp.headers
    assert list(body) == mpiclab.TOP_LEVEL_KEYS_CAA
    assert body["mpic_completed"] is True
    roe = body["request_orchestration_parameters"]
    assert roe["perspective_count"] == 6 and roe["quorum_count"] == 4
    assert roe["max_attempts"] is None and roe["cohort_for_single_attempt"] is None
    assert body["actual_orchestration_parameters"] == {"perspective_count": 6,
                                                       "quorum_count": 4, "attempt_count": 1}
    assert body["check_type"] == "caa"
    assert body["domain_or_ip_target"] == "permit.mpic.test"
    assert body["is_valid"] is True
    assert body["trace_identifier"] == "trace-123"
    assert body["caa_check_parameters"] == CAA_DEFAULTS
    assert body["previous_attempt_results"] is None
    assert len(body["perspectives"]) == 6
    for p in body["perspectives"]:
        assert list(p) == ["perspective_code", "check_response"]
        cr = p["check_response"]
        assert list(cr) == mpiclab.CHECK_RESPONSE_KEYS
        assert isinstance(cr["timestamp_ns"], int) and not isinstance(cr["timestamp_ns"], bool)
        assert t0 <= cr["timestamp_ns"] <= t1, (t0, cr["timestamp_ns"], t1)
        assert list(cr["details"]) == ["caa_record_present", "found_at", "records_seen", "ad_flag"]
    # a second request gets another id; no orchestration parameters -> echo null, defaults used
    resp2 = fleet.post(caa_body("permit.mpic.test"))
    body2 = expect_200(resp2)
    assert resp2.headers.get("X-Mpic-Request-Id") not in (None, "", rid)
    assert body2["request_orchestration_parameters"] is None
    assert body2["trace_identifier"] is None
    assert body2["actual_orchestration_parameters"] == {"perspective_count": 6,
                                                        "quorum_count": 4, "attempt_count": 1}


def test_caa_domains_are_case_insensitive(fleet):
    body = expect_200(fleet.post(caa_body("deny.mpic.test", {"caa_domains": ["Other-CA.Test"]})))
    assert body["is_valid"] is True, body
    assert body["caa_check_parameters"]["caa_domains"] == ["other-ca.test"]


@pytest.fixture(scope="module")
def cts_fleet(make_fleet, cts_honest):
    """Perspectives resolving through pebble-challtestsrv, which can inject SERVFAIL."""
    return make_fleet(mpiclab.uniform_workers(cts_honest.address), name="caa-cts")


def test_servfail_below_a_permitting_parent_is_not_permission(cts_fleet, cts_honest):
    """RFC 8659 / BR: a failed lookup could hide a denying RRset, so it never permits, even
    when a parent holds a permitting set (the climb stops at the first error)."""
    cts_honest.add_caa("sf-parent.mpic.test", [{"tag": "issue", "value": "ca.mpic.test"}])
    cts_honest.set_servfail("child.sf-parent.mpic.test")
    try:
        body = expect_200(cts_fleet.post(caa_body("child.sf-parent.mpic.test")))
        assert body["is_valid"] is False, body
        for code, cr in by_code(body).items():
            assert cr["check_completed"] is False and cr["check_passed"] is False, (code, cr)
            assert error_types(cr) == ["mpic_error:caa_checker:lookup"], (code, cr)
            assert "SERVFAIL" in cr["errors"][0]["error_message"], cr
            assert code in cr["errors"][0]["error_message"], cr
        # the parent alone permits: the failure above is what made the difference
        body = expect_200(cts_fleet.post(caa_body("sf-parent.mpic.test")))
        assert body["is_valid"] is True, body
    finally:
        cts_honest.clear_servfail("child.sf-parent.mpic.test")


def test_resolver_timeout_is_not_completed(make_fleet):
    """A resolver that never answers: every perspective times out (dns_timeout_ms x tries)
    and reports check_completed false well before the request deadline."""
    import socket
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # bound, never read: queries vanish
    addr = "127.0.0.1:%d" % silent.getsockname()[1]
    try:
        f = make_fleet(mpiclab.uniform_workers(addr), name="caa-silent")
        t0 = time.monotonic()
        body = expect_200(f.post(caa_body("permit.mpic.test",
                                          orchestration={"deadline_ms": 8000})))
        elapsed = time.monotonic() - t0
        assert body["is_valid"] is False and body["mpic_completed"] is False, body
        for code, cr in by_code(body).items():
            assert cr["check_completed"] is False, (code, cr)
            assert error_types(cr) == ["mpic_error:caa_checker:lookup"], (code, cr)
        assert elapsed < 7.0, elapsed  # decided by the workers' timeouts, not the deadline
    finally:
        silent.close()


class _FakeDNS:
    """
    A scripted DNS server (dnslib, UDP and TCP on one loopback port) for answers knotd cannot
    give: NXDOMAIN for a whole top-level domain ("nxtld"), and a CAA answer whose TC bit is set
    over UDP *and* over TCP ("tc.fake.test"). Every other name gets NOERROR without records.
    """

    def __init__(self):
        import dnslib
        import dnslib.server

        class Resolver:
            def resolve(self, request, handler):  # called by dnslib for every query
                q = request.q
                name = str(q.qname).rstrip(".").lower()
                reply = request.reply()
                if name == "nxtld" or name.endswith(".nxtld"):
                    reply.header.rcode = dnslib.RCODE.NXDOMAIN
                elif name == "tc.fake.test" and q.qtype == dnslib.QTYPE.CAA:
                    reply.add_answer(dnslib.RR(q.qname, dnslib.QTYPE.CAA, ttl=60,
                                               rdata=dnslib.CAA(0, "issue", "ca.mpic.test")))
                    reply.header.tc = 1  # on UDP and on the TCP retry alike
                return reply

        class Quiet(dnslib.server.DNSLogger):
            def __init__(self):
                super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data")

            def log_prefix(self, handler):  # called by dnslib; keep stderr quiet
                return ""

        self.port = mpiclab.free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.servers = [dnslib.server.DNSServer(Resolver(), port=self.port, address="127.0.0.1",
                                                tcp=tcp, logger=Quiet())
                        for tcp in (False, True)]

    def start(self):
        for s in self.servers:
            s.start_thread()
        return self

    def stop(self):
        for s in self.servers:
            s.stop()


@pytest.fixture(scope="module")
def fake_dns_fleet(make_fleet):
    dns = _FakeDNS().start()
    try:
        yield make_fleet(mpiclab.uniform_workers(dns.address), name="caa-fake")
    finally:
        dns.stop()


def test_nxdomain_at_tld_is_a_lookup_failure(fake_dns_fleet):
    """Boulder: NXDOMAIN for the TLD itself is an error (no issuance under a removed TLD),
    while NXDOMAIN below the TLD is an empty set."""
    body = expect_200(fake_dns_fleet.post(caa_body("www.example.nxtld")))
    assert body["is_valid"] is False, body
    for code, cr in by_code(body).items():
        assert cr["check_completed"] is False and cr["check_passed"] is False, (code, cr)
        assert error_types(cr) == ["mpic_error:caa_checker:lookup"], (code, cr)
        assert "nxtld" in cr["errors"][0]["error_message"], cr
        assert "NXDOMAIN" in cr["errors"][0]["error_message"], cr


def test_truncated_tcp_answer_is_a_lookup_failure(fake_dns_fleet):
    """TC over UDP makes c-ares retry over TCP; a TCP answer that is still marked truncated
    could hide a critical property, so it is never used (Boulder PR #8839)."""
    body = expect_200(fake_dns_fleet.post(caa_body("tc.fake.test")))
    assert body["is_valid"] is False, body
    for code, cr in by_code(body).items():
        assert cr["check_completed"] is False and cr["check_passed"] is False, (code, cr)
        assert error_types(cr) == ["mpic_error:caa_checker:lookup"], (code, cr)
        assert "truncated" in cr["errors"][0]["error_message"], cr
