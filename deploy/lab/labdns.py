"""
labdns: the lab's DNS. knotd serves a signed root and "test." (dns namespace), the honest test
zones (origin) and the attacker's copies (attacker); unbound is each perspective's own
validating resolver, anchored at the lab root. Deliberately broken zones: expired.test (RRSIGs
expired, pre-signed by a short-lived signer), nosig.test (DS in the parent, zone unsigned),
servfail.test (configured but not loadable: SERVFAIL), refused.test (server not authoritative:
REFUSED), silent.test (name server address blackholed). plain.test is unsigned.
"""
import base64
import calendar
import hashlib
import os
import re
import socket
import time

import labproc
from labnet import ATTACKER_WEB, BLACKHOLE_DNS, ROOT_DNS, TLD_DNS, VICTIM_DNS, VICTIM_WEB
from labproc import LabError, run


def dns01_hash(key_authorization):
    """base64url(SHA-256(key authorization)) without padding (RFC 8555 §8.4)."""
    digest = hashlib.sha256(key_authorization.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


# What the honest origin and the attacker publish for every test name (www.<zone>).
CA_DOMAIN = "ca.mpic.test"
HTTP_TOKEN = "lab-http01-token"
WORLD = {
    "honest": {"caa": f'0 issue "{CA_DOMAIN}"', "web": VICTIM_WEB,
               "http_keyauth": HTTP_TOKEN + ".honest-account-thumbprint",
               "dns01_keyauth": "lab-dns01-token.honest-account-thumbprint",
               "alpn_keyauth": "lab-alpn-token.honest-account-thumbprint"},
    "attacker": {"caa": '0 issue "attacker-ca.example"', "web": ATTACKER_WEB,
                 "http_keyauth": HTTP_TOKEN + ".attacker-account-thumbprint",
                 "dns01_keyauth": "lab-dns01-token.attacker-account-thumbprint",
                 "alpn_keyauth": "lab-alpn-token.attacker-account-thumbprint"},
}
for _w in WORLD.values():
    _w["dns01_hash"] = dns01_hash(_w["dns01_keyauth"])
    # acme-tls-alpn-01's key_authorization_hash: hex SHA-256 (the acmeIdentifier value)
    _w["alpn_hash"] = hashlib.sha256(_w["alpn_keyauth"].encode()).hexdigest()

SIGNED_ZONES = ["victim.test"]
ORIGIN_ZONES = ["plain.test", "victim.test", "expired.test", "nosig.test", "servfail.test"]
ATTACKER_ZONES = ["plain.test", "victim.test"]
DELEGATIONS = {"plain": VICTIM_DNS, "victim": VICTIM_DNS, "expired": VICTIM_DNS,
               "nosig": VICTIM_DNS, "servfail": VICTIM_DNS, "refused": VICTIM_DNS,
               "silent": BLACKHOLE_DNS}
# A DS that matches no key: nosig.test is "signed" in the parent's eyes only.
NOSIG_DS = "4711 13 2 " + "AB" * 32


def test_zone(zone, world, ttl=0):
    """A test zone: CAA at the apex, www (A, _acme-challenge TXT) per world."""
    w = WORLD[world]
    return f"""$ORIGIN {zone}.
$TTL {ttl}
@ SOA ns hostmaster 1 3600 900 604800 0
@ NS ns
ns A {VICTIM_DNS}
@ CAA {w['caa']}
www A {w['web']}
_acme-challenge.www TXT "{w['dns01_hash']}"
"""


def root_zone():
    return f"""$ORIGIN .
$TTL 300
@ SOA a.root-servers. hostmaster.root-servers. 1 3600 900 604800 60
@ NS a.root-servers.
a.root-servers. A {ROOT_DNS}
test. NS a.nic.test.
a.nic.test. A {TLD_DNS}
"""


def tld_zone():
    lines = [f"""$ORIGIN test.
$TTL 300
@ SOA a.nic hostmaster.nic 1 3600 900 604800 60
@ NS a.nic
a.nic A {TLD_DNS}"""]
    for label, addr in DELEGATIONS.items():
        lines.append(f"{label} NS ns.{label}\nns.{label} A {addr}")
    lines.append(f"nosig DS {NOSIG_DS}")
    return "\n".join(lines) + "\n"


def knot_conf(kdir, listen, zones, signed, extra_policy="", acl=""):
    """knot.conf text: zones (names) served from kdir/zones, the signed ones auto-signed."""
    zl = []
    for z in zones:
        zl.append(f"  - domain: {z}\n")
        if z == ".":
            zl.append('    file: "root.zone"\n')
        if z in signed:
            zl.append(f"    dnssec-signing: on\n    dnssec-policy: {signed[z]}\n")
        if acl:
            zl.append("    acl: xfr\n")
    listen_s = ", ".join(f"{a}@{p}" for a, p in listen)
    return f"""server:
    rundir: "{kdir}"
    listen: [ {listen_s} ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "{kdir}/knot.sock"
database:
    storage: "{kdir}/db"
log:
  - target: stderr
    any: info
{acl}policy:
  - id: lab
    algorithm: ecdsap256sha256
    nsec3: off
    cds-cdnskey-publish: always
{extra_policy}template:
  - id: default
    storage: "{kdir}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
{''.join(zl)}"""


SHORT_POLICY = """  - id: short
    algorithm: ecdsap256sha256
    rrsig-lifetime: 8s
    rrsig-refresh: 3s
    rrsig-pre-refresh: 0s
    dnskey-ttl: 1
    zone-max-ttl: 1
    propagation-delay: 0
    cds-cdnskey-publish: always
"""
XFR_ACL = """acl:
  - id: xfr
    address: 127.0.0.1
    action: transfer
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def kdig(ns, server, name, qtype, *opts, port=53):
    """`kdig +short` run inside ns; returns the answer lines."""
    rc, out = run(["ip", "netns", "exec", ns, "kdig", f"@{server}", "-p", str(port), qtype,
                   name, "+short", "+time=1", "+retry=1", *opts], check=False)
    if rc != 0:
        return []
    return [ln.strip() for ln in out.splitlines() if ln.strip() and not ln.startswith(";")]


def rcode(ns, server, name, qtype, *opts):
    """The RCODE name of one query (or 'TIMEOUT')."""
    rc, out = run(["ip", "netns", "exec", ns, "kdig", f"@{server}", qtype, name,
                   "+time=1", "+retry=0", *opts], check=False)
    m = re.search(r"status: (\w+)", out)
    return m.group(1) if m else "TIMEOUT"


class Knot:
    """One knotd in a namespace."""

    def __init__(self, state_dir, name, ns, listen, zones, signed=None, extra_policy="",
                 acl=""):
        self.dir = os.path.join(state_dir, name)
        self.name = name
        self.ns = ns
        self.listen = listen
        self.zones = zones
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "zones"), exist_ok=True)
        self.conf = os.path.join(self.dir, "knot.conf")
        write(self.conf, knot_conf(self.dir, listen, zones, signed or {}, extra_policy, acl))
        self.server = labproc.Server(state_dir, name, ns, ["knotd", "-c", self.conf])

    def zone_file(self, zone, text):
        name = "root" if zone == "." else zone
        write(os.path.join(self.dir, "zones", name + ".zone"), text)

    def start(self, ready_zones=None):
        self.server.start()
        addr, port = self.listen[0]

        def ready():
            self.server.check_alive()
            return all(kdig(self.ns, addr, z, "SOA", port=port) for z in ready_zones or [])
        labproc.wait_until(ready, 20, f"{self.name} to serve {ready_zones}")
        return self

    def knotc(self, *args):
        return run(["knotc", "-s", os.path.join(self.dir, "knot.sock"), *args])

    def set_rrset(self, zone, owner, rtype, rdatas, ttl=300):
        self.knotc("zone-begin", zone)
        try:
            for rd in rdatas:
                self.knotc("zone-set", zone, owner, str(ttl), rtype, rd)
        except BaseException:
            self.knotc("zone-abort", zone)
            raise
        self.knotc("zone-commit", zone)

    def stop(self):
        if self.server.popen is not None:
            labproc.stop_pid(self.server.popen.pid)


def cds_of(ns, server, zone, port=53):
    """The zone's CDS RRset (DS rdatas), polled until the signer has published it."""
    return labproc.wait_until(lambda: kdig(ns, server, zone, "CDS", port=port), 20,
                              f"CDS of {zone}")


def presign_expired(state_dir, ns, zone="expired.test"):
    """
    Signs zone with 8-second signatures in a throwaway knotd (127.0.0.1:5300 inside ns) and
    returns (signed zone text, DS rdatas, expiry as epoch seconds).
    """
    k = Knot(state_dir, "signer", ns, [("127.0.0.1", 5300)], [zone], {zone: "short"},
             SHORT_POLICY, XFR_ACL)
    k.zone_file(zone, test_zone(zone, "honest", ttl=1).replace("604800 0", "604800 1"))
    k.start([zone])
    try:
        ds = cds_of(ns, "127.0.0.1", zone, port=5300)
        rc, text = run(["ip", "netns", "exec", ns, "kdig", "@127.0.0.1", "-p", "5300", "AXFR",
                        zone, "+noall", "+answer"])
    finally:
        k.stop()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(";")]
    if lines and lines[-1].split()[3:4] == ["SOA"]:
        lines = lines[:-1]  # AXFR repeats the SOA at its end
    expiries = [calendar.timegm(time.strptime(ln.split()[8], "%Y%m%d%H%M%S"))
                for ln in lines if ln.split()[3:4] == ["RRSIG"]]
    if not expiries:
        raise LabError(f"signer produced no RRSIGs for {zone}")
    return "\n".join(lines) + "\n", ds, max(expiries)


# -- unbound ---------------------------------------------------------------------------------

def unbound_conf(udir, anchor_path, hints_path):
    return f"""server:
    interface: 127.0.0.1
    port: 53
    access-control: 127.0.0.0/8 allow
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{udir}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    msg-cache-size: 4m
    rrset-cache-size: 8m
    key-cache-size: 1m
    root-hints: "{hints_path}"
    trust-anchor-file: "{anchor_path}"
    # strict validation: no clock-skew allowance for the lab's short-lived signatures
    val-sig-skew-min: 0
    val-sig-skew-max: 0
    val-bogus-ttl: 1
    infra-host-ttl: 30
    infra-keep-probing: yes
    # "test." is an RFC 6761 special-use zone that unbound answers locally by default
    local-zone: "test." nodefault
    do-not-query-localhost: yes
remote-control:
    control-enable: yes
    control-interface: "{udir}/control.sock"
    control-use-cert: no
"""


def root_hints():
    return f". 3600000 NS a.root-servers.\na.root-servers. 3600000 A {ROOT_DNS}\n"


def unbound_control(udir, command, timeout=5.0):
    """One remote-control command over the resolver's unix socket; returns its output."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(os.path.join(udir, "control.sock"))
        s.sendall(f"UBCT1 {command}\n".encode())
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    finally:
        s.close()
    out = b"".join(chunks).decode("utf-8", "replace")
    if out.startswith("error"):
        raise LabError(f"unbound-control {command}: {out.strip()}")
    return out


def flush_resolver(udir):
    """Forgets everything the resolver learned about the lab's zones and servers."""
    for cmd in ("flush_zone test.", "flush_bogus", "flush_negative", "flush_infra all",
                "flush_requestlist"):
        unbound_control(udir, cmd)
