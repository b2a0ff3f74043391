#!/usr/bin/python3
"""
Regenerates the seed corpora in corpus/<target>/ for the libFuzzer targets: a few small, real
inputs each (msgpack jobs/results as the coordinator and workers encode them, Open MPIC
request bodies, DNS responses with CAA/TXT/CNAME/A records, CAA issue values).
Run: /usr/bin/python3 tests/fuzz/make_corpus.py   (deterministic; overwrites the seeds)
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def mp(v):
    """Minimal msgpack encoder (maps, arrays, str, int, bool, nil, float) as msgpack-c packs."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        if v >= 0:
            return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32:
            return bytes([0xa0 | len(b)]) + b
        if len(b) < 256:
            return b"\xd9" + bytes([len(b)]) + b
        return b"\xda" + struct.pack(">H", len(b)) + b
    if isinstance(v, list):
        assert len(v) < 16
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    if isinstance(v, dict):
        assert len(v) < 16
        return bytes([0x80 | len(v)]) + b"".join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(v)


def job(ct, params, **kw):
    d = {"v": 1, "rid": "0123456789abcdef0123456789abcdef", "att": 1, "p": "us-east-1",
         "ct": ct, "tgt": "example.com", "wc": False, "dl": 1767225600000, "tid": None,
         "prm": params}
    d.update(kw)
    return mp(d)


def result(cr, **kw):
    d = {"v": 1, "rid": "0123456789abcdef0123456789abcdef", "att": 1, "p": "eu-west-1",
         "ct": "caa", "cr": cr}
    d.update(kw)
    return mp(d)


def name(n):
    out = b""
    for label in n.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def rr(owner, rtype, rdata, ttl=300):
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def dns(answers, qname="example.com", qtype=257, rcode=0, flags=0x8180):
    hdr = struct.pack(">HHHHHH", 0x1234, flags | rcode, 1, len(answers), 0, 0)
    return hdr + name(qname) + struct.pack(">HH", qtype, 1) + b"".join(answers)


def caa(flags, tag, value):
    return bytes([flags, len(tag)]) + tag + value


def caa_set(*rdatas):
    """A CAA RRset for fuzz_caa_policy: each RDATA behind a one-byte length."""
    return b"".join(bytes([len(r)]) + r for r in rdatas)


PTR = b"\xc0\x0c"  # compression pointer to the question name

CORPUS = {
    "fuzz_msg_job": [
        job("caa", {"certificate_type": "tls-server", "caa_domains": ["ca.test"],
                    "allow_lookup_failure": False, "account_uri": None,
                    "validation_method": None}),
        job("dcv", {"validation_method": "acme-http-01", "require_exact_case": True,
                    "token": "tok_-1", "key_authorization": "tok_-1.thumb",
                    "http_headers": {"X-A": "1"}}, wc=False, tid="trace-1", att=2),
        job("dcv", {"validation_method": "acme-dns-01", "require_exact_case": True,
                    "key_authorization_hash": "abc", "dns_record_type": "TXT",
                    "dns_name_prefix": "_acme-challenge"}, wc=True, tgt="b\u00fccher.test"),
        job("caa", {"n": -5, "r": 1.5, "deep": [[{"x": [1, None]}]]}),
    ],
    "fuzz_msg_result": [
        result({"check_completed": True, "check_passed": True, "errors": None,
                "timestamp_ns": 1700000000000000000,
                "details": {"caa_record_present": True, "found_at": "example.com",
                            "records_seen": ["0 issue \"ca.test\""]}}),
        result({"check_completed": False, "check_passed": False,
                "errors": [{"error_type": "mpic_error:dns", "error_message": "SERVFAIL"}]}),
        result({"check_completed": True, "check_passed": False}, ct="dcv", att=3),
    ],
    "fuzz_request": [
        json.dumps({"check_type": "caa", "domain_or_ip_target": "example.com"}).encode(),
        json.dumps({"check_type": "caa", "domain_or_ip_target": "*.b\u00fccher.example.",
                    "orchestration_parameters": {"perspective_count": 6, "quorum_count": 4,
                                                 "max_attempts": 1, "deadline_ms": 5000},
                    "trace_identifier": "t-1",
                    "caa_check_parameters": {"certificate_type": "s-mime",
                                             "caa_domains": ["CA.Example."],
                                             "allow_lookup_failure": False,
                                             "account_uri": "https://acme.example/acct/1",
                                             "validation_method": "http-01"}}).encode(),
        json.dumps({"check_type": "dcv", "domain_or_ip_target": "192.0.2.1",
                    "dcv_check_parameters": {"validation_method": "acme-http-01",
                                             "token": "abc_-123", "key_authorization": "abc.def",
                                             "http_headers": {"X-Test": "1"}}}).encode(),
        json.dumps({"check_type": "dcv", "domain_or_ip_target": "[2001:db8::1]",
                    "dcv_check_parameters": {"validation_method": "acme-dns-01",
                                             "key_authorization_hash": "xyz",
                                             "dns_record_type": "TXT",
                                             "dns_name_prefix": "_acme-challenge"}}).encode(),
        b'{"check_type":"caa","domain_or_ip_target":"a.test","orchestration_parameters":'
        b'{"perspective_count":2,"quorum_count":7}}',
        b'[1,2,{"check_type":null}]',
    ],
    "fuzz_dns_msg": [
        dns([rr(PTR, 257, caa(0, b"issue", b"ca.test; accounturi=https://a/1")),
             rr(PTR, 257, caa(128, b"iodef", b"mailto:x@example.com"))]),
        dns([rr(PTR, 5, name("alias.example.net")),
             rr(name("alias.example.net"), 257, caa(0, b"issuewild", b";"))]),
        dns([rr(PTR, 16, b"\x05hello\x00\x03abc")], qname="_acme-challenge.example.com",
            qtype=16),
        dns([rr(PTR, 1, bytes([192, 0, 2, 1])),
             rr(PTR, 28, bytes(15) + b"\x01")], qtype=1),
        dns([], rcode=3),
        dns([], rcode=2, flags=0x8380),
    ],
    "fuzz_caa_value": [
        b"ca.test",
        b"  ca.test ; accounturi=https://acme.example/acct/1 validationmethods=dns-01,http-01 ",
        b";",
        b"",
        b"ca.test; key=",
        b"xn--bcher-kva.example;a=b;c=d",
    ],
    # fuzz_caa_policy: options byte (1 S/MIME, 2 wildcard, 4 second issuer, 8 account,
    # 16 method), then records as <u8 rdlen><CAA RDATA>
    "fuzz_caa_policy": [
        b"\x00" + caa_set(caa(0, b"issue", b"ca.test")),
        b"\x02" + caa_set(caa(0, b"issue", b"ca.test"), caa(0, b"issuewild", b";")),
        b"\x18" + caa_set(caa(0, b"issue", b"ca.test; accounturi=https://acme.example/acct/1"
                                          b" validationmethods=dns-01,http-01"),
                           caa(0, b"issue", b"ca.test; accounturi=https://acme.example/acct/2")),
        b"\x01" + caa_set(caa(0, b"issuemail", b"Other.Example"), caa(0, b"iodef", b"x")),
        b"\x04" + caa_set(caa(128, b"tbs", b"unknown"), caa(0, b"issue", b"ca.test")),
        b"\x00" + caa_set(caa(1, b"Issue", b"ca.test"), caa(0, b"issue", b"ca.test; a=b;c")),
        b"\x00",
    ],
    "fuzz_persist_record": [
        b"ca.test; accounturi=https://acme.example/acct/1",
        b"authority.example; accounturi=https://acme.example/acct/1; policy=wildcard;"
        b" persistUntil=1767225601",
        b"CA.TEST;accounturi=https://acme.example/acct/1;persistUntil=1",
        b"ca.test; accounturi=https://acme.example/acct/1;",
        b"ca.test; accounturi=a; accounturi=b",
        b"other.example; accounturi=https://acme.example/acct/1",
        b"ca.test; persistUntil=99999999999999999999; accounturi=x",
    ],
    "fuzz_redis_info": [
        b"# Memory\r\nused_memory:1258832\r\nused_memory_human:1.20M\r\nmaxmemory:0\r\n",
        b"maxmemory:2147483648\r\nmaxmemory_policy:noeviction",
        b"used_memory:\r\nused_memory:-1\nused:9223372036854775807\r\na:+3",
        b"used_memory:99999999999999999999\r\n\r\n",
    ],
    # fuzz_streamlag: delivered id, last generated id, first id, length, lag, known trimmed
    "fuzz_streamlag": [
        b"1796608463016-0\n1796608463267-31\n1796608463261-22\n150\n1040\n-1",
        b"1796608463267-31\n1796608463267-31\n1796608463261-22\n150\n890\n0",
        b"5-3\n9-0\n4\n6\n7\n2",
        b"0-0\n0-0\n0\n0\n0\n-1",
        b"18446744073709551616-1\n+5\n 7-1\n-3\n-1\n9",
        b"5--0\nA7\n-0\nA7\n\n7\n2",  # found: "5--0" was read as 5-0
    ],
    # fuzz_http_resp: the first byte picks where the response is split in two feeds
    "fuzz_http_resp": [
        b"\x10HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"\x30HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        b"5;x=y\r\nhello\r\n0\r\nTrailer: 1\r\n\r\n",
        b"\x05HTTP/1.0 302 Found\nLocation:  /next \nLocation: /2\n\nbody until close",
        b"\x40\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        b"\x00HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"\x22HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\nab",
        b"\x09PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ],
}


def acme_certs():
    """tls-alpn-01 certificates (DER) for fuzz_acme_cert: one good for a.example.com and the
    digest in fuzz_acme_cert.c, one for 192.0.2.7, and bad shapes. Ed25519 with a fixed key,
    fixed dates and serials, so the bytes are the same on every run."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import NameOID, ObjectIdentifier
    import ipaddress

    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    digest = bytes.fromhex("7f0924fb0a7fe4c7e78c2ee1e2088140de7873361a7afb0bef79de23cbe2da9a")
    oid = ObjectIdentifier("1.3.6.1.5.5.7.1.31")
    when = datetime.datetime(2026, 1, 1)

    def cert(sans, value, critical=True, cn="a.example.com"):
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
             .public_key(key.public_key()).serial_number(1729)
             .not_valid_before(when).not_valid_after(when + datetime.timedelta(days=7)))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        b = b.add_extension(x509.UnrecognizedExtension(oid, value), critical=critical)
        return b.sign(key, None).public_bytes(serialization.Encoding.DER)

    good = b"\x04\x20" + digest
    dns = x509.DNSName("a.example.com")
    return [
        cert([dns], good),
        cert([x509.IPAddress(ipaddress.ip_address("192.0.2.7"))], good),
        cert([dns, x509.DNSName("b.example.com")], good),
        cert([dns], good, critical=False),
        cert([dns], b"\x04\x1f" + digest[:31]),
        cert([], good),
    ]


# Sealed envelopes (common/seal.c) with the fuzz_seal_open keys and fixed nonces.
SEAL_KEYS = {("us-east-1", 1): bytes(range(32)), ("us-east-1", 2): bytes(range(32, 64)),
             ("eu-west-1", 1): b"\xaa" * 32}


def envelope(direction, perspective, key_id, plaintext, rid="0123456789abcdef0123456789abcdef",
             attempt=1, check_type=0, expiry=1767225600000, nonce=bytes(12), version=1):
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                    "integration"))
    import sealenv  # the header layout, written once for the tests and the seeds
    ad = sealenv.header(direction, key_id, expiry, attempt, ("caa", "dcv")[check_type], rid,
                        perspective, version)
    key = SEAL_KEYS[(perspective, key_id)]
    return ad + nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, ad)


def seal_seeds():
    passed = {"check_completed": True, "check_passed": True, "errors": [], "timestamp_ns": 1,
              "check_type": "caa", "details": {}}
    good_job = envelope(1, "us-east-1", 1, job("caa", {"caa_domains": ["ca.test"]},
                                               dl=1767225600000))
    good_res = envelope(2, "eu-west-1", 1, result(passed))
    tampered = bytearray(good_res)
    tampered[-20] ^= 1
    good_job2 = envelope(1, "us-east-1", 1, job("caa", {"caa_domains": ["ca.test"]},
                                                dl=1767225600000), version=2)
    return [
        good_job,
        good_job2,
        good_job2[:30],
        good_res,
        envelope(2, "us-east-1", 2, result(passed, p="us-east-1")),  # rotated key id
        envelope(2, "eu-west-1", 1, result(passed, att=2)),  # inner disagrees with header
        envelope(2, "eu-west-1", 1, b"not msgpack"),
        bytes(tampered),
        good_res[:40],
        result(passed),  # unsealed
    ]


def main():
    CORPUS["fuzz_acme_cert"] = acme_certs()
    CORPUS["fuzz_seal_open"] = seal_seeds()
    for target, seeds in CORPUS.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for i, data in enumerate(seeds):
            with open(os.path.join(d, f"seed-{i:02d}"), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
