"""
acme-tls-alpn-01 through the full pipeline (POST /mpic -> workers -> verdict). Peers, all on
one TLS port number P (the workers' --lab-tls-alpn-port):
- pebble-challtestsrv on 127.0.0.1:P (its DNS answers 127.0.0.1 for every name): pass, wrong
  key authorization, unknown name, and an IP target it answers with a dNSName SAN;
- alpnlab.AlpnServer on 127.0.0.3:P with one certificate per SNI name for the bad cases
  challtestsrv cannot produce (two SANs, non-critical extension, 31-byte value, wrong value,
  no ALPN, another ALPN, not self-signed, no extension) and the IP target with an iPAddress SAN;
- alpnlab.StallServer on 127.0.0.4:P (handshake never answered) and nothing on 127.0.0.5:P.
Names are pointed at those addresses with challtestsrv's add-a.
"""
import hashlib
import ssl
import warnings

import pytest

import alpnlab
import mpiclab
from mpiclab import CODES, by_code, error_types, expect_200

CERT_ERR = "mpic_error:dcv_checker:tls_alpn:certificate:"
DETAIL_KEYS = ["validation_method", "common_name"]
OWN_IP = "127.0.0.3"
STALL_IP = "127.0.0.4"
CLOSED_IP = "127.0.0.5"
OLD_TLS_IP = "127.0.0.6"
DOMAIN = "tls.mpic.test"


@pytest.fixture(scope="module")
def tls_port():
    return mpiclab.free_port(("127.0.0.1", OWN_IP, STALL_IP, CLOSED_IP, OLD_TLS_IP))


@pytest.fixture(scope="module")
def cts(workdir, tls_port):
    c = mpiclab.ChallTestSrv(workdir, "127.0.0.1", mpiclab.free_port(), name="cts-tls",
                             tlsalpn01_port=tls_port).start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def own(workdir, tls_port):
    s = alpnlab.AlpnServer(OWN_IP, tls_port, workdir).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def stall(tls_port):
    s = alpnlab.StallServer(STALL_IP, tls_port).start()
    yield s
    s.stop()


def workers(cts, tls_port, codes=None, allow_private=True):
    return {code: [{"resolver": cts.address, "allow_private": allow_private,
                    "args": ["--lab-tls-alpn-port", str(tls_port)]}]
            for code in codes or CODES}


# Generous for a loaded 2-core machine (and ASan builds): DNS 3 s a try, connect 5 s,
# handshake 8 s.
TIMEOUTS = {"dns_timeout_ms": 3000, "http_connect_timeout_ms": 5000, "http_timeout_ms": 8000}
COORDINATOR = {"deadline_ms": 20000}


@pytest.fixture(scope="module")
def fleet(make_fleet, cts, tls_port):
    return make_fleet(workers(cts, tls_port), name="tls", worker=TIMEOUTS,
                      coordinator=COORDINATOR)


def tls_body(target, key_authorization_hash, **params):
    p = {"validation_method": "acme-tls-alpn-01",
         "key_authorization_hash": key_authorization_hash}
    p.update(params)
    return {"check_type": "dcv", "domain_or_ip_target": target, "dcv_check_parameters": p}


def new_keyauth():
    return f"{mpiclab.random_token(43)}.{mpiclab.random_token(43)}"


def all_perspectives(body, completed, passed):
    results = by_code(body)
    assert sorted(results) == sorted(CODES), body
    for code, cr in results.items():
        assert list(cr) == mpiclab.CHECK_RESPONSE_KEYS, cr
        assert cr["check_completed"] is completed, (code, cr["errors"])
        assert cr["check_passed"] is passed, (code, cr)
        assert cr["check_type"] == "dcv"
        assert list(cr["details"]) == DETAIL_KEYS, cr
        assert cr["details"]["validation_method"] == "acme-tls-alpn-01"
    return results


def expect_error(body, error_type, peer=None, name=None, completed=True):
    """Every perspective failed with error_type; messages name it, the name and the peer."""
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, completed, False).items():
        assert error_types(cr) == [error_type], (code, cr["errors"])
        msg = cr["errors"][0]["error_message"]
        assert code in msg, msg
        if name is not None:
            assert name in msg, msg
        if peer is not None:
            assert peer in msg, msg
    return body


def own_case(own, cts, label, sans=None, acme_value=None, **kw):
    """Registers a certificate for <label>.tls.mpic.test on the own server; returns the name
    and the key_authorization_hash the certificate is right for."""
    name = f"{label}.{DOMAIN}"
    ka = new_keyauth()
    digest = hashlib.sha256(ka.encode()).digest()
    alpn = kw.pop("alpn", (alpnlab.ALPN,))
    cert, key = alpnlab.make_cert(sans if sans is not None else [name],
                                  acme_value if acme_value is not None
                                  else alpnlab.octet_string(digest), **kw)
    own.add(name, cert, key, alpn=alpn)
    cts.add_a(name, [OWN_IP])
    return name, digest.hex()


# ------------------------------------------------------------------------ challtestsrv ----

def test_pass_challtestsrv(fleet, cts, tls_port):
    name = f"pass.{DOMAIN}"
    ka = new_keyauth()
    cts.add_tlsalpn01(name, ka)
    h = alpnlab.key_authorization_hash(ka)
    body = expect_200(fleet.post(tls_body(name, h)))
    assert list(body) == mpiclab.TOP_LEVEL_KEYS_DCV
    assert body["is_valid"] is True, body
    assert body["dcv_check_parameters"] == {"validation_method": "acme-tls-alpn-01",
                                            "require_exact_case": False,
                                            "key_authorization_hash": h}
    for code, cr in all_perspectives(body, True, True).items():
        assert cr["errors"] in (None, []), (code, cr)
        # challtestsrv's certificate has an empty subject
        assert cr["details"] == {"validation_method": "acme-tls-alpn-01", "common_name": None}
    # upper-case hex and an explicit require_exact_case false mean the same
    body = expect_200(fleet.post(tls_body(name, h.upper(), require_exact_case=False)))
    assert body["is_valid"] is True, body


def test_wrong_key_authorization_fails(fleet, cts, tls_port):
    name = f"wrong.{DOMAIN}"
    ka = new_keyauth()
    cts.add_tlsalpn01(name, ka + "x")
    body = expect_200(fleet.post(tls_body(name, alpnlab.key_authorization_hash(ka))))
    expect_error(body, CERT_ERR + "acme_identifier_mismatch", f"127.0.0.1:{tls_port}", name)


def test_unknown_name_is_a_handshake_error(fleet, cts, tls_port):
    """challtestsrv aborts the handshake with an alert for a name it has no challenge for."""
    name = f"unknown.{DOMAIN}"
    body = expect_200(fleet.post(tls_body(name, alpnlab.key_authorization_hash("nope"))))
    expect_error(body, "mpic_error:dcv_checker:tls_alpn:handshake", f"127.0.0.1:{tls_port}",
                 name, completed=False)


def test_ip_target_sni_is_reverse_name(fleet, cts, tls_port):
    """RFC 8738: SNI is 1.0.0.127.in-addr.arpa (challtestsrv finds the challenge by it), and
    its certificate names that as a dNSName, which is not the iPAddress SAN RFC 8738 needs."""
    ka = new_keyauth()
    cts.add_tlsalpn01("1.0.0.127.in-addr.arpa", ka)
    body = expect_200(fleet.post(tls_body("127.0.0.1", alpnlab.key_authorization_hash(ka))))
    expect_error(body, CERT_ERR + "san_type_not_match", f"127.0.0.1:{tls_port}", "127.0.0.1")
    cts.del_tlsalpn01("1.0.0.127.in-addr.arpa")


# ---------------------------------------------------------------------- the own server ----

def test_own_server_good_certificate_passes(fleet, cts, own, tls_port):
    """The own server is right when its certificate is: the bad cases below fail for the
    reason they were built with, not because of the server."""
    name, h = own_case(own, cts, "good", cn="good-cn")
    body = expect_200(fleet.post(tls_body(name, h)))
    assert body["is_valid"] is True, body
    for cr in all_perspectives(body, True, True).values():
        assert cr["details"]["common_name"] == "good-cn"
    assert own.sni_seen.count(name) >= len(CODES)


@pytest.mark.parametrize("label,kw,error", [
    ("two-sans", {"sans": ["two-sans.tls.mpic.test", "other.tls.mpic.test"]}, "no_single_san"),
    ("name-and-ip", {"sans": ["name-and-ip.tls.mpic.test", "192.0.2.1"]}, "no_single_san"),
    ("other-name", {"sans": ["other.tls.mpic.test"]}, "san_not_hostname"),
    ("ip-san", {"sans": ["127.0.0.3"]}, "san_not_dnsname"),
    ("no-san", {"sans": []}, "extension_missing"),
    ("no-ext", {"with_acme": False}, "extension_missing"),
    ("noncritical", {"critical": False}, "noncritical_alpn_extension"),
    ("short", {"acme_value": alpnlab.octet_string(b"\x01" * 31)},
     "acme_identifier_wrong_length"),
    ("raw-bytes", {"acme_value": b"\xab" * 32}, "acme_identifier_malformed"),
    ("wrong-value", {"acme_value": alpnlab.octet_string(b"\x02" * 32)},
     "acme_identifier_mismatch"),
    ("not-self-signed", {"issuer_cn": "Some Other CA"}, "not_self_signed"),
])
def test_bad_certificate_fails(fleet, cts, own, tls_port, label, kw, error):
    name, h = own_case(own, cts, label, cn=label, **kw)
    body = expect_200(fleet.post(tls_body(name, h)))
    expect_error(body, CERT_ERR + error, f"{OWN_IP}:{tls_port}", name)
    for cr in by_code(body).values():
        assert cr["details"]["common_name"] == label


@pytest.mark.parametrize("label,alpn", [("no-alpn", None), ("h2-only", ("h2", "http/1.1"))])
def test_alpn_not_negotiated_fails(fleet, cts, own, tls_port, label, alpn):
    """A server that does not speak acme-tls/1 (Open MPIC does not check this)."""
    name, h = own_case(own, cts, label, alpn=alpn)
    body = expect_200(fleet.post(tls_body(name, h)))
    expect_error(body, "mpic_error:dcv_checker:tls_alpn:alpn_not_negotiated",
                 f"{OWN_IP}:{tls_port}", name)


def test_ip_target_with_ip_san_passes(fleet, own, tls_port):
    ka = new_keyauth()
    digest = hashlib.sha256(ka.encode()).digest()
    cert, key = alpnlab.make_cert([OWN_IP], alpnlab.octet_string(digest))
    own.add("3.0.0.127.in-addr.arpa", cert, key)
    body = expect_200(fleet.post(tls_body(OWN_IP, digest.hex())))
    assert body["is_valid"] is True, body
    all_perspectives(body, True, True)
    assert own.sni_seen.count("3.0.0.127.in-addr.arpa") >= len(CODES)
    assert OWN_IP not in own.sni_seen  # never an IP literal as SNI


@pytest.fixture(scope="module")
def own6(workdir, tls_port):
    s = alpnlab.AlpnServer("::1", tls_port, workdir, name="alpn-server6").start()
    yield s
    s.stop()


def test_ipv6_target_with_ip_san_passes(fleet, own6, tls_port):
    ka = new_keyauth()
    digest = hashlib.sha256(ka.encode()).digest()
    cert, key = alpnlab.make_cert(["::1"], alpnlab.octet_string(digest))
    sni = "1." + "0." * 31 + "ip6.arpa"
    own6.add(sni, cert, key)
    body = expect_200(fleet.post(tls_body("[::1]", digest.hex())))
    assert body["is_valid"] is True, body
    all_perspectives(body, True, True)
    assert own6.sni_seen.count(sni) >= len(CODES)


def test_ipv6_first_then_ipv4_fallback(fleet, cts, own, own6, tls_port):
    """AAAA ::1 is tried first; its server refuses the handshake (unknown SNI), so the check
    falls back to the A record (127.0.0.3), whose certificate is right."""
    name, h = own_case(own, cts, "dual")
    cts.add_aaaa(name, ["::1"])
    body = expect_200(fleet.post(tls_body(name, h)))
    assert body["is_valid"] is True, body
    all_perspectives(body, True, True)
    assert own6.sni_seen.count(name) >= len(CODES)
    assert own.sni_seen.count(name) >= len(CODES)


# -------------------------------------------------------------------- transport errors ----

def test_stalled_handshake_times_out(fleet, cts, stall, tls_port):
    name = f"stall.{DOMAIN}"
    cts.add_a(name, [STALL_IP])
    resp = fleet.post(tls_body(name, alpnlab.key_authorization_hash("x")), timeout=60.0)
    body = expect_200(resp)
    assert stall.accepted.is_set()
    expect_error(body, "mpic_error:dcv_checker:tls_alpn:handshake", f"{STALL_IP}:{tls_port}",
                 name, completed=False)
    for cr in by_code(body).values():
        assert "timed out" in cr["errors"][0]["error_message"], cr


def test_job_deadline_bounds_a_stalled_handshake(fleet, cts, stall, tls_port):
    """A request deadline (1.5 s) shorter than the handshake timeout (8 s): the answer comes
    at the deadline, every perspective incomplete (the worker's deadline error or the
    coordinator's), and the workers still serve the next check."""
    name = f"stall-deadline.{DOMAIN}"
    cts.add_a(name, [STALL_IP])
    body = tls_body(name, alpnlab.key_authorization_hash("x"))
    body["orchestration_parameters"] = {"deadline_ms": 1500}
    out = expect_200(fleet.post(body, timeout=30.0))
    assert out["is_valid"] is False, out
    for code, cr in by_code(out).items():
        assert cr["check_completed"] is False, (code, cr)
        assert error_types(cr)[0] in ("mpic_error:dcv_checker:tls_alpn:handshake",
                                      "mpic_error:coordinator:deadline"), (code, cr)
    ok_name = f"after-deadline.{DOMAIN}"
    ka = new_keyauth()
    cts.add_tlsalpn01(ok_name, ka)
    assert expect_200(fleet.post(tls_body(ok_name, alpnlab.key_authorization_hash(ka))))[
        "is_valid"] is True


def test_oversized_certificate_chain_is_refused(fleet, cts, own, tls_port):
    """A right leaf followed by more than 32 KiB of other certificates: the handshake is
    aborted by the chain cap, nothing is parsed."""
    name = f"big-chain.{DOMAIN}"
    digest = hashlib.sha256(new_keyauth().encode()).digest()
    h = digest.hex()
    cert, key = alpnlab.make_cert([name], alpnlab.octet_string(digest))
    own.add(name, cert + alpnlab.padding_cert(20000) * 2, key)
    cts.add_a(name, [OWN_IP])
    body = expect_200(fleet.post(tls_body(name, h)))
    expect_error(body, "mpic_error:dcv_checker:tls_alpn:handshake", f"{OWN_IP}:{tls_port}",
                 name, completed=False)
    for cr in by_code(body).values():
        assert "excessive message size" in cr["errors"][0]["error_message"], cr


def test_tls_below_1_2_is_refused(workdir, fleet, cts, tls_port):
    def tls11_only(ctx):
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1

    old = alpnlab.AlpnServer(OLD_TLS_IP, tls_port, workdir, name="alpn-old",
                             base_tweak=tls11_only).start()
    try:
        name = f"old-tls.{DOMAIN}"
        ka = new_keyauth()
        digest = hashlib.sha256(ka.encode()).digest()
        cert, key = alpnlab.make_cert([name], alpnlab.octet_string(digest))
        old.add(name, cert, key)
        cts.add_a(name, [OLD_TLS_IP])
        body = expect_200(fleet.post(tls_body(name, digest.hex())))
        expect_error(body, "mpic_error:dcv_checker:tls_alpn:handshake",
                     f"{OLD_TLS_IP}:{tls_port}", name, completed=False)
        for cr in by_code(body).values():
            assert "protocol version" in cr["errors"][0]["error_message"], cr
        assert old.handshakes == 0
    finally:
        old.stop()


def test_connection_refused(fleet, cts, tls_port):
    name = f"closed.{DOMAIN}"
    cts.add_a(name, [CLOSED_IP])
    body = expect_200(fleet.post(tls_body(name, alpnlab.key_authorization_hash("x"))))
    expect_error(body, "mpic_error:dcv_checker:tls_alpn:connection", f"{CLOSED_IP}:{tls_port}",
                 name, completed=False)


def test_special_purpose_addresses_refused(make_fleet, cts, own, tls_port):
    """Without the lab switch, loopback answers (and loopback IP targets) are not contacted."""
    four = [p for p in mpiclab.STANDARD_PERSPECTIVES
            if p["code"] in ("us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1")]
    codes = [p["code"] for p in four]
    f = make_fleet(workers(cts, tls_port, codes=codes, allow_private=False), name="tls-strict",
                   perspectives=four, worker=TIMEOUTS,
                   coordinator=dict(COORDINATOR, default_perspective_count=4))
    before = own.handshakes
    name, h = own_case(own, cts, "strict")
    body = expect_200(f.post(tls_body(name, h)))
    assert body["is_valid"] is False, body
    results = by_code(body)
    assert sorted(results) == sorted(codes)
    for code, cr in results.items():
        assert cr["check_completed"] is False, cr
        assert error_types(cr) == ["mpic_error:dcv_checker:lookup"], cr
        assert "special-purpose" in cr["errors"][0]["error_message"], cr
    body = expect_200(f.post(tls_body(OWN_IP, h)))
    for cr in by_code(body).values():
        assert cr["check_completed"] is False, cr
        assert error_types(cr) == ["mpic_error:dcv_checker:tls_alpn:connection"], cr
        assert "special-purpose" in cr["errors"][0]["error_message"], cr
    assert own.handshakes == before


# ---------------------------------------------------------------------------- the API ----

def test_bad_parameters_are_400(fleet):
    h = alpnlab.key_authorization_hash("x")
    for params, field in [
        ({"key_authorization_hash": h[:-1]}, "dcv_check_parameters.key_authorization_hash"),
        ({"key_authorization_hash": "7FwkJPsKf-TH54wu4eiIFA3nhzYaevsL7953ihy-tpo"},
         "dcv_check_parameters.key_authorization_hash"),
        ({}, "dcv_check_parameters.key_authorization_hash"),
        ({"key_authorization_hash": h, "require_exact_case": True},
         "dcv_check_parameters.require_exact_case"),
    ]:
        body = {"check_type": "dcv", "domain_or_ip_target": f"p.{DOMAIN}",
                "dcv_check_parameters": {"validation_method": "acme-tls-alpn-01", **params}}
        resp = fleet.post(body)
        assert resp.status == 400, resp
        fields = [i["field"] for i in resp.json["validation_issues"]]
        assert field in fields, resp
    resp = fleet.post(tls_body(f"*.{DOMAIN}", h))
    assert resp.status == 400, resp
    issues = resp.json["validation_issues"]
    assert any(i["field"] == "domain_or_ip_target" and "wildcard" in i["message"]
               for i in issues), resp

