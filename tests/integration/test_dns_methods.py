"""
The DNS validation methods through the full pipeline (POST /mpic -> coordinator -> 6 workers ->
verdict) against a real knotd serving zones/dnsmethods (dcv.test and two reverse zones):
dns-change (TXT / CNAME / CAA, substring vs exact, case rules, prefix, CNAME chain),
contact-{email,phone}-{txt,caa} (fixed prefixes, tag filter, climbing), ip-address,
reverse-address-lookup, dns-persistent and dns-account-01 -- pass, fail and error cases, the
details objects and the parameter echo. Resolver failures (REFUSED from knotd for a zone it
does not serve) leave the check incomplete.
"""
import ipaddress

import pytest

import mpiclab
from mpiclab import CODES, by_code, error_types, expect_200

DNS_DETAIL_KEYS = ["validation_method", "records_seen", "response_code", "ad_flag", "found_at",
                   "cname_chain"]
LOOKUP = "mpic_error:dcv_checker:lookup"
MISMATCH = "mpic_error:dcv_checker:mismatch"
ACCOUNT = "https://ca.mpic.test/acct/1"


@pytest.fixture(scope="module")
def knot(workdir):
    k = mpiclab.Knot(workdir, "dnsmethods").start()
    yield k
    k.stop()


@pytest.fixture(scope="module")
def fleet(make_fleet, knot):
    return make_fleet(mpiclab.uniform_workers(knot.address), name="dnsm")


def dcv(target, method, **params):
    return {"check_type": "dcv", "domain_or_ip_target": target,
            "dcv_check_parameters": dict(validation_method=method, **params)}


def run(fleet, body, passed, completed=True):
    """POSTs body; asserts every perspective's outcome and the detail keys; returns them."""
    resp = expect_200(fleet.post(body))
    assert list(resp) == mpiclab.TOP_LEVEL_KEYS_DCV
    assert resp["is_valid"] is passed, resp
    results = by_code(resp)
    assert sorted(results) == sorted(CODES), resp
    method = body["dcv_check_parameters"]["validation_method"]
    for code, cr in results.items():
        assert cr["check_completed"] is completed, (code, cr)
        assert cr["check_passed"] is passed, (code, cr)
        assert cr["check_type"] == "dcv"
        assert list(cr["details"]) == DNS_DETAIL_KEYS, cr
        assert cr["details"]["validation_method"] == method
        if passed:
            assert cr["errors"] in (None, []), (code, cr)
        else:
            assert cr["errors"], (code, cr)
    return resp, list(results.values())


def bad_request(fleet, body, issue_type, field):
    resp = fleet.post(body)
    assert resp.status == 400, resp
    assert resp.json["error"] == "request-validation-failed"
    issues = [(i["issue_type"], i["field"]) for i in resp.json["validation_issues"]]
    assert (issue_type, field) in issues, resp.json


# ---------------------------------------------------------------------------- dns-change

@pytest.mark.parametrize("rtype,name,seen", [
    ("TXT", "dns-change-txt", "1234567890abcdefg."),
    ("CNAME", "dns-change-cname", "1234567890abcdefg."),
    ("CAA", "dns-change-caa", "1234567890abcdefg."),
])
def test_dns_change_types_pass(fleet, rtype, name, seen):
    body = dcv(f"{name}.dcv.test", "dns-change", challenge_value="1234567890abcdefg.",
               dns_record_type=rtype, dns_name_prefix="")
    resp, crs = run(fleet, body, True)
    assert resp["dcv_check_parameters"] == {
        "validation_method": "dns-change", "require_exact_case": rtype == "TXT",
        "challenge_value": "1234567890abcdefg.", "dns_record_type": rtype,
        "dns_name_prefix": "", "require_exact_match": False}
    for cr in crs:
        d = cr["details"]
        assert d["records_seen"] == [seen], d
        assert d["found_at"] == f"{name}.dcv.test"
        assert d["response_code"] == 0 and d["ad_flag"] is False
        assert d["cname_chain"] in (None, []), d


def test_dns_change_substring_exact_and_case(fleet):
    target = "prefixed.dcv.test"
    base = dict(dns_record_type="TXT", dns_name_prefix="_dcv")
    # substring by default, case-sensitive for TXT by default
    run(fleet, dcv(target, "dns-change", challenge_value="Token", **base), True)
    _, crs = run(fleet, dcv(target, "dns-change", challenge_value="token", **base), False)
    assert error_types(crs[0]) == [MISMATCH]
    assert crs[0]["details"]["records_seen"] == ["prefix-Token-XYZ"]
    assert crs[0]["details"]["found_at"] == "_dcv.prefixed.dcv.test"
    run(fleet, dcv(target, "dns-change", challenge_value="token", require_exact_case=False,
                   **base), True)
    # require_exact_match: the whole value
    run(fleet, dcv(target, "dns-change", challenge_value="Token", require_exact_match=True,
                   **base), False)
    run(fleet, dcv(target, "dns-change", challenge_value="PREFIX-token-xyz",
                   require_exact_match=True, require_exact_case=False, **base), True)


def test_dns_change_cname_case_insensitive(fleet):
    body = dcv("dns-change-cname.dcv.test", "dns-change", challenge_value="1234567890ABCDEFG",
               dns_record_type="CNAME")
    run(fleet, body, True)
    body["dcv_check_parameters"]["require_exact_match"] = True
    run(fleet, body, False)  # the CNAME value carries the trailing dot


def test_dns_change_txt_through_cname_chain(fleet):
    _, crs = run(fleet, dcv("change-chain.dcv.test", "dns-change", challenge_value="chain-token",
                            dns_record_type="TXT"), True)
    for cr in crs:
        assert cr["details"]["cname_chain"] == ["change-hop.dcv.test.",
                                                "change-landing.dcv.test."], cr
        assert cr["details"]["found_at"] == "change-chain.dcv.test"


def test_dns_change_wildcard_uses_base_name(fleet):
    run(fleet, dcv("*.dns-change-txt.dcv.test", "dns-change", challenge_value="abcdefg",
                   dns_record_type="TXT"), True)


def test_dns_change_nxdomain_and_nodata(fleet):
    _, crs = run(fleet, dcv("missing.dcv.test", "dns-change", challenge_value="x",
                            dns_record_type="TXT"), False)
    for cr in crs:
        assert error_types(cr) == [LOOKUP], cr
        assert "NXDOMAIN" in cr["errors"][0]["error_message"]
        assert "missing.dcv.test" in cr["errors"][0]["error_message"]
        assert cr["details"]["response_code"] == 3
        assert cr["details"]["records_seen"] is None
    _, crs = run(fleet, dcv("ip-address.dcv.test", "dns-change", challenge_value="x",
                            dns_record_type="CAA"), False)
    for cr in crs:
        assert error_types(cr) == [LOOKUP], cr
        assert "NODATA" in cr["errors"][0]["error_message"]
        assert cr["details"]["records_seen"] == []


def test_dns_change_resolver_failure_not_completed(fleet):
    """knotd answers REFUSED for a zone it does not serve: a lookup error, not a verdict."""
    resp, crs = run(fleet, dcv("unserved.example", "dns-change", challenge_value="x",
                               dns_record_type="TXT"), False, completed=False)
    assert resp["mpic_completed"] is False
    for cr in crs:
        assert error_types(cr) == [LOOKUP], cr
        msg = cr["errors"][0]["error_message"]
        assert "REFUSED" in msg and "unserved.example" in msg, msg


def test_dns_change_bad_requests(fleet):
    bad_request(fleet, dcv("x.dcv.test", "dns-change", challenge_value="v", dns_record_type="A"),
                "invalid-validation-method-record-type-combination",
                "dcv_check_parameters.dns_record_type")
    bad_request(fleet, dcv("x.dcv.test", "dns-change", challenge_value="",
                           dns_record_type="TXT"),
                "empty-challenge-value", "dcv_check_parameters.challenge_value")
    bad_request(fleet, dcv("x.dcv.test", "dns-change", challenge_value="v",
                           dns_record_type="CAA", require_exact_case=True),
                "invalid-value", "dcv_check_parameters.require_exact_case")
    bad_request(fleet, dcv("192.0.2.1", "dns-change", challenge_value="v",
                           dns_record_type="TXT"),
                "invalid-target", "domain_or_ip_target")


# ------------------------------------------------------------------------- contact-*-txt

@pytest.mark.parametrize("method,target,value,passed", [
    ("contact-email-txt", "dns-email-txt", "testadmin.email.txt@example.com", True),
    ("contact-email-txt", "dns-email-txt", "TestAdmin.Email.TXT@Example.com", True),
    ("contact-email-txt", "dns-email-txt-cname", "testadmin.cname.target@example.com", True),
    ("contact-email-txt", "dns-email-txt", "wrong@example.com", False),
    ("contact-email-txt", "dns-email-txt-cname", "testadmin.email.txt@example.com", False),
    ("contact-email-txt", "dns-email-txt-whitespace", "testadmin.email.txt@example.com", False),
    ("contact-email-txt", "dns-email-txt-null-char", "testadmin.email.txt@example.com", False),
    ("contact-email-txt", "dns-email-txt-junk", "testadmin.email.txt@example.com", False),
    ("contact-phone-txt", "dns-phone-txt", "+1-123-456-7890", True),
    ("contact-phone-txt", "dns-phone-cname-txt", "+1-123-456-7890", True),
    ("contact-phone-txt", "dns-phone-txt", "+1-123-456-7891", False),
    ("contact-phone-txt", "dns-phone-cname-txt", "+1-123-456-7891", False),
    ("contact-phone-txt", "dns-phone-txt-whitespace", "+1-123-456-7890", False),
])
def test_contact_txt(fleet, method, target, value, passed):
    prefix = "_validation-contactemail" if "email" in method else "_validation-contactphone"
    resp, crs = run(fleet, dcv(f"{target}.dcv.test", method, challenge_value=value), passed)
    assert resp["dcv_check_parameters"] == {
        "validation_method": method, "require_exact_case": False, "challenge_value": value,
        "dns_record_type": "TXT", "dns_name_prefix": prefix}
    for cr in crs:
        assert cr["details"]["found_at"] == f"{prefix}.{target}.dcv.test"
        assert len(cr["details"]["records_seen"]) == 1
        if not passed:
            assert error_types(cr) == [MISMATCH], cr


def test_contact_txt_missing_and_fixed_prefix(fleet):
    _, crs = run(fleet, dcv("dns-phone-txt.dcv.test", "contact-email-txt",
                            challenge_value="a@example.com"), False)
    assert error_types(crs[0]) == [LOOKUP]
    bad_request(fleet, dcv("x.dcv.test", "contact-email-txt", challenge_value="a@example.com",
                           dns_name_prefix="_other"),
                "invalid-value", "dcv_check_parameters.dns_name_prefix")


# ------------------------------------------------------------------------- contact-*-caa

@pytest.mark.parametrize("method,target,value,passed,found_at", [
    ("contact-email-caa", "contact-email-caa", "caa.contactemail@example.com", True, None),
    ("contact-email-caa", "contact-email-caa", "CAA.ContactEmail@example.com", True, None),
    ("contact-email-caa", "contact-email-caa-critical", "caa.contactemail@example.com", True,
     None),
    ("contact-email-caa", "sub.contact-email-caa", "caa.contactemail@example.com", True,
     "contact-email-caa.dcv.test"),
    ("contact-email-caa", "nxsub.sub.contact-email-caa", "caa.contactemail@example.com", True,
     "contact-email-caa.dcv.test"),
    ("contact-email-caa", "contact-email-caa-cname", "caa.contactemail@example.com", True, None),
    ("contact-email-caa", "contact-email-caa-multi", "caa1.contactemail@example.com", True, None),
    ("contact-email-caa", "contact-email-caa-multi", "caa2.contactemail@example.com", True, None),
    ("contact-email-caa", "contact-email-caa", "wrong@example.com", False, None),
    ("contact-email-caa", "sub.contact-email-caa", "wrong@example.com", False,
     "contact-email-caa.dcv.test"),
    ("contact-email-caa", "contact-email-caa-multi", "exampleca.example.com", False, None),
    ("contact-email-caa", "contact-email-caa-whitespace", "caa.contactemail@example.com", False,
     None),
    ("contact-email-caa", "contact-email-caa-null", "caa.contactemail@example.com", False, None),
    ("contact-phone-caa", "contact-phone-caa", "+1-123-456-7890", True, None),
    ("contact-phone-caa", "contact-phone-caa-multi", "+1-123-456-7890", True, None),
    ("contact-phone-caa", "contact-phone-caa", "+1-123-456-7891", False, None),
    ("contact-phone-caa", "contact-phone-caa-multi", "junk", False, None),
    ("contact-phone-caa", "contact-phone-caa-whitespace", "+1-123-456-7890", False, None),
    ("contact-phone-caa", "contact-email-caa", "caa.contactemail@example.com", False, None),
    ("contact-phone-caa", "sub.wrong-tag", "+1-123-456-7890", False, "wrong-tag.dcv.test"),
])
def test_contact_caa(fleet, method, target, value, passed, found_at):
    resp, crs = run(fleet, dcv(f"{target}.dcv.test", method, challenge_value=value), passed)
    assert resp["dcv_check_parameters"] == {
        "validation_method": method, "require_exact_case": False, "challenge_value": value,
        "dns_record_type": "CAA", "dns_name_prefix": None}
    for cr in crs:
        assert cr["details"]["found_at"] == (found_at or f"{target}.dcv.test"), cr
        if not passed:
            assert error_types(cr) == [MISMATCH], cr


def test_contact_caa_tag_filter_in_records_seen(fleet):
    _, crs = run(fleet, dcv("contact-email-caa-multi.dcv.test", "contact-email-caa",
                            challenge_value="caa2.contactemail@example.com"), True)
    for cr in crs:
        assert sorted(cr["details"]["records_seen"]) == [
            "caa1.contactemail@example.com", "caa2.contactemail@example.com"], cr


def test_contact_caa_no_record_set_anywhere(fleet):
    _, crs = run(fleet, dcv("contact-email-no-record-set.dcv.test", "contact-email-caa",
                            challenge_value="caa.contactemail@example.com"), False)
    for cr in crs:
        assert error_types(cr) == [LOOKUP], cr
        assert "or any parent" in cr["errors"][0]["error_message"]
        assert cr["details"]["found_at"] == "test", cr


def test_contact_caa_with_prefix(fleet):
    """dns_name_prefix moves the start of the climb: contact-email-caa has the set."""
    body = dcv("contact-email-caa.dcv.test", "contact-email-caa",
               challenge_value="caa.contactemail@example.com", dns_name_prefix="sub")
    _, crs = run(fleet, body, True)
    assert crs[0]["details"]["found_at"] == "contact-email-caa.dcv.test"


def test_contact_caa_climb_error_not_completed(fleet):
    """The climb reaches a name knotd does not serve (REFUSED) before any set: incomplete."""
    run(fleet, dcv("a.b.unserved.example", "contact-phone-caa", challenge_value="+1"), False,
        completed=False)


# ---------------------------------------------------------------------------- ip-address

@pytest.mark.parametrize("target,rtype,value,passed", [
    ("ip-address", "A", "1.2.3.4", True),
    ("ip-address-cname", "A", "1.2.3.4", True),
    ("ip-address-multi", "A", "1.2.3.4", True),
    ("ip-address-v6", "AAAA", "2001:4860:4860::8888", True),
    ("ip-address-v6", "AAAA", "2001:4860:4860:0:00:000:0000:8888", True),
    ("ip-address", "A", "1.2.3.5", False),
    ("ip-address-v6", "AAAA", "2001:4860:4860::8889", False),
])
def test_ip_address(fleet, target, rtype, value, passed):
    resp, crs = run(fleet, dcv(f"{target}.dcv.test", "ip-address", challenge_value=value,
                               dns_record_type=rtype), passed)
    assert resp["dcv_check_parameters"] == {
        "validation_method": "ip-address", "require_exact_case": False, "challenge_value": value,
        "dns_record_type": rtype, "dns_name_prefix": None}
    want = ipaddress.ip_address(value)
    for cr in crs:
        seen = [ipaddress.ip_address(r) for r in cr["details"]["records_seen"]]
        assert (want in seen) is passed, cr


def test_ip_address_details_and_missing(fleet):
    _, crs = run(fleet, dcv("ip-address-multi.dcv.test", "ip-address", challenge_value="1.2.3.4",
                            dns_record_type="A"), True)
    assert sorted(crs[0]["details"]["records_seen"]) == ["1.2.3.4", "5.6.7.8"]
    _, crs = run(fleet, dcv("ip-address-cname.dcv.test", "ip-address", challenge_value="1.2.3.4",
                            dns_record_type="A"), True)
    assert crs[0]["details"]["cname_chain"] == ["ip-address.dcv.test."]
    for target, rtype in (("ip-address-nxdomain.dcv.test", "A"),
                          ("contact-phone-caa.dcv.test", "A"), ("ip-address.dcv.test", "AAAA")):
        _, crs = run(fleet, dcv(target, "ip-address",
                                challenge_value="::1" if rtype == "AAAA" else "1.2.3.4",
                                dns_record_type=rtype), False)
        assert error_types(crs[0]) == [LOOKUP], crs[0]


@pytest.mark.parametrize("value,rtype", [
    ("1.2.00.3", "A"), ("2001:4860:4860:0:0:0:0:0:8889", "AAAA"),
    ("2001:4860:4860::00000", "AAAA"), ("1.2.3.4", "AAAA"), ("::1", "A"),
])
def test_ip_address_malformed_expected_is_400(fleet, value, rtype):
    bad_request(fleet, dcv("ip-address.dcv.test", "ip-address", challenge_value=value,
                           dns_record_type=rtype),
                "invalid-value", "dcv_check_parameters.challenge_value")


def test_ip_address_wildcard_is_400(fleet):
    resp = fleet.post(dcv("*.ip-address.dcv.test", "ip-address", challenge_value="1.2.3.4",
                          dns_record_type="A"))
    assert resp.status == 400, resp
    issue = resp.json["validation_issues"][0]
    assert issue["issue_type"] == "invalid-wildcard" and "3.2.2.4" in issue["message"], issue


# ---------------------------------------------------------------- reverse-address-lookup

@pytest.mark.parametrize("target,value,passed,found_at", [
    ("192.0.2.10", "host.dcv.test.", True, "10.2.0.192.in-addr.arpa"),
    ("192.0.2.10", "HOST.dcv.test", True, "10.2.0.192.in-addr.arpa"),
    ("10.2.0.192.in-addr.arpa", "host.dcv.test.", True, "10.2.0.192.in-addr.arpa"),
    ("192.0.2.11", "second.dcv.test.", True, "11.2.0.192.in-addr.arpa"),
    ("192.0.2.12", "host.dcv.test.", True, "12.2.0.192.in-addr.arpa"),
    ("2001:db8::1", "host6.dcv.test.", True,
     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
    ("[2001:db8::1]", "host6.dcv.test.", True,
     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
    ("192.0.2.10", "other.dcv.test.", False, "10.2.0.192.in-addr.arpa"),
    ("192.0.2.10", "sub.host.dcv.test.", False, "10.2.0.192.in-addr.arpa"),
])
def test_reverse_lookup(fleet, target, value, passed, found_at):
    resp, crs = run(fleet, dcv(target, "reverse-address-lookup", challenge_value=value), passed)
    assert resp["domain_or_ip_target"] == target
    for cr in crs:
        assert cr["details"]["found_at"] == found_at, cr
        assert all(r.endswith(".") for r in cr["details"]["records_seen"]), cr


def test_reverse_lookup_details_and_errors(fleet):
    _, crs = run(fleet, dcv("192.0.2.12", "reverse-address-lookup",
                            challenge_value="host.dcv.test."), True)
    assert crs[0]["details"]["cname_chain"] == ["10.2.0.192.in-addr.arpa."]
    assert crs[0]["details"]["records_seen"] == ["host.dcv.test."]
    _, crs = run(fleet, dcv("192.0.2.99", "reverse-address-lookup",
                            challenge_value="host.dcv.test."), False)
    assert error_types(crs[0]) == [LOOKUP]
    assert "NXDOMAIN" in crs[0]["errors"][0]["error_message"]
    bad_request(fleet, dcv("host.dcv.test", "reverse-address-lookup",
                           challenge_value="host.dcv.test."),
                "invalid-target", "domain_or_ip_target")


# ------------------------------------------------------------------------ dns-persistent

def persist(target, issuers=("ca.mpic.test",), account=ACCOUNT):
    return dcv(target, "dns-persistent", issuer_domain_names=list(issuers),
               expected_account_uri=account)


@pytest.mark.parametrize("target,passed,reason", [
    ("persist.dcv.test", True, None),
    ("persist-multi.dcv.test", True, None),
    ("persist-cname.dcv.test", True, None),
    ("*.persist-wild.dcv.test", True, None),
    ("*.persist.dcv.test", False, "no policy=wildcard"),
    ("persist-expired.dcv.test", False, "persistUntil passed"),
    ("persist-trailing.dcv.test", False, "malformed"),
    ("persist-dup.dcv.test", False, "malformed"),
    ("persist-badparam.dcv.test", False, "malformed"),
    ("persist-other.dcv.test", False, "issuer not accepted"),
])
def test_dns_persistent(fleet, target, passed, reason):
    resp, crs = run(fleet, persist(target), passed)
    base = target[2:] if target.startswith("*.") else target
    for cr in crs:
        assert cr["details"]["found_at"] == f"_validation-persist.{base}", cr
        if not passed:
            assert error_types(cr) == [MISMATCH], cr
            assert reason in cr["errors"][0]["error_message"], cr


def test_dns_persistent_echo_and_issuer_list(fleet):
    resp, crs = run(fleet, persist("persist-other.dcv.test",
                                   issuers=("Other-CA.test.", "ca.mpic.test")), True)
    assert resp["dcv_check_parameters"] == {
        "validation_method": "dns-persistent", "require_exact_case": False,
        "issuer_domain_names": ["other-ca.test", "ca.mpic.test"],
        "expected_account_uri": ACCOUNT, "dns_record_type": "TXT",
        "dns_name_prefix": "_validation-persist"}
    run(fleet, persist("persist.dcv.test", account=ACCOUNT + "0"), False)
    _, crs = run(fleet, persist("nothing.dcv.test"), False)
    assert error_types(crs[0]) == [LOOKUP]
    bad_request(fleet, persist("persist.dcv.test", issuers=()), "invalid-value",
                "dcv_check_parameters.issuer_domain_names")
    bad_request(fleet, persist("persist.dcv.test", account="not-a-uri"), "invalid-value",
                "dcv_check_parameters.expected_account_uri")


# ------------------------------------------------------------------------ dns-account-01

def test_dns_account01(fleet):
    body = dcv("account.dcv.test", "dns-account-01", account_uri=ACCOUNT,
               key_authorization_hash="account-hash-value")
    resp, crs = run(fleet, body, True)
    assert resp["dcv_check_parameters"] == {
        "validation_method": "dns-account-01", "require_exact_case": True,
        "account_uri": ACCOUNT, "key_authorization_hash": "account-hash-value",
        "dns_record_type": "TXT"}
    for cr in crs:
        assert cr["details"]["found_at"] == "_44gl562u7c3ci7rr._acme-challenge.account.dcv.test"
        assert cr["details"]["records_seen"] == ["account-hash-value"]
    # wildcard (BR 3.2.2.4.21 allows it) and a CNAME at the label
    run(fleet, dict(body, domain_or_ip_target="*.account.dcv.test"), True)
    _, crs = run(fleet, dict(body, domain_or_ip_target="account-cname.dcv.test"), True)
    assert crs[0]["details"]["cname_chain"] == ["account-landing.dcv.test."]


def test_dns_account01_fail_cases(fleet):
    # case matters, no substring
    run(fleet, dcv("account.dcv.test", "dns-account-01", account_uri=ACCOUNT,
                   key_authorization_hash="ACCOUNT-hash-value"), False)
    run(fleet, dcv("account.dcv.test", "dns-account-01", account_uri=ACCOUNT,
                   key_authorization_hash="account-hash"), False)
    # another account has another label: nothing there
    _, crs = run(fleet, dcv("account.dcv.test", "dns-account-01", account_uri=ACCOUNT + "0",
                            key_authorization_hash="account-hash-value"), False)
    assert error_types(crs[0]) == [LOOKUP]
    bad_request(fleet, dcv("account.dcv.test", "dns-account-01",
                           key_authorization_hash="x"),
                "missing-field", "dcv_check_parameters.account_uri")
