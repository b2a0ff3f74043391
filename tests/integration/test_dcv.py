"""
DCV checks through the full pipeline against pebble-challtestsrv (honest world on 127.0.0.1):
acme-http-01 (pass, wrong body, empty body for an unknown token, a 302 within the same server,
the IPv6-first connect falling back to the A record,
whitespace and case rules, details) and acme-dns-01 (pass, wrong value, missing record,
several values, a one-level CNAME reported in cname_chain, wildcard target).
"""
import base64

import pytest

import mpiclab
from mpiclab import CODES, by_code, dns01_body, error_types, expect_200, http01_body

HTTP_DETAIL_KEYS = ["validation_method", "response_history", "response_url",
                    "response_status_code", "response_page"]
DNS_DETAIL_KEYS = ["validation_method", "records_seen", "response_code", "ad_flag", "found_at",
                   "cname_chain"]


@pytest.fixture(scope="module")
def fleet(make_fleet, cts_honest, http01_port):
    return make_fleet(mpiclab.uniform_workers(cts_honest.address, http_port=http01_port),
                      name="dcv")


def new_challenge():
    token = mpiclab.random_token(43)
    return token, f"{token}.{mpiclab.random_token(43)}"


def all_perspectives(body, completed, passed):
    results = by_code(body)
    assert sorted(results) == sorted(CODES), body
    for code, cr in results.items():
        assert cr["check_completed"] is completed, (code, cr)
        assert cr["check_passed"] is passed, (code, cr)
        assert cr["check_type"] == "dcv"
    return results


# ---------------------------------------------------------------------------------- http-01

def test_http01_pass(fleet, cts_honest):
    token, keyauth = new_challenge()
    cts_honest.add_http01(token, keyauth)
    target = "http-pass.mpic.test"
    resp = fleet.post(http01_body(target, token, keyauth))
    body = expect_200(resp)
    assert list(body) == mpiclab.TOP_LEVEL_KEYS_DCV
    assert body["is_valid"] is True, body
    assert body["dcv_check_parameters"] == {
        "validation_method": "acme-http-01", "require_exact_case": True, "token": token,
        "key_authorization": keyauth, "http_headers": None}
    for code, cr in all_perspectives(body, True, True).items():
        assert cr["errors"] in (None, []), (code, cr)
        d = cr["details"]
        assert list(d) == HTTP_DETAIL_KEYS
        assert d["validation_method"] == "acme-http-01"
        assert d["response_history"] in (None, []), d
        assert d["response_url"].startswith(f"http://{target}")
        assert d["response_url"].endswith(f"/.well-known/acme-challenge/{token}")
        assert d["response_status_code"] == 200
        assert base64.b64decode(d["response_page"]).decode() == keyauth
    # every perspective fetched the URL with the target as Host header
    history = [h for h in cts_honest.http_history(target)
               if h["URL"] == f"/.well-known/acme-challenge/{token}"]
    assert len(history) >= 6, history


def test_http01_wrong_body_fails(fleet, cts_honest):
    token, keyauth = new_challenge()
    cts_honest.add_http01(token, keyauth + "x")
    body = expect_200(fleet.post(http01_body("http-wrong.mpic.test", token, keyauth)))
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, True, False).items():
        d = cr["details"]
        assert d["response_status_code"] == 200, d
        assert base64.b64decode(d["response_page"]).decode() == keyauth + "x"


def test_http01_unknown_token_empty_body_fails(fleet):
    """challtestsrv answers an unknown token with 200 and an empty body."""
    token, keyauth = new_challenge()
    body = expect_200(fleet.post(http01_body("http-empty.mpic.test", token, keyauth)))
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, True, False).items():
        assert cr["details"]["response_status_code"] == 200
        assert base64.b64decode(cr["details"]["response_page"] or "") == b""


def test_http01_case_must_match(fleet, cts_honest):
    token, keyauth = new_challenge()
    cts_honest.add_http01(token, keyauth.swapcase())
    body = expect_200(fleet.post(http01_body("http-case.mpic.test", token, keyauth)))
    assert body["is_valid"] is False, body
    all_perspectives(body, True, False)


def test_http01_trailing_whitespace_ignored(fleet, cts_honest):
    token, keyauth = new_challenge()
    cts_honest.add_http01(token, keyauth + "\r\n")
    body = expect_200(fleet.post(http01_body("http-ws.mpic.test", token, keyauth)))
    assert body["is_valid"] is True, body
    all_perspectives(body, True, True)


def test_http01_redirect_same_server(fleet, cts_honest):
    token, keyauth = new_challenge()
    landing = mpiclab.random_token(20)
    cts_honest.add_http01(landing, keyauth)
    target = "http-redirect.mpic.test"
    location = f"http://{target}/.well-known/acme-challenge/{landing}"
    cts_honest.add_redirect(f"/.well-known/acme-challenge/{token}", location)
    body = expect_200(fleet.post(http01_body(target, token, keyauth)))
    assert body["is_valid"] is True, body
    for code, cr in all_perspectives(body, True, True).items():
        d = cr["details"]
        assert d["response_history"] == [{"status_code": 302, "url": location}], d
        assert d["response_url"].endswith(f"/.well-known/acme-challenge/{token}"), d
        assert d["response_status_code"] == 200
        assert base64.b64decode(d["response_page"]).decode() == keyauth


def test_http01_redirect_to_other_port_is_invalid(fleet, cts_honest):
    """Redirect targets may only use ports 80/443 (BR 3.2.2.4.19, Open MPIC)."""
    token, keyauth = new_challenge()
    landing = mpiclab.random_token(20)
    cts_honest.add_http01(landing, keyauth)
    location = f"http://http-redirect-port.mpic.test:8080/.well-known/acme-challenge/{landing}"
    cts_honest.add_redirect(f"/.well-known/acme-challenge/{token}", location)
    body = expect_200(fleet.post(http01_body("http-redirect-port.mpic.test", token, keyauth)))
    assert body["is_valid"] is False, body
    for code, cr in by_code(body).items():
        assert cr["check_passed"] is False, (code, cr)
        assert "mpic_error:redirect:invalid" in error_types(cr), (code, cr)


def test_http01_connection_refused_not_completed(fleet, cts_honest):
    """The name resolves to 127.0.0.3 where nothing listens: a transport error."""
    token, keyauth = new_challenge()
    cts_honest.add_http01(token, keyauth)
    cts_honest.add_a("http-refused.mpic.test", ["127.0.0.3"])
    body = expect_200(fleet.post(http01_body("http-refused.mpic.test", token, keyauth)))
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, False, False).items():
        assert cr["errors"], (code, cr)


def test_http01_ipv6_refused_falls_back_to_ipv4(fleet, cts_honest):
    """AAAA ::1 is tried first; nothing listens there on the lab HTTP port, so the connect is
    refused and the walk tries the A record (127.0.0.1), which serves the token."""
    token, keyauth = new_challenge()
    cts_honest.add_http01(token, keyauth)
    target = "http-dual.mpic.test"
    cts_honest.add_aaaa(target, ["::1"])
    body = expect_200(fleet.post(http01_body(target, token, keyauth)))
    assert body["is_valid"] is True, body
    for code, cr in all_perspectives(body, True, True).items():
        assert cr["errors"] in (None, []), (code, cr)
        assert cr["details"]["response_status_code"] == 200


def test_http01_ipv6_and_ipv4_refused_names_the_ipv4_attempt(fleet, cts_honest):
    """Both families refused: the fallback to the A record happened and the error names it."""
    token, keyauth = new_challenge()
    cts_honest.add_http01(token, keyauth)
    target = "http-dual-refused.mpic.test"
    cts_honest.add_aaaa(target, ["::1"])
    cts_honest.add_a(target, ["127.0.0.3"])
    body = expect_200(fleet.post(http01_body(target, token, keyauth)))
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, False, False).items():
        assert "mpic_error:http" in error_types(cr), (code, cr)
        assert "127.0.0.3" in cr["errors"][0]["error_message"], (code, cr)


def test_http01_servfail_not_completed(fleet, cts_honest):
    token, keyauth = new_challenge()
    cts_honest.add_http01(token, keyauth)
    cts_honest.set_servfail("http-servfail.mpic.test")
    body = expect_200(fleet.post(http01_body("http-servfail.mpic.test", token, keyauth)))
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, False, False).items():
        assert cr["errors"], (code, cr)


# ---------------------------------------------------------------------------------- dns-01

def test_dns01_pass(fleet, cts_honest):
    value = mpiclab.acme_dns01_hash(mpiclab.random_token())
    target = "dns-pass.mpic.test"
    cts_honest.set_txt(f"_acme-challenge.{target}", value)
    body = expect_200(fleet.post(dns01_body(target, value)))
    assert list(body) == mpiclab.TOP_LEVEL_KEYS_DCV
    assert body["is_valid"] is True, body
    assert body["dcv_check_parameters"] == {
        "validation_method": "acme-dns-01", "require_exact_case": True,
        "key_authorization_hash": value, "dns_record_type": "TXT",
        "dns_name_prefix": "_acme-challenge"}
    for code, cr in all_perspectives(body, True, True).items():
        assert cr["errors"] in (None, []), (code, cr)
        d = cr["details"]
        assert list(d) == DNS_DETAIL_KEYS
        assert d["validation_method"] == "acme-dns-01"
        assert d["records_seen"] == [value]
        assert d["response_code"] == 0
        assert d["ad_flag"] is False
        assert d["found_at"] == f"_acme-challenge.{target}"
        assert d["cname_chain"] in (None, []), d


def test_dns01_one_of_several_values(fleet, cts_honest):
    value = mpiclab.acme_dns01_hash(mpiclab.random_token())
    target = "dns-multi.mpic.test"
    cts_honest.set_txt(f"_acme-challenge.{target}", "unrelated")
    cts_honest.set_txt(f"_acme-challenge.{target}", value)
    body = expect_200(fleet.post(dns01_body(target, value)))
    assert body["is_valid"] is True, body
    for code, cr in all_perspectives(body, True, True).items():
        assert sorted(cr["details"]["records_seen"]) == sorted(["unrelated", value])


def test_dns01_wrong_value_fails(fleet, cts_honest):
    value = mpiclab.acme_dns01_hash(mpiclab.random_token())
    wrong = mpiclab.acme_dns01_hash("something else")
    target = "dns-wrong.mpic.test"
    cts_honest.set_txt(f"_acme-challenge.{target}", wrong)
    body = expect_200(fleet.post(dns01_body(target, value)))
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, True, False).items():
        assert cr["details"]["records_seen"] == [wrong]


def test_dns01_missing_record_is_lookup_error(fleet):
    value = mpiclab.acme_dns01_hash(mpiclab.random_token())
    body = expect_200(fleet.post(dns01_body("dns-missing.mpic.test", value)))
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, True, False).items():
        assert error_types(cr) == ["mpic_error:dcv_checker:lookup"], (code, cr)
        assert not cr["details"]["records_seen"], cr


def test_dns01_cname_one_level(fleet, cts_honest):
    value = mpiclab.acme_dns01_hash(mpiclab.random_token())
    target = "dns-cname.mpic.test"
    landing = "_acme-challenge.dns-landing.mpic.test"
    cts_honest.set_txt(landing, value)
    cts_honest.set_cname(f"_acme-challenge.{target}", landing)
    body = expect_200(fleet.post(dns01_body(target, value)))
    assert body["is_valid"] is True, body
    for code, cr in all_perspectives(body, True, True).items():
        d = cr["details"]
        assert d["cname_chain"] == [landing + "."], d
        assert d["found_at"] == f"_acme-challenge.{target}", d
        assert d["records_seen"] == [value]


def test_dns01_wildcard_target_uses_base_name(fleet, cts_honest):
    value = mpiclab.acme_dns01_hash(mpiclab.random_token())
    cts_honest.set_txt("_acme-challenge.dns-wild.mpic.test", value)
    body = expect_200(fleet.post(dns01_body("*.dns-wild.mpic.test", value)))
    assert body["is_valid"] is True, body
    for code, cr in all_perspectives(body, True, True).items():
        assert cr["details"]["found_at"] == "_acme-challenge.dns-wild.mpic.test"


def test_dns01_servfail_not_completed(fleet, cts_honest):
    value = mpiclab.acme_dns01_hash(mpiclab.random_token())
    name = "_acme-challenge.dns-servfail.mpic.test"
    cts_honest.set_txt(name, value)
    cts_honest.set_servfail(name)
    body = expect_200(fleet.post(dns01_body("dns-servfail.mpic.test", value)))
    assert body["is_valid"] is False, body
    assert body["mpic_completed"] is False
    for code, cr in all_perspectives(body, False, False).items():
        assert error_types(cr) == ["mpic_error:dcv_checker:lookup"], (code, cr)


# ------------------------------------------------------- dns-01 record shapes (knotd) ----

@pytest.fixture(scope="module")
def knot_fleet(make_fleet, knot_honest):
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="dcv-knot")


@pytest.mark.parametrize("target,value,passed,seen,chain", [
    # the character-strings of one TXT record are concatenated without a separator
    ("multistr.mpic.test", "part1-part2", True, ["part1-part2", "other"], None),
    ("multistr.mpic.test", "part1-", False, ["part1-part2", "other"], None),
    # an empty TXT record is a record (seen, no match), not a missing one
    ("emptytxt.mpic.test", "anything", False, [""], None),
    # no trimming: leading/trailing spaces are part of the value
    ("spaced.mpic.test", "spaced-value", False, [" spaced-value "], None),
], ids=["multi-string", "multi-string-prefix", "empty-txt", "no-trim"])
def test_dns01_record_shapes(knot_fleet, target, value, passed, seen, chain):
    body = expect_200(knot_fleet.post(dns01_body(target, value)))
    assert body["is_valid"] is passed, body
    for code, cr in all_perspectives(body, True, passed).items():
        d = cr["details"]
        assert sorted(d["records_seen"]) == sorted(seen), (code, d)
        assert d["found_at"] == f"_acme-challenge.{target}", d
        assert (d["cname_chain"] or None) == chain, d
        if passed:
            assert cr["errors"] in (None, []), (code, cr)
        else:
            assert error_types(cr) == ["mpic_error:dcv_checker:mismatch"], (code, cr)


@pytest.fixture(scope="module")
def case_dns_fleet(make_fleet):
    """
    Perspectives resolving through a scripted dnslib server (knotd stores names in lower
    case, so it cannot answer with a mixed-case CNAME target): _acme-challenge.casecname.fake.test
    is a CNAME to _ACME-Challenge.Landing.FAKE.test, whose TXT record comes back with an owner
    in yet another case, in the same answer.
    """
    import dnslib
    import dnslib.server

    class Resolver:
        def resolve(self, request, handler):  # called by dnslib for every query
            q = request.q
            reply = request.reply()
            if str(q.qname).lower() == "_acme-challenge.casecname.fake.test.":
                reply.add_answer(dnslib.RR(q.qname, dnslib.QTYPE.CNAME, ttl=60,
                                           rdata=dnslib.CNAME("_ACME-Challenge.Landing.FAKE.test.")))
                reply.add_answer(dnslib.RR("_acme-challenge.LANDING.fake.TEST.", dnslib.QTYPE.TXT,
                                           ttl=60, rdata=dnslib.TXT("landed-value")))
            return reply

    class Quiet(dnslib.server.DNSLogger):
        def __init__(self):
            super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data")

    port = mpiclab.free_port()
    servers = [dnslib.server.DNSServer(Resolver(), port=port, address="127.0.0.1", tcp=tcp,
                                       logger=Quiet()) for tcp in (False, True)]
    for s in servers:
        s.start_thread()
    try:
        yield make_fleet(mpiclab.uniform_workers(f"127.0.0.1:{port}"), name="dcv-case")
    finally:
        for s in servers:
            s.stop()


def test_dns01_cname_target_in_another_case(case_dns_fleet):
    body = expect_200(case_dns_fleet.post(dns01_body("casecname.fake.test", "landed-value")))
    assert body["is_valid"] is True, body
    for code, cr in all_perspectives(body, True, True).items():
        d = cr["details"]
        assert d["records_seen"] == ["landed-value"], (code, d)
        assert d["cname_chain"] == ["_ACME-Challenge.Landing.FAKE.test."], d
        assert d["found_at"] == "_acme-challenge.casecname.fake.test", d
