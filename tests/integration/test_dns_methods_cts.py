"""
The DNS validation methods against pebble-challtestsrv (records set at runtime): SERVFAIL
leaves every method's check incomplete (also in the middle of a contact-*-caa climb), and
records written by the test with labels computed here independently of the C code
(dns-account-01's base32 label, dns-change TXT, dns-persistent) pass.
"""
import base64
import hashlib

import pytest

import mpiclab
from mpiclab import CODES, by_code, error_types, expect_200

LOOKUP = "mpic_error:dcv_checker:lookup"
ACCOUNT = "https://acme.mpic.test/acct/4242"


@pytest.fixture(scope="module")
def fleet(make_fleet, cts_honest):
    return make_fleet(mpiclab.uniform_workers(cts_honest.address), name="dnsm-cts")


def dcv(target, method, **params):
    return {"check_type": "dcv", "domain_or_ip_target": target,
            "dcv_check_parameters": dict(validation_method=method, **params)}


def account_label(uri):
    digest = hashlib.sha256(uri.encode()).digest()[:10]
    return "_" + base64.b32encode(digest).decode().lower().rstrip("=")


def outcomes(fleet, body, completed, passed):
    resp = expect_200(fleet.post(body))
    assert resp["is_valid"] is passed, resp
    results = by_code(resp)
    assert sorted(results) == sorted(CODES), resp
    for code, cr in results.items():
        assert cr["check_completed"] is completed, (code, cr)
        assert cr["check_passed"] is passed, (code, cr)
    return resp, list(results.values())


def test_dns_account01_label_computed_independently(fleet, cts_honest):
    target = "acct01.mpic.test"
    name = f"{account_label(ACCOUNT)}._acme-challenge.{target}"
    value = mpiclab.acme_dns01_hash(mpiclab.random_token())
    cts_honest.set_txt(name, value)
    _, crs = outcomes(fleet, dcv(target, "dns-account-01", account_uri=ACCOUNT,
                                 key_authorization_hash=value), True, True)
    for cr in crs:
        assert cr["details"]["found_at"] == name
        assert cr["details"]["records_seen"] == [value]


def test_dns_change_and_persistent_runtime_records(fleet, cts_honest):
    token = mpiclab.random_token(24)
    cts_honest.set_txt("_dnsauth.change-rt.mpic.test", f"prefix {token} suffix")
    outcomes(fleet, dcv("change-rt.mpic.test", "dns-change", challenge_value=token,
                        dns_record_type="TXT", dns_name_prefix="_dnsauth"), True, True)
    cts_honest.set_txt("_validation-persist.persist-rt.mpic.test",
                       f"ca.mpic.test; accounturi={ACCOUNT}; policy=wildcard")
    body = dcv("*.persist-rt.mpic.test", "dns-persistent", issuer_domain_names=["ca.mpic.test"],
               expected_account_uri=ACCOUNT)
    outcomes(fleet, body, True, True)


@pytest.mark.parametrize("method,name,params", [
    ("dns-change", "_dcv.sf-change.mpic.test",
     dict(challenge_value="v", dns_record_type="TXT", dns_name_prefix="_dcv")),
    ("dns-change", "sf-cname.mpic.test", dict(challenge_value="v", dns_record_type="CNAME")),
    ("contact-email-txt", "_validation-contactemail.sf-email.mpic.test",
     dict(challenge_value="a@example.com")),
    ("contact-phone-txt", "_validation-contactphone.sf-phone.mpic.test",
     dict(challenge_value="+1")),
    ("contact-email-caa", "sf-caa.mpic.test", dict(challenge_value="a@example.com")),
    ("ip-address", "sf-ip.mpic.test", dict(challenge_value="127.0.0.1", dns_record_type="A")),
    ("dns-persistent", "_validation-persist.sf-persist.mpic.test",
     dict(issuer_domain_names=["ca.mpic.test"], expected_account_uri=ACCOUNT)),
    ("dns-account-01", f"{account_label(ACCOUNT)}._acme-challenge.sf-acct.mpic.test",
     dict(account_uri=ACCOUNT, key_authorization_hash="h")),
])
def test_servfail_not_completed(fleet, cts_honest, method, name, params):
    cts_honest.set_servfail(name)
    target = {"dns-change": name.replace("_dcv.", ""), "contact-email-txt": "sf-email.mpic.test",
              "contact-phone-txt": "sf-phone.mpic.test", "dns-persistent": "sf-persist.mpic.test",
              "dns-account-01": "sf-acct.mpic.test"}.get(method, name)
    resp, crs = outcomes(fleet, dcv(target, method, **params), False, False)
    assert resp["mpic_completed"] is False
    for cr in crs:
        assert error_types(cr) == [LOOKUP], cr
        msg = cr["errors"][0]["error_message"]
        assert "SERVFAIL" in msg and name in msg and "perspective" in msg, msg
        assert cr["details"]["response_code"] == 2, cr


def test_servfail_during_contact_caa_climb(fleet, cts_honest):
    """No CAA at the name (challtestsrv answers empty), SERVFAIL at the parent: incomplete."""
    cts_honest.set_servfail("climb-sf.mpic.test")
    _, crs = outcomes(fleet, dcv("x.climb-sf.mpic.test", "contact-phone-caa",
                                 challenge_value="+1"), False, False)
    for cr in crs:
        assert "climb-sf.mpic.test" in cr["errors"][0]["error_message"], cr
        assert cr["details"]["found_at"] == "climb-sf.mpic.test", cr
