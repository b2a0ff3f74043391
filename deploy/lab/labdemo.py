#!/usr/bin/env python3
"""
The lab demo (docs/lab.md) as a terminal table: for CAA, acme-http-01, acme-dns-01 and
acme-tls-alpn-01, a 6-perspective remote cohort plus the primary perspective with nobody, 1 and
3 remotes, or the primary alone hijacked by route; then the attacker's own request with the
primary and 3 remotes hijacked, next to what the primary alone would have concluded (the
single-perspective check that is fooled).
"""
import base64
import http.client
import os
import re
import ssl
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import labdns  # noqa: E402
import labnet  # noqa: E402
import labproc  # noqa: E402
from lab import PRIMARY, RIR_OF, Lab  # noqa: E402

TARGET = "www.plain.test"
HONEST, EVIL = labdns.WORLD["honest"], labdns.WORLD["attacker"]
ALPN_OID_DER = bytes.fromhex("06082b0601050507011f")  # OID 1.3.6.1.5.5.7.1.31 (acmeIdentifier)


def bodies(world):
    """The request of the subscriber ("honest") or of the attacker for each method."""
    w = labdns.WORLD[world]
    dcv = {"acme-http-01": {"validation_method": "acme-http-01", "token": labdns.HTTP_TOKEN,
                            "key_authorization": w["http_keyauth"]},
           "acme-dns-01": {"validation_method": "acme-dns-01",
                           "key_authorization_hash": w["dns01_hash"]},
           "acme-tls-alpn-01": {"validation_method": "acme-tls-alpn-01",
                                "key_authorization_hash": w["alpn_hash"]}}
    out = {"caa": {"check_type": "caa", "domain_or_ip_target": TARGET}} if world == "honest" \
        else {}
    for method, params in dcv.items():
        out[method] = {"check_type": "dcv", "domain_or_ip_target": TARGET,
                       "dcv_check_parameters": params}
    return out


def saw(method, cr):
    """What one perspective saw, from its details and errors."""
    d = cr["details"]
    if method == "acme-http-01":
        return base64.b64decode(d["response_page"] or "").decode()[-30:]
    if method == "acme-tls-alpn-01":
        if cr["check_passed"]:
            return "the requested certificate"
        for e in cr["errors"] or []:
            m = re.search(r"acmeIdentifier value ([0-9a-f]{64})", e["error_message"])
            if m:
                return "acmeIdentifier " + m.group(1)[:15]
        return (cr["errors"] or [{"error_type": "-"}])[0]["error_type"].split(":")[-1]
    return ", ".join(d["records_seen"] or [])[:30]


def row(lab, who, method, body, label, hijacked):
    lab.hijack(hijacked, "route")
    status, resp, _ = lab.post(dict(body, orchestration_parameters={"perspective_count": 6}))
    if status != 200:
        raise SystemExit(f"coordinator answered {status}: {resp}")
    crs = {p["perspective_code"]: p["check_response"] for p in resp["perspectives"]}
    pcr = resp["primary_perspective"]["check_response"]
    crs[PRIMARY] = pcr
    passed = [c for c, cr in crs.items() if cr["check_passed"] and c != PRIMARY]
    seen = saw(method, crs[hijacked[0]]) if hijacked else "-"
    return (who, method, f"{label} {','.join(hijacked)}".strip(), f"{len(passed)}/6",
            str(len({RIR_OF[c] for c in passed})), "pass" if pcr["check_passed"] else "FAIL",
            "VALID" if resp["is_valid"] else "invalid", seen)


def alpn_digest(ns, addr):
    """The acmeIdentifier digest of the TLS-ALPN-01 certificate served to namespace ns."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["acme-tls/1"])
    with ctx.wrap_socket(labproc.ns_connect(ns, addr, 443), server_hostname=TARGET) as s:
        der = s.getpeercert(binary_form=True)
    at = der.find(ALPN_OID_DER)
    value = der.find(b"\x04\x20", at) if at >= 0 else -1
    return der[value + 2:value + 34].hex() if value >= 0 else ""


def single_perspective(lab, code, method):
    """What one perspective alone sees (its own resolver, its own route): (saw, passes?)."""
    ns = lab.ns(code)
    if method == "acme-dns-01":
        txt = [t.strip('"') for t in
               labdns.kdig(ns, "127.0.0.1", f"_acme-challenge.{TARGET}", "TXT")]
        return ", ".join(txt), EVIL["dns01_hash"] in txt
    addr = labdns.kdig(ns, "127.0.0.1", TARGET, "A")[0]
    if method == "acme-tls-alpn-01":
        digest = alpn_digest(ns, addr)
        return "acmeIdentifier " + digest[:15], digest == EVIL["alpn_hash"]
    conn = http.client.HTTPConnection(addr, 80, timeout=5)
    conn.sock = labproc.ns_connect(ns, addr, 80)
    conn.request("GET", f"/.well-known/acme-challenge/{labdns.HTTP_TOKEN}",
                 headers={"Host": TARGET})
    body = conn.getresponse().read().decode()
    conn.close()
    return body[-30:], body == EVIL["http_keyauth"]


def main():
    lab = Lab()
    if len(lab.net.existing()) != len(lab.net.all_namespaces()):
        print("starting the lab (deploy/lab/up.sh) ...", flush=True)
        lab.up()
    lab.restore()
    status, resp, _ = lab.post({"check_type": "caa", "domain_or_ip_target": TARGET,
                                "orchestration_parameters": {"perspective_count": 6}})
    if status != 200:
        raise SystemExit(f"coordinator answered {status}: {resp}")
    cohort = [p["perspective_code"] for p in resp["perspectives"]]
    arin = [c for c in cohort if RIR_OF[c] == "ARIN"]
    others = [c for c in cohort if RIR_OF[c] != "ARIN"]
    print(f"\nremote cohort of 6 for {TARGET}: "
          + ", ".join(f"{c} ({RIR_OF[c]})" for c in cohort))
    print(f"primary perspective: {PRIMARY} (runs every check; requires DNSSEC or proven "
          "Insecure)")
    print("rule: valid when the primary passes AND >= 4 of 6 remotes pass, spanning >= 2 RIRs\n")
    rows = [("request", "method", "hijacked", "remotes", "RIRs", "primary", "verdict",
             "a hijacked one saw")]
    three = (others[:1] + arin)[:3]
    plans = [("none", []), ("1 of 6", arin[:1]), ("3 of 6", three), ("primary", [PRIMARY])]
    for method, body in bodies("honest").items():
        for label, hijacked in plans:
            rows.append(row(lab, "subscriber", method, body, label, hijacked))
    # the attacker asks with its own account; it hijacks the primary and 3 of 6 remotes
    hijacked = [PRIMARY] + three
    for method, body in bodies("attacker").items():
        rows.append(row(lab, "attacker", method, body, "primary+3", hijacked))
        lab.hijack(hijacked, "route")
        seen, fooled = single_perspective(lab, PRIMARY, method)
        rows.append(("attacker", method, f"single-perspective check at {PRIMARY}", "-", "-",
                     "pass" if fooled else "FAIL", "VALID (fooled)" if fooled else "invalid",
                     seen[:30]))
    lab.restore()
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\nhonest:   CAA {HONEST['caa']}, HTTP-01 body ...{HONEST['http_keyauth'][-26:]}, "
          f"TXT {HONEST['dns01_hash'][:12]}..., acmeIdentifier {HONEST['alpn_hash'][:15]}...")
    print(f"attacker: CAA {EVIL['caa']}, HTTP-01 body ...{EVIL['http_keyauth'][-28:]}, "
          f"TXT {EVIL['dns01_hash'][:12]}..., acmeIdentifier {EVIL['alpn_hash'][:15]}... "
          f"(own web server {labnet.ATTACKER_WEB})")
    print("stop the lab with deploy/lab/down.sh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
