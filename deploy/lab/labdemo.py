#!/usr/bin/env python3
"""
The lab demo (docs/lab.md) as a terminal table: for CAA, acme-http-01 and acme-dns-01, a
6-perspective cohort with 0, 1 and 3 perspectives hijacked by route, next to what one
hijacked perspective alone would have concluded (the single-perspective check that is fooled).
"""
import base64
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import labdns  # noqa: E402
import labnet  # noqa: E402
from lab import RIR_OF, Lab  # noqa: E402

TARGET = "www.plain.test"
HONEST, EVIL = labdns.WORLD["honest"], labdns.WORLD["attacker"]
BODIES = {
    "caa": {"check_type": "caa", "domain_or_ip_target": TARGET},
    "acme-http-01": {"check_type": "dcv", "domain_or_ip_target": TARGET,
                     "dcv_check_parameters": {"validation_method": "acme-http-01",
                                              "token": labdns.HTTP_TOKEN,
                                              "key_authorization": HONEST["http_keyauth"]}},
    "acme-dns-01": {"check_type": "dcv", "domain_or_ip_target": TARGET,
                    "dcv_check_parameters": {"validation_method": "acme-dns-01",
                                             "key_authorization_hash": HONEST["dns01_hash"]}},
}


ATTACKER_BODIES = {
    "acme-http-01": {"check_type": "dcv", "domain_or_ip_target": TARGET,
                     "dcv_check_parameters": {"validation_method": "acme-http-01",
                                              "token": labdns.HTTP_TOKEN,
                                              "key_authorization": EVIL["http_keyauth"]}},
    "acme-dns-01": {"check_type": "dcv", "domain_or_ip_target": TARGET,
                    "dcv_check_parameters": {"validation_method": "acme-dns-01",
                                             "key_authorization_hash": EVIL["dns01_hash"]}},
}
ATTACKER_EXPECTS = {"acme-http-01": EVIL["http_keyauth"], "acme-dns-01": EVIL["dns01_hash"]}


def row(lab, who, method, body, label, hijacked):
    lab.hijack(hijacked, "route")
    status, resp, _ = lab.post(dict(body, orchestration_parameters={"perspective_count": 6}))
    if status != 200:
        raise SystemExit(f"coordinator answered {status}: {resp}")
    crs = {p["perspective_code"]: p["check_response"] for p in resp["perspectives"]}
    passed = [c for c, cr in crs.items() if cr["check_passed"]]
    seen = saw(method, crs[hijacked[0]]) if hijacked else "-"
    return (who, method, f"{label} {','.join(hijacked)}".strip(), f"{len(passed)}/6",
            str(len({RIR_OF[c] for c in passed})), "VALID" if resp["is_valid"] else "invalid",
            seen)


def saw(method, cr):
    d = cr["details"]
    if method == "acme-http-01":
        return base64.b64decode(d["response_page"] or "").decode()[-30:]
    return ", ".join(d["records_seen"] or [])[:30]


def single_perspective(lab, code, method):
    """What one perspective alone sees (its own resolver, its own route)."""
    ns = lab.ns(code)
    if method == "caa":
        return ", ".join(labdns.kdig(ns, "127.0.0.1", "plain.test", "CAA"))
    if method == "acme-dns-01":
        return ", ".join(t.strip('"') for t in
                         labdns.kdig(ns, "127.0.0.1", f"_acme-challenge.{TARGET}", "TXT"))
    addr = labdns.kdig(ns, "127.0.0.1", TARGET, "A")[0]
    import http.client
    import labproc
    conn = http.client.HTTPConnection(addr, 80, timeout=5)
    conn.sock = labproc.ns_connect(ns, addr, 80)
    conn.request("GET", f"/.well-known/acme-challenge/{labdns.HTTP_TOKEN}",
                 headers={"Host": TARGET})
    return conn.getresponse().read().decode()


def main():
    lab = Lab()
    if len(lab.net.existing()) != len(lab.net.all_namespaces()):
        print("starting the lab (deploy/lab/up.sh) ...", flush=True)
        lab.up()
    lab.restore()
    status, resp, _ = lab.post(dict(BODIES["caa"], orchestration_parameters={
        "perspective_count": 6}))
    cohort = [p["perspective_code"] for p in resp["perspectives"]]
    arin = [c for c in cohort if RIR_OF[c] == "ARIN"]
    others = [c for c in cohort if RIR_OF[c] != "ARIN"]
    print(f"\ncohort of 6 for {TARGET}: " + ", ".join(f"{c} ({RIR_OF[c]})" for c in cohort))
    print("BR rule: valid when >= 4 of 6 pass and the passing span >= 2 RIRs\n")
    rows = [("request", "method", "hijacked", "passed", "RIRs", "verdict", "a hijacked one saw")]
    plans = [("none", []), ("1 of 6", arin[:1]), ("3 of 6", (others[:1] + arin)[:3])]
    for method, body in BODIES.items():
        for label, hijacked in plans:
            rows.append(row(lab, "subscriber", method, body, label, hijacked))
    # the attacker asks for the certificate with its own account; 3 of 6 see its servers
    label, hijacked = plans[2]
    for method, body in ATTACKER_BODIES.items():
        rows.append(row(lab, "attacker", method, body, label, hijacked))
        code = hijacked[0]
        lab.hijack(hijacked, "route")
        seen = single_perspective(lab, code, method)
        fooled = seen == ATTACKER_EXPECTS[method]
        rows.append(("attacker", method, f"single-perspective check at {code}", "1/1", "1",
                     "VALID (fooled)" if fooled else "invalid", seen[:30]))
    lab.restore()
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\nhonest answers: CAA {HONEST['caa']}, HTTP-01 body ...{HONEST['http_keyauth'][-26:]}"
          f", TXT {HONEST['dns01_hash'][:12]}...")
    print(f"attacker:       CAA {EVIL['caa']}, HTTP-01 body ...{EVIL['http_keyauth'][-28:]}"
          f", TXT {EVIL['dns01_hash'][:12]}... (own web server {labnet.ATTACKER_WEB})")
    print("stop the lab with deploy/lab/down.sh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
