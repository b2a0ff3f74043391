"""
dnsseclab: a real validating resolver for the DNSSEC suites, on free loopback ports. knotd
serves the lab TLD "mpicsec." signed (dnssec-signing: on) plus an unsigned child and a bogus
child (zones/dnssec/); unbound validates with the TLD's KSK as trust anchor, reaching knotd
through stub-zones. dead.unsigned.mpicsec is stubbed to a port nobody listens on.
"""
import json
import os
import shutil
import socket

import dnslib

import mpiclab

TLD = "mpicsec"
ZONES = ["mpicsec", "unsigned.mpicsec", "bogus.mpicsec"]


class SignedKnot:
    """knotd signing mpicsec. (ECDSA P-256, NSEC) and serving the unsigned/bogus children."""

    def __init__(self, workdir, name="knot-dnssec"):
        self.name = name
        self.dir = os.path.join(workdir, name)
        self.zonedir = os.path.join(self.dir, "zones")
        os.makedirs(self.zonedir, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        for z in ZONES:
            shutil.copy(os.path.join(mpiclab.ZONES, "dnssec", z + ".zone"),
                        os.path.join(self.zonedir, z + ".zone"))
        self.port = mpiclab.free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.conf = os.path.join(self.dir, "knot.conf")
        with open(self.conf, "w") as f:
            f.write(self._config())
        self.proc = mpiclab.Process(name, ["knotd", "-c", self.conf], workdir, kind="knot")

    def _config(self):
        return f"""server:
    rundir: "{self.dir}"
    listen: [ 127.0.0.1@{self.port} ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "{self.dir}/knot.sock"
database:
    storage: "{self.dir}/db"
log:
  - target: stderr
    any: info
policy:
  - id: lab
    algorithm: ecdsap256sha256
    nsec3: off
    ksk-lifetime: 0
    zsk-lifetime: 0
    dnskey-ttl: 60
    zone-max-ttl: 60
    propagation-delay: 0
template:
  - id: default
    storage: "{self.zonedir}"
    file: "%s.zone"
    semantic-checks: on
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: mpicsec.
    dnssec-signing: on
    dnssec-policy: lab
  - domain: unsigned.mpicsec.
  - domain: bogus.mpicsec.
"""

    def start(self):
        self.proc.start()

        def signed():
            self.proc.check_alive()
            try:
                return self.ksk() is not None and all(
                    mpiclab.dns_query("127.0.0.1", self.port, z, "SOA", timeout=0.5)
                    .header.rcode == dnslib.RCODE.NOERROR for z in ZONES)
            except OSError:
                return False
        mpiclab.wait_until(signed, 20.0, f"{self.name} to serve signed {ZONES}")
        return self

    def ksk(self):
        """The KSK of mpicsec. in presentation form ("257 3 13 <base64>"), or None."""
        q = dnslib.DNSRecord.question(TLD + ".", "DNSKEY")
        try:
            a = dnslib.DNSRecord.parse(q.send("127.0.0.1", self.port, tcp=True, timeout=1.0))
        except (OSError, dnslib.DNSError):
            return None
        for rr in a.rr:
            if rr.rtype == dnslib.QTYPE.DNSKEY and rr.rdata.flags == 257:
                return rr.rdata.toZone()
        return None

    def stop(self):
        return self.proc.stop()


class Unbound:
    """unbound validating with the lab trust anchor; stub-zones lead to the signed knotd."""

    def __init__(self, workdir, knot, name="unbound"):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = mpiclab.free_port()
        self.dead_port = mpiclab.free_port()  # never bound: the dead zone's server
        self.address = f"127.0.0.1:{self.port}"
        self.knot = knot
        self.conf = os.path.join(self.dir, "unbound.conf")
        self.proc = mpiclab.Process(name, ["unbound", "-d", "-c", self.conf], workdir,
                                    kind="unbound")

    def _config(self, anchor):
        k = f"127.0.0.1@{self.knot.port}"
        return f"""server:
    interface: 127.0.0.1
    port: {self.port}
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{self.dir}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    num-threads: 1
    do-ip6: no
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    module-config: "validator iterator"
    trust-anchor: "{TLD}. DNSKEY {anchor}"
    qname-minimisation: no
    aggressive-nsec: no
    cache-max-negative-ttl: 1
    infra-host-ttl: 60
    outgoing-num-tcp: 4
remote-control:
    control-enable: no
stub-zone:
    name: "{TLD}."
    stub-addr: {k}
stub-zone:
    name: "unsigned.{TLD}."
    stub-addr: {k}
stub-zone:
    name: "bogus.{TLD}."
    stub-addr: {k}
stub-zone:
    name: "dead.unsigned.{TLD}."
    stub-addr: 127.0.0.1@{self.dead_port}
"""

    def start(self):
        anchor = self.knot.ksk()
        if anchor is None:
            raise mpiclab.LabError("no KSK published by the signed knotd")
        with open(self.conf, "w") as f:
            f.write(self._config(anchor))
        self.proc.start()

        def ready():
            self.proc.check_alive()
            try:
                a = query(self.port, "secure." + TLD, "CAA", timeout=0.5)
                return a.header.rcode == dnslib.RCODE.NOERROR
            except (OSError, socket.timeout):
                return False
        mpiclab.wait_until(ready, 20.0, f"{self.name} to answer")
        return self

    def stop(self):
        return self.proc.stop()


def query(port, name, qtype, timeout=3.0):
    """One query with DO and AD set (like the worker's resolver); returns the dnslib record."""
    q = dnslib.DNSRecord.question(name, qtype)
    q.header.ad = 1
    q.add_ar(dnslib.EDNS0(flags="do", udp_len=1232))
    return dnslib.DNSRecord.parse(q.send("127.0.0.1", port, timeout=timeout))


# Three remote perspectives (3 RIRs, pairwise >= 500 km) and a primary >= 500 km from each.
PRIMARY = "us-west-2"
LAB_PERSPECTIVES = [p for p in mpiclab.STANDARD_PERSPECTIVES
                    if p["code"] in ("us-east-1", "eu-central-1", "ap-northeast-1", PRIMARY)]
REMOTES = [p["code"] for p in LAB_PERSPECTIVES if p["code"] != PRIMARY]


def start_fleet(workdir, redis, workers, primary=PRIMARY, perspectives=None, coordinator=None,
                name="dnssec"):
    """A started Fleet of LAB_PERSPECTIVES whose config names `primary` (None: no primary)."""
    coord = {"enforce_br_phase_in": False, "default_perspective_count": 3}
    coord.update(coordinator or {})
    fleet = mpiclab.Fleet(workdir, redis, workers, name=name,
                          perspectives=perspectives or LAB_PERSPECTIVES, coordinator=coord)
    if primary is not None:
        fleet.config["primary_perspective"] = primary
    with open(fleet.config_path, "w") as f:
        json.dump(fleet.config, f, indent=2)
    return fleet.start()
