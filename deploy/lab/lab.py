#!/usr/bin/env python3
"""
The mpic namespace lab: seven remote perspectives and one primary perspective, each in its own
network namespace with its own validating unbound and its own mpic-worker; Redis and the
coordinator in a "ca" namespace; an honest origin and an attacker that share the victim's
addresses; a hub that routes (and hijacks). The channel between them is sealed (one key per
perspective). Python API: Lab(prefix).up(), .hijack(codes, kind), .restore(), .delay(...),
.poison(code, rr), .post(body), .down(). CLI: lab.py up|down|status|hijack|restore|delay|post.
"""
import argparse
import http.client
import json
import math
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import labdns  # noqa: E402
import labnet  # noqa: E402
import labproc  # noqa: E402
from labproc import LabError  # noqa: E402

# Real coordinates, 4 RIRs, every pair >= 500 km apart. The last one is the primary (the CA's
# own vantage point, BR §3.2.2.9); the seven others are the remote perspectives.
PERSPECTIVES = [
    {"code": "us-east-1", "rir": "ARIN", "latitude": 39.04, "longitude": -77.49},
    {"code": "us-west-2", "rir": "ARIN", "latitude": 45.84, "longitude": -119.70},
    {"code": "ca-central-1", "rir": "ARIN", "latitude": 45.50, "longitude": -73.57},
    {"code": "us-south-1", "rir": "ARIN", "latitude": 32.78, "longitude": -96.80},
    {"code": "eu-central-1", "rir": "RIPE NCC", "latitude": 50.11, "longitude": 8.68},
    {"code": "ap-northeast-1", "rir": "APNIC", "latitude": 35.68, "longitude": 139.69},
    {"code": "sa-east-1", "rir": "LACNIC", "latitude": -23.55, "longitude": -46.63},
    {"code": "eu-west-1", "rir": "RIPE NCC", "latitude": 53.35, "longitude": -6.26},
]
PRIMARY = "eu-west-1"
CODES = [p["code"] for p in PERSPECTIVES]
REMOTE_CODES = [c for c in CODES if c != PRIMARY]
RIR_OF = {p["code"]: p["rir"] for p in PERSPECTIVES}
ORIGIN_COORDS = (39.04, -77.49)  # the victim's web and DNS servers sit near Ashburn
COORDINATOR_PORT = 8080
REDIS_PORT = 6379
WORKER_HEALTH = ("127.0.0.1", 8081)
DEFAULT_PREFIX = os.environ.get("MPIC_LAB_PREFIX", "mpiclab")


def distance_delay_ms(code):
    """Emulated extra round trip for a perspective: 20 ms + 1 ms per 100 km, at most 150."""
    p = next(p for p in PERSPECTIVES if p["code"] == code)
    la1, lo1, la2, lo2 = map(math.radians, (*ORIGIN_COORDS, p["latitude"], p["longitude"]))
    h = (math.sin((la2 - la1) / 2) ** 2
         + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2)
    km = 2 * 6371.0 * math.asin(math.sqrt(h))
    return int(min(150, 20 + km / 100))


def binary(env_name, name):
    path = os.environ.get(env_name) or os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                    "build", name)
    if not os.access(path, os.X_OK):
        raise LabError(f"{name} not found at {path} (build first or set {env_name})")
    return path


class Lab:
    def __init__(self, prefix=DEFAULT_PREFIX, state_dir=None):
        self.prefix = prefix
        self.state_dir = state_dir or f"/tmp/mpic-lab-{prefix}"
        self.net = labnet.Net(prefix, CODES)
        self.servers = []
        self.knots = {}

    # -- paths
    def udir(self, code):
        return os.path.join(self.state_dir, "unbound", code)

    @property
    def config_path(self):
        return os.path.join(self.state_dir, "mpic.json")

    def ns(self, node):
        return self.net.ns(node)

    # -- lifecycle
    def up(self):
        self.down()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        os.makedirs(self.state_dir)
        try:
            self.net.create()
            self._start_delayer()
            self._start_dns()
            self._start_web()
            self._start_resolvers()
            self._start_mpic()
            with open(os.path.join(self.state_dir, "state.json"), "w") as f:
                json.dump({"prefix": self.prefix, "expired_at": self.expired_at,
                           "primary": PRIMARY,
                           "perspectives": {c: self.ns(c) for c in CODES}}, f, indent=2)
        except BaseException:
            print(f"lab start failed; logs in {self.state_dir}/logs", file=sys.stderr)
            self.down()
            raise
        return self

    def down(self):
        labproc.stop_recorded(self.state_dir, set(self.net.all_namespaces()))
        labproc.stop_pids([s.popen.pid for s in self.servers
                           if s.popen is not None and s.popen.poll() is None])
        self.servers = []
        self.net.destroy()

    def _server(self, name, node, argv):
        s = labproc.Server(self.state_dir, name, self.ns(node), argv).start()
        self.servers.append(s)
        return s

    def _start_delayer(self):
        devices = [self.net.delay_device(c) for c in CODES]
        self._write_delays({})
        s = self._server("delayer", "hub", [sys.executable, os.path.join(HERE, "labdelay.py"),
                                            self.delays_path] + devices)

        def ready():
            s.check_alive()
            rc, out = labproc.run(["ip", "-n", self.ns("hub"), "-o", "link"], check=False)
            return all(f" {d}:" in out for d in devices)
        labproc.wait_until(ready, 10, "the delay devices")
        self.net.route_delay_devices()

    @property
    def delays_path(self):
        return os.path.join(self.state_dir, "delays.json")

    def _write_delays(self, delays_ms):
        tmp = self.delays_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({self.net.delay_device(c): ms for c, ms in delays_ms.items()}, f)
        os.replace(tmp, self.delays_path)

    def _start_dns(self):
        sd = self.state_dir
        # expired.test: pre-signed with 8-second signatures, served as-is
        text, exp_ds, self.expired_at = labdns.presign_expired(sd, self.ns("origin"))
        infra = labdns.Knot(sd, "knot-dns", self.ns("dns"),
                            [(labnet.ROOT_DNS, 53), (labnet.TLD_DNS, 53)], [".", "test"],
                            {".": "lab", "test": "lab"})
        infra.zone_file(".", labdns.root_zone())
        infra.zone_file("test", labdns.tld_zone())
        origin = labdns.Knot(sd, "knot-origin", self.ns("origin"), [(labnet.VICTIM_DNS, 53)],
                             labdns.ORIGIN_ZONES, {z: "lab" for z in labdns.SIGNED_ZONES})
        for z in ("plain.test", "victim.test", "nosig.test"):
            origin.zone_file(z, labdns.test_zone(z, "honest"))
        origin.zone_file("expired.test", text)
        # servfail.test has no zone file: knotd answers SERVFAIL for it
        attacker = labdns.Knot(sd, "knot-attacker", self.ns("attacker"),
                               [(labnet.VICTIM_DNS, 53)], labdns.ATTACKER_ZONES,
                               {"victim.test": "lab"})
        for z in labdns.ATTACKER_ZONES:
            attacker.zone_file(z, labdns.test_zone(z, "attacker"))
        for k, zones in ((infra, [".", "test"]), (origin, ["plain.test", "victim.test"]),
                         (attacker, labdns.ATTACKER_ZONES)):
            self.servers.append(k.server)
            k.start(zones)
        self.knots = {"dns": infra, "origin": origin, "attacker": attacker}
        # chain of trust: DS of the children into test., DS of test. into the root
        hub = self.ns("hub")
        victim_ds = labdns.cds_of(hub, labnet.VICTIM_DNS, "victim.test")
        infra.set_rrset("test", "victim.test.", "DS", victim_ds)
        infra.set_rrset("test", "expired.test.", "DS", exp_ds)
        infra.set_rrset(".", "test.", "DS", labdns.cds_of(hub, labnet.TLD_DNS, "test"))
        keys = labproc.wait_until(
            lambda: [k for k in labdns.kdig(hub, labnet.ROOT_DNS, ".", "DNSKEY")
                     if k.startswith("257 ")], 20, "root KSK")
        labdns.write(os.path.join(sd, "root.anchor"),
                     "".join(f". 300 IN DNSKEY {k}\n" for k in keys))
        labdns.write(os.path.join(sd, "root.hints"), labdns.root_hints())
        labproc.wait_until(lambda: labdns.kdig(hub, labnet.TLD_DNS, "victim.test", "DS"), 20,
                           "DS victim.test in test.")

    def _start_web(self):
        for node, world, http_addrs in (
                ("origin", "honest", [labnet.VICTIM_WEB]),
                ("attacker", "attacker", [labnet.VICTIM_WEB, labnet.ATTACKER_WEB])):
            mgmt = (self.net.ip(node), 8055)
            s = self._server(f"web-{node}", node, [
                "pebble-challtestsrv", "-management", f"{mgmt[0]}:{mgmt[1]}", "-dns01", "",
                "-https01", "", "-http01", ",".join(f"{a}:80" for a in http_addrs),
                "-tlsalpn01", ",".join(f"{a}:443" for a in http_addrs)])
            self._wait_tcp(s, node, mgmt)
            w = labdns.WORLD[world]
            self._web_post(node, "add-http01", {"token": labdns.HTTP_TOKEN,
                                                "content": w["http_keyauth"]})
            for zone in ("plain.test", "victim.test"):
                self._web_post(node, "add-tlsalpn01", {"host": f"www.{zone}",
                                                       "content": w["alpn_keyauth"]})

    def _web_post(self, node, endpoint, body):
        status, text = self._http(node, self.net.ip(node), 8055, "POST", "/" + endpoint, body)
        if status != 200:
            raise LabError(f"challtestsrv {node} /{endpoint}: {status} {text}")

    def _start_resolvers(self):
        anchor = os.path.join(self.state_dir, "root.anchor")
        hints = os.path.join(self.state_dir, "root.hints")
        for code in CODES:
            udir = self.udir(code)
            labdns.write(os.path.join(udir, "unbound.conf"),
                         labdns.unbound_conf(udir, anchor, hints))
            self._server(f"unbound-{code}", code,
                         ["unbound", "-d", "-c", os.path.join(udir, "unbound.conf")])
        for code in CODES:
            ns = self.ns(code)
            labproc.wait_until(lambda: labdns.rcode(ns, "127.0.0.1", "victim.test", "SOA")
                               == "NOERROR", 20, f"resolver of {code}")
        # self-check: validation works (AD for the signed zone, SERVFAIL for the bogus ones)
        ns = self.ns(CODES[0])
        _, out = labproc.run(["ip", "netns", "exec", ns, "kdig", "@127.0.0.1", "CAA",
                              "www.victim.test", "+adflag"])
        flags = out.split("Flags:")[1].split(";")[0] if "Flags:" in out else ""
        if " ad" not in flags:
            raise LabError(f"the lab resolver does not validate victim.test:\n{out}")
        while time.time() <= self.expired_at + 1:
            time.sleep(0.2)
        labdns.flush_resolver(self.udir(CODES[0]))
        for z in ("expired.test", "nosig.test"):
            rc = labdns.rcode(ns, "127.0.0.1", z, "SOA")
            if rc != "SERVFAIL":
                raise LabError(f"{z} should be bogus but the resolver answered {rc}")

    def _seal_keys(self):
        """One fresh 0600 key file per perspective (key id 1): the seal.keys entries."""
        keydir = os.path.join(self.state_dir, "seal-keys")
        os.makedirs(keydir, mode=0o700, exist_ok=True)
        entries = []
        for code in CODES:
            path = os.path.join(keydir, f"{code}.1.key")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(os.urandom(32).hex() + "\n")
            entries.append({"perspective": code, "id": 1, "file": path})
        return entries

    def _start_mpic(self):
        ca = self.net.ip("ca")
        cfg = {
            "log_level": os.environ.get("MPIC_LAB_LOG_LEVEL", "info"),
            "key_prefix": "lab",
            "redis": {"address": f"{ca}:{REDIS_PORT}", "connect_timeout_ms": 1000,
                      "command_timeout_ms": 3000},
            "perspectives": [dict(p, region=p["code"]) for p in PERSPECTIVES],
            # runs every check too and must pass; validates DNSSEC ("dnssec": "required")
            "primary_perspective": PRIMARY,
            "seal": {"required": True, "keys": self._seal_keys()},
            "coordinator": {
                "listen": f"{ca}:{COORDINATOR_PORT}",
                "default_perspective_count": 6,
                "cohort_secret": "mpic-lab-cohort-secret",
                "caa_domains": [labdns.CA_DOMAIN],
                "deadline_ms": 8000,
                "straggler_grace_ms": 2000,
                # BR phase 3 (3 remote perspectives) so cohorts of 3..7 can all be shown
                "clock_override": "2026-04-01",
            },
            "worker": {"perspective": CODES[0], "dns_timeout_ms": 1500, "dns_tries": 2,
                       "http_connect_timeout_ms": 2000, "http_timeout_ms": 3000},
        }
        with open(self.config_path, "w") as f:
            json.dump(cfg, f, indent=2)
        redis = self._server("redis", "ca", [
            "redis-server", "--bind", ca, "--port", REDIS_PORT, "--save", "", "--appendonly",
            "no", "--protected-mode", "no", "--hash-max-listpack-value", "1024", "--dir",
            self.state_dir])
        self._wait_tcp(redis, "ca", (ca, REDIS_PORT))
        coord = self._server("coordinator", "ca", [
            binary("MPIC_COORDINATOR", "mpic-coordinator"), "--config", self.config_path])
        workers = []
        for code in CODES:
            workers.append((code, self._server(f"worker-{code}", code, [
                binary("MPIC_WORKER", "mpic-worker"), "--config", self.config_path,
                "--perspective", code, "--resolver", "127.0.0.1:53",
                "--listen", f"{WORKER_HEALTH[0]}:{WORKER_HEALTH[1]}", "--lab-allow-private"])))
        self._wait_http(coord, "ca", (ca, COORDINATOR_PORT))
        for code, w in workers:
            self._wait_http(w, code, WORKER_HEALTH)

    # -- waiting helpers
    def _wait_tcp(self, server, node, addr):
        def ready():
            server.check_alive()
            try:
                labproc.ns_connect(self.ns(node), addr[0], addr[1], 0.5).close()
                return True
            except OSError:
                return False
        labproc.wait_until(ready, 20, f"{server.name} on {addr}")

    def _wait_http(self, server, node, addr):
        def ready():
            server.check_alive()
            try:
                return self._http(node, addr[0], addr[1], "GET", "/healthz")[0] == 200
            except OSError:
                return False
        labproc.wait_until(ready, 20, f"{server.name} /healthz")

    def _http(self, node, host, port, method, path, body=None, timeout=10.0):
        """One HTTP request made from inside node's namespace: (status, body text)."""
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.sock = labproc.ns_connect(self.ns(node), host, port, timeout)
        try:
            conn.request(method, path, body=data,
                         headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace")
        finally:
            conn.close()

    # -- using the lab
    def post(self, body, timeout=30.0):
        """POST /mpic to the coordinator: (status, parsed JSON or None, seconds taken)."""
        t0 = time.monotonic()
        status, text = self._http("ca", self.net.ip("ca"), COORDINATOR_PORT, "POST", "/mpic",
                                  body, timeout)
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        return status, parsed, time.monotonic() - t0

    def hijack(self, perspectives, kind="route"):
        """Exactly these perspectives now reach the attacker ("route": the victim's whole
        prefix; "dns": only its authoritative DNS server). Resolver caches are flushed."""
        unknown = set(perspectives) - set(CODES)
        if unknown:
            raise LabError(f"unknown perspectives {sorted(unknown)}")
        changed = self.net.set_hijack(set(perspectives), kind)
        if changed:
            self.flush(changed)

    def restore(self):
        """No perspective is hijacked any more."""
        changed = self.net.set_hijack(set(), "route")
        if changed:
            self.flush(changed)

    def flush(self, codes=None):
        for code in codes or CODES:
            labdns.flush_resolver(self.udir(code))

    def poison(self, code, rr):
        """Plants rr (presentation form) in one perspective's resolver cache."""
        labdns.unbound_control(self.udir(code), f"local_data {rr}")

    def unpoison(self, code, name):
        labdns.unbound_control(self.udir(code), f"local_data_remove {name}")
        labdns.unbound_control(self.udir(code), f"local_zone_remove {name}")
        labdns.flush_resolver(self.udir(code))

    def status(self):
        return {"namespaces": self.net.existing(), "hijacked": self.net.hijacked(),
                "delays_ms": self.delays()}

    def delay(self, delays_ms):
        """Exactly these perspectives get this extra round-trip time ({code: ms}; {} = off)."""
        unknown = set(delays_ms) - set(CODES)
        if unknown:
            raise LabError(f"unknown perspectives {sorted(unknown)}")
        if delays_ms == self.delays():
            return
        self._write_delays(delays_ms)
        self.net.set_delayed({c for c, ms in delays_ms.items() if ms > 0})

    def distance_delays(self):
        """{code: ms} from each perspective's distance to the origin (20..150 ms)."""
        return {c: distance_delay_ms(c) for c in CODES}

    def delays(self):
        try:
            with open(self.delays_path) as f:
                by_dev = json.load(f)
        except (OSError, ValueError):
            return {}
        return {c: by_dev[self.net.delay_device(c)] for c in CODES
                if by_dev.get(self.net.delay_device(c))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--prefix", default=DEFAULT_PREFIX, help="namespace name prefix")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up")
    sub.add_parser("down")
    sub.add_parser("status")
    h = sub.add_parser("hijack")
    h.add_argument("--kind", choices=["route", "dns"], default="route")
    h.add_argument("perspectives", nargs="+")
    sub.add_parser("restore")
    d = sub.add_parser("delay", help="emulated distance: 'distance', 'off' or CODE=MS...")
    d.add_argument("spec", nargs="+")
    p = sub.add_parser("post")
    p.add_argument("json")
    args = ap.parse_args(argv)
    lab = Lab(args.prefix)
    if args.cmd == "up":
        lab.up()
        print(f"lab {args.prefix} is up; coordinator http://{lab.net.ip('ca')}:"
              f"{COORDINATOR_PORT}/mpic in namespace {lab.ns('ca')}; logs in "
              f"{lab.state_dir}/logs")
    elif args.cmd == "down":
        lab.down()
    elif args.cmd == "status":
        print(json.dumps(lab.status(), indent=2))
    elif args.cmd == "hijack":
        lab.hijack(args.perspectives, args.kind)
    elif args.cmd == "restore":
        lab.restore()
    elif args.cmd == "delay":
        if args.spec == ["distance"]:
            lab.delay(lab.distance_delays())
        elif args.spec == ["off"]:
            lab.delay({})
        else:
            lab.delay({c: int(ms) for c, ms in (x.split("=", 1) for x in args.spec)})
        print(json.dumps(lab.delays()))
    elif args.cmd == "post":
        status, body, _ = lab.post(json.loads(args.json))
        print(json.dumps(body, indent=2) if body is not None else status)
        return 0 if status == 200 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
