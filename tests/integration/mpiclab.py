"""
mpiclab: the servers the integration suites run against, started on free loopback ports in a
temp dir and stopped by PID: redis-server, knotd (zones from zones/), pebble-challtestsrv and a
"fleet" (one or more mpic-coordinator processes plus mpic-worker processes per perspective,
sharing one config file). Every wait polls with a short interval and has a timeout.
"""
import atexit
import base64
import hashlib
import http.client
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time

import dnslib

HERE = os.path.dirname(os.path.abspath(__file__))
ZONES = os.path.join(HERE, "zones")
POLL = 0.02

# The standard perspective set: 6 perspectives, 3 RIRs, real coordinates, all pairs >= 500 km.
STANDARD_PERSPECTIVES = [
    {"code": "us-east-1", "rir": "ARIN", "latitude": 39.04, "longitude": -77.49},
    {"code": "us-west-2", "rir": "ARIN", "latitude": 45.84, "longitude": -119.70},
    {"code": "ca-central-1", "rir": "ARIN", "latitude": 45.50, "longitude": -73.57},
    {"code": "us-south-1", "rir": "ARIN", "latitude": 32.78, "longitude": -96.80},
    {"code": "eu-central-1", "rir": "RIPE NCC", "latitude": 50.11, "longitude": 8.68},
    {"code": "ap-northeast-1", "rir": "APNIC", "latitude": 35.68, "longitude": 139.69},
]
for _p in STANDARD_PERSPECTIVES:
    _p["region"] = _p["code"]
CODES = [p["code"] for p in STANDARD_PERSPECTIVES]
RIR_OF = {p["code"]: p["rir"] for p in STANDARD_PERSPECTIVES}

# Every process started through this module (conftest prints the tails of the mpic logs of a
# failed test).
ALL_PROCESSES = []


def _kill_leftovers():
    """Called at interpreter exit: SIGKILLs any server a failed teardown left running."""
    for p in ALL_PROCESSES:
        if p.alive():
            p.popen.kill()


atexit.register(_kill_leftovers)


class LabError(Exception):
    """A server could not be started or did not become ready."""


def binary(env_name, default_name):
    """Path of an mpic binary from the environment (CTest sets it); fails loudly if missing."""
    path = os.environ.get(env_name)
    if not path:
        src = os.environ.get("MPIC_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
        path = os.path.join(src, "build", default_name)
    if not os.access(path, os.X_OK):
        raise LabError(f"{env_name}: binary {path!r} not found or not executable")
    return path


_HANDED_OUT = set()


def free_port(hosts=("127.0.0.1",)):
    """
    A TCP+UDP port that is currently free on every address in hosts. Picked at random below
    the kernel's ephemeral range, so outgoing connections never take it before the server
    binds it, and never handed out twice by this process.
    """
    lo, hi = 10000, 32000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_lo = int(f.read().split()[0])
        hi = min(hi, eph_lo - 1)
    except (OSError, ValueError, IndexError):
        pass
    for _ in range(500):
        port = random.randint(lo, hi)
        if port in _HANDED_OUT:
            continue
        if all(_port_free(h, port) for h in hosts) and _claim_port(port):
            _HANDED_OUT.add(port)
            return port
    raise LabError(f"no free port on {hosts}")


# Ports handed out by any test process on this machine: a file per port holding the owner's
# PID, so that two suites running at once (ctest -j2) cannot both pick a port in the moment
# between the check above and their server's bind. Removed at exit; a dead owner's is reused.
_CLAIMS = os.path.join("/tmp", "mpic-test-ports")


def _claim_port(port):
    path = os.path.join(_CLAIMS, str(port))
    os.makedirs(_CLAIMS, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    owner = int(f.read().strip())
            except (OSError, ValueError):
                return False  # being written by its owner right now
            try:
                if owner != os.getpid():
                    os.kill(owner, 0)
                    return False  # held by a live test process
            except ProcessLookupError:
                pass  # its owner is gone: take the port over
            except OSError:
                return False
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def _release_ports():
    for port in _HANDED_OUT:
        try:
            path = os.path.join(_CLAIMS, str(port))
            with open(path) as f:
                if f.read().strip() == str(os.getpid()):
                    os.unlink(path)
        except OSError:
            pass


atexit.register(_release_ports)


def _port_free(host, port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def wait_until(predicate, timeout, what, interval=POLL):
    """Polls predicate() until it returns a truthy value; raises LabError after timeout."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= end:
            raise LabError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def tail(path, lines=60):
    """The last lines of a text file ('' when it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


class Process:
    """One server process: started with its output in a log file, stopped by PID."""

    def __init__(self, name, argv, logdir, kind="other", env=None, cwd=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.kind = kind
        self.log_path = os.path.join(logdir, f"{name}.log")
        self.env = env
        self.cwd = cwd
        self.popen = None
        self.started_at = None
        self.stopped_at = None

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def start(self):
        logf = open(self.log_path, "ab")
        logf.write(("$ " + " ".join(self.argv) + "\n").encode())
        logf.flush()
        self.popen = subprocess.Popen(self.argv, stdout=logf, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd)
        logf.close()
        self.started_at = time.monotonic()
        self.stopped_at = None
        ALL_PROCESSES.append(self)
        return self

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def check_alive(self):
        if not self.alive():
            raise LabError(f"{self.name} exited with {self.popen.returncode}; log tail:\n"
                           f"{tail(self.log_path)}")

    def wait_for_tcp(self, host, port, timeout=10.0):
        def ready():
            self.check_alive()
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return True
            except OSError:
                return False
        wait_until(ready, timeout, f"{self.name} to accept TCP on {host}:{port}")

    def wait_for_http(self, host, port, path="/healthz", status=200, timeout=10.0,
                      ssl_context=None):
        def ready():
            self.check_alive()
            try:
                return http_request(host, port, "GET", path, timeout=1.0,
                                    ssl_context=ssl_context).status == status
            except OSError:
                return False
        wait_until(ready, timeout, f"{self.name}: GET http://{host}:{port}{path} == {status}")

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def stop(self, timeout=5.0, sig=signal.SIGTERM):
        """SIGTERM (or sig), then SIGKILL after timeout. Returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, sig)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=timeout)
            except ProcessLookupError:
                self.popen.wait(timeout=timeout)
        if self.stopped_at is None:
            self.stopped_at = time.monotonic()
        return self.popen.returncode

    def kill(self):
        """SIGKILL, waits for the process to be reaped."""
        return self.stop(timeout=5.0, sig=signal.SIGKILL)


# ------------------------------------------------------------------------------------------
# HTTP and DNS client helpers

class Response:
    """An HTTP answer: unpacks as (status, headers, json); also .body and .elapsed (s)."""

    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __iter__(self):
        return iter((self.status, self.headers, self.json))

    def __repr__(self):
        return f"<Response {self.status} {self.body[:2000]!r}>"


def http_request(host, port, method, path, body=None, headers=None, timeout=15.0,
                 ssl_context=None):
    """
    One HTTP/1.1 request on a new connection; body may be bytes, str or a JSON value.
    With ssl_context (an ssl.SSLContext) the request goes over HTTPS.
    """
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    hdrs.update(headers or {})
    t0 = time.monotonic()
    if ssl_context is not None:
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl_context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.headers, data.decode("utf-8", "replace"),
                        time.monotonic() - t0)
    finally:
        conn.close()


def dns_query(host, port, name, qtype, tcp=False, timeout=2.0):
    """Sends one query (RD set) and returns the parsed dnslib.DNSRecord."""
    q = dnslib.DNSRecord.question(name, qtype)
    raw = q.send(host, port, tcp=tcp, timeout=timeout)
    return dnslib.DNSRecord.parse(raw)


def acme_dns01_hash(key_authorization):
    """base64url(SHA-256(key authorization)) without padding (RFC 8555 §8.4)."""
    digest = hashlib.sha256(key_authorization.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def random_token(n=32):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(random.choice(alphabet) for _ in range(n))


def random_label(prefix, n=8):
    """A fresh DNS label: prefix, then n random lower-case letters and digits."""
    return prefix + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                            for _ in range(n))


# ------------------------------------------------------------------------------------------
# Servers

class RedisServer:
    """redis-server on 127.0.0.1:port in its own directory: no persistence, or with aof=True
    an append-only file fsynced on every write (restartable on the same port and data)."""

    def __init__(self, workdir, name="redis", aof=False):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        persistence = (["--appendonly", "yes", "--appendfsync", "always"] if aof
                       else ["--appendonly", "no"])
        self.proc = Process(name, ["redis-server", "--port", self.port, "--bind", "127.0.0.1",
                                   "--save", "", *persistence, "--dir", self.dir,
                                   # as deploy/redis/redis.conf: compact request records
                                   "--hash-max-listpack-value", "1024"],
                            workdir, kind="redis")

    def start(self):
        self.proc.start()
        self.proc.wait_for_tcp("127.0.0.1", self.port)
        return self

    def stop(self):
        return self.proc.stop()

    def kill(self):
        return self.proc.kill()


def big_caa_lines(owner, count=1000):
    """count CAA records at owner: count-1 fillers and one issue "ca.mpic.test"."""
    lines = [f'{owner} CAA 0 issue "filler-{i}.test"' for i in range(1, count)]
    lines.append(f'{owner} CAA 0 issue "ca.mpic.test"')
    return lines


class Knot:
    """knotd serving zones/common plus zones/<variant> on 127.0.0.1@port from a temp dir."""

    def __init__(self, workdir, variant, extra_records=None, name=None):
        self.name = name or f"knot-{variant}"
        self.dir = os.path.join(workdir, self.name)
        self.zonedir = os.path.join(self.dir, "zones")
        os.makedirs(self.zonedir, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.socket_path = os.path.join(self.dir, "knot.sock")
        self.zones = []
        for sub in ("common", variant):
            for fn in sorted(os.listdir(os.path.join(ZONES, sub))):
                if fn.endswith(".zone"):
                    zone = fn[:-len(".zone")]
                    shutil.copy(os.path.join(ZONES, sub, fn), os.path.join(self.zonedir, fn))
                    self.zones.append(zone)
        for zone, lines in (extra_records or {}).items():
            with open(os.path.join(self.zonedir, zone + ".zone"), "a") as f:
                f.write("\n" + "\n".join(lines) + "\n")
        self.conf = os.path.join(self.dir, "knot.conf")
        with open(self.conf, "w") as f:
            f.write(self._config())
        self.proc = Process(self.name, ["knotd", "-c", self.conf], workdir, kind="knot")

    def _config(self):
        zones = "".join(f"  - domain: {z}\n" for z in self.zones)
        return f"""server:
    rundir: "{self.dir}"
    listen: [ 127.0.0.1@{self.port} ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "{self.socket_path}"
database:
    storage: "{self.dir}/db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "{self.zonedir}"
    file: "%s.zone"
    semantic-checks: on
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
{zones}"""

    def start(self):
        self.proc.start()

        def loaded():
            self.proc.check_alive()
            try:
                return all(dns_query("127.0.0.1", self.port, z, "SOA", timeout=0.5)
                           .header.rcode == dnslib.RCODE.NOERROR for z in self.zones)
            except OSError:
                return False
        wait_until(loaded, 15.0, f"{self.name} to serve {self.zones}")
        return self

    def stop(self):
        return self.proc.stop()

    def knotc(self, *args):
        out = subprocess.run(["knotc", "-s", self.socket_path, *args], capture_output=True,
                             text=True, timeout=10)
        return out.returncode, out.stdout + out.stderr

    def set_records(self, zone, owner, rtype, rdatas, ttl=60):
        """Replaces the owner's rtype RRset (rdatas in presentation form; [] deletes it)."""
        rc, out = self.knotc("zone-begin", zone)
        if rc != 0:
            raise LabError(f"knotc zone-begin {zone}: {out}")
        try:
            self.knotc("zone-unset", zone, owner, rtype)  # fails harmlessly when absent
            for rdata in rdatas:
                rc, out = self.knotc("zone-set", zone, owner, str(ttl), rtype, rdata)
                if rc != 0:
                    raise LabError(f"knotc zone-set {owner} {rtype} {rdata}: {out}")
        except BaseException:
            self.knotc("zone-abort", zone)
            raise
        rc, out = self.knotc("zone-commit", zone)
        if rc != 0:
            raise LabError(f"knotc zone-commit {zone}: {out}")


class ChallTestSrv:
    """pebble-challtestsrv with DNS, management and HTTP-01 on one loopback address."""

    def __init__(self, workdir, ip, http01_port, default_ipv4=None, name=None,
                 tlsalpn01_port=None):
        self.name = name or f"challtestsrv-{ip}"
        self.ip = ip
        self.mgmt_port = free_port((ip,))
        self.dns_port = free_port((ip,))
        self.http01_port = http01_port
        self.tlsalpn01_port = tlsalpn01_port  # None: TLS-ALPN-01 server disabled
        self.address = f"{ip}:{self.dns_port}"
        self.proc = Process(self.name, [
            "pebble-challtestsrv", "-management", f"{ip}:{self.mgmt_port}",
            "-dns01", f"{ip}:{self.dns_port}", "-http01", f"{ip}:{http01_port}",
            "-https01", "",
            "-tlsalpn01", f"{ip}:{tlsalpn01_port}" if tlsalpn01_port else "",
            "-defaultIPv4", default_ipv4 or ip, "-defaultIPv6", ""], workdir, kind="challtestsrv")

    def start(self):
        self.proc.start()
        self.proc.wait_for_tcp(self.ip, self.mgmt_port)
        self.proc.wait_for_tcp(self.ip, self.http01_port)
        if self.tlsalpn01_port:
            self.proc.wait_for_tcp(self.ip, self.tlsalpn01_port)

        def dns_ready():
            try:
                dns_query(self.ip, self.dns_port, "ready.mpic.test", "A", timeout=0.5)
                return True
            except OSError:
                return False
        wait_until(dns_ready, 10.0, f"{self.name} DNS")
        return self

    def stop(self):
        return self.proc.stop()

    def _post(self, endpoint, body):
        r = http_request(self.ip, self.mgmt_port, "POST", "/" + endpoint, body, timeout=5.0)
        if r.status != 200:
            raise LabError(f"{self.name} /{endpoint} {body}: {r.status} {r.body}")

    def add_http01(self, token, content):
        self._post("add-http01", {"token": token, "content": content})

    def del_http01(self, token):
        self._post("del-http01", {"token": token})

    def add_tlsalpn01(self, host, content):
        """Serves a TLS-ALPN-01 certificate for SNI host with SHA-256(content) (RFC 8737)."""
        self._post("add-tlsalpn01", {"host": host, "content": content})

    def del_tlsalpn01(self, host):
        self._post("del-tlsalpn01", {"host": host})

    def add_redirect(self, path, target_url):
        self._post("add-redirect", {"path": path, "targetURL": target_url})

    def set_txt(self, host, value):
        """Appends a TXT value (host is made absolute, as challtestsrv requires)."""
        self._post("set-txt", {"host": _fqdn(host), "value": value})

    def clear_txt(self, host):
        self._post("clear-txt", {"host": _fqdn(host)})

    def set_cname(self, host, target):
        self._post("set-cname", {"host": _fqdn(host), "target": _fqdn(target)})

    def add_a(self, host, addresses):
        self._post("add-a", {"host": _fqdn(host), "addresses": list(addresses)})

    def add_aaaa(self, host, addresses):
        self._post("add-aaaa", {"host": _fqdn(host), "addresses": list(addresses)})

    def add_caa(self, host, policies):
        """policies: [{"tag": ..., "value": ...}] (challtestsrv cannot set flags)."""
        self._post("add-caa", {"host": host, "policies": policies})

    def set_servfail(self, host):
        self._post("set-servfail", {"host": _fqdn(host)})

    def clear_servfail(self, host):
        self._post("clear-servfail", {"host": _fqdn(host)})

    def http_history(self, host):
        r = http_request(self.ip, self.mgmt_port, "POST", "/http-request-history",
                         {"host": host}, timeout=5.0)
        return r.json or []


def _fqdn(name):
    return name if name.endswith(".") else name + "."


# ------------------------------------------------------------------------------------------
# Fleet

class Fleet:
    """
    A deployment under test: a config file with a unique key_prefix, `ncoordinators`
    mpic-coordinator processes and workers per perspective. workers maps a perspective code to
    a list of per-worker option dicts: resolver ("IP:PORT" or a list), http_port (lab),
    allow_private (bool, default True), args (extra argv). worker: extra keys of the config's
    "worker" section (timeouts). client_ssl: an ssl.SSLContext for a coordinator configured
    with coordinator.tls (health checks and the request helpers then use HTTPS).
    """

    def __init__(self, workdir, redis, workers, name="fleet", perspectives=None,
                 coordinator=None, streams=None, ncoordinators=1, log_level=None, worker=None,
                 seal=True, coordinator_args=None, client_ssl=None):
        self.name = f"{name}-{random.randrange(16**6):06x}"
        self.coordinator_args = list(coordinator_args or [])
        self.client_ssl = client_ssl
        self.workdir = workdir
        self.redis = redis
        self.perspectives = perspectives or STANDARD_PERSPECTIVES
        self.key_prefix = "t" + "%08x" % random.randrange(16**8)
        self.worker_opts = {code: list(opts) for code, opts in workers.items()}
        self.coordinator_ports = [free_port() for _ in range(ncoordinators)]
        coord = {
            "listen": f"127.0.0.1:{self.coordinator_ports[0]}",
            "default_perspective_count": 6,
            "cohort_secret": "it-secret-" + self.key_prefix,
            "caa_domains": ["ca.mpic.test"],
            "deadline_ms": 8000,
            "straggler_grace_ms": 200,
            "clock_override": "2026-11-01",
        }
        coord.update(coordinator or {})
        strm = {"job_visibility_timeout_ms": 3000, "result_visibility_timeout_ms": 3000}
        strm.update(streams or {})
        self.config = {
            "log_level": log_level or os.environ.get("MPIC_IT_LOG_LEVEL", "info"),
            "key_prefix": self.key_prefix,
            "redis": {"address": redis.address, "connect_timeout_ms": 1000,
                      "command_timeout_ms": 2000},
            "perspectives": self.perspectives,
            "streams": strm,
            "coordinator": coord,
            "worker": {"perspective": self.perspectives[0]["code"], "dns_timeout_ms": 1000,
                       "dns_tries": 2, "http_connect_timeout_ms": 2000, "http_timeout_ms": 3000},
        }
        self.config["worker"].update(worker or {})
        # Sealed channel on by default: one 0600 key file per perspective (key id 1).
        self.seal_keys = {}  # code -> {key id: key bytes}
        if seal:
            self.config["seal"] = {"required": True, "keys": self.make_seal_keys(1)}
        self.config_path = os.path.join(workdir, f"{self.name}.json")
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)
        self.coordinators = []
        self.workers = {}  # code -> list of Process (index = start order)
        self._nworkers = 0

    def make_seal_keys(self, key_id, codes=None):
        """Writes a fresh 0600 key file per perspective; returns the seal.keys entries."""
        keydir = os.path.join(self.workdir, f"{self.name}-keys")
        os.makedirs(keydir, mode=0o700, exist_ok=True)
        entries = []
        for p in self.perspectives:
            code = p["code"]
            if codes is not None and code not in codes:
                continue
            key = os.urandom(32)
            path = os.path.join(keydir, f"{code}.{key_id}.key")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key.hex() + "\n")
            self.seal_keys.setdefault(code, {})[key_id] = key
            entries.append({"perspective": code, "id": key_id, "file": path})
        return entries

    def rewrite_config(self):
        """Writes self.config again (for processes started after a change)."""
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    # -- lifecycle
    def start(self, wait_workers=True):
        try:
            for i, port in enumerate(self.coordinator_ports):
                p = Process(f"{self.name}-coordinator{i}",
                            [binary("MPIC_COORDINATOR", "mpic-coordinator"), "--config",
                             self.config_path, "--listen", f"127.0.0.1:{port}"]
                            + self.coordinator_args,
                            self.workdir, kind="coordinator").start()
                self.coordinators.append(p)
            for code, opts_list in self.worker_opts.items():
                for opts in opts_list:
                    self.start_worker(code, opts, wait=False)
            for i, p in enumerate(self.coordinators):
                p.wait_for_http("127.0.0.1", self.coordinator_ports[i], "/healthz", 200, 15.0,
                                ssl_context=self.client_ssl)
            if wait_workers:
                for procs in self.workers.values():
                    for p in procs:
                        p.wait_for_http("127.0.0.1", p.health_port, "/healthz", 200, 15.0)
        except BaseException:
            self.stop()
            raise
        return self

    def start_worker(self, code, opts, wait=True):
        """Starts one more worker for perspective code; returns its Process."""
        self._nworkers += 1
        health_port = free_port()
        argv = [binary("MPIC_WORKER", "mpic-worker"), "--config", self.config_path,
                "--perspective", code, "--listen", f"127.0.0.1:{health_port}"]
        resolvers = opts.get("resolver", [])
        for r in [resolvers] if isinstance(resolvers, str) else resolvers:
            argv += ["--resolver", r]
        if "http_port" in opts:
            argv += ["--lab-http-port", str(opts["http_port"])]
        if opts.get("allow_private", True):
            argv.append("--lab-allow-private")
        argv += list(opts.get("args", []))
        p = Process(f"{self.name}-worker-{code}-{self._nworkers}", argv, self.workdir,
                    kind="worker")
        p.health_port = health_port
        p.start()
        self.workers.setdefault(code, []).append(p)
        if wait:
            p.wait_for_http("127.0.0.1", health_port, "/healthz", 200, 15.0)
        return p

    def kill_worker(self, code, index=0):
        """SIGKILLs one worker of perspective code."""
        self.workers[code][index].kill()

    def stop(self):
        """Stops every process (workers first); returns {name: exit code}."""
        codes = {}
        for procs in self.workers.values():
            for p in procs:
                codes[p.name] = p.stop()
        for p in self.coordinators:
            codes[p.name] = p.stop()
        return codes

    # -- requests
    def post(self, body, timeout=30.0, coordinator=0, path="/mpic", headers=None):
        return http_request("127.0.0.1", self.coordinator_ports[coordinator], "POST", path,
                            body, headers=headers, timeout=timeout,
                            ssl_context=self.client_ssl)

    def get(self, path, coordinator=0, timeout=10.0):
        return http_request("127.0.0.1", self.coordinator_ports[coordinator], "GET", path,
                            timeout=timeout, ssl_context=self.client_ssl)

    def request(self, method, path, body=None, coordinator=0, timeout=10.0, headers=None):
        return http_request("127.0.0.1", self.coordinator_ports[coordinator], method, path,
                            body, headers=headers, timeout=timeout,
                            ssl_context=self.client_ssl)


class FleetPool:
    """Keeps one fleet alive at a time, keyed by what distinguishes it (e.g. the evil set)."""

    def __init__(self, make):
        self.make = make
        self.key = None
        self.fleet = None

    def get(self, key, workers_fn, **kw):
        if key != self.key:
            if self.fleet is not None:
                self.fleet.stop()
            self.key, self.fleet = None, None
            self.fleet = self.make(workers_fn(), **kw)
            self.key = key
        return self.fleet


def uniform_workers(resolver, http_port=None, codes=None, overrides=None):
    """One worker per perspective with the same options, except codes in overrides."""
    workers = {}
    for code in codes or CODES:
        opts = {"resolver": resolver}
        if http_port is not None:
            opts["http_port"] = http_port
        opts.update((overrides or {}).get(code, {}))
        workers[code] = [opts]
    return workers


def by_code(resp_json):
    """{perspective_code: check_response} of a 200 response."""
    return {p["perspective_code"]: p["check_response"] for p in resp_json["perspectives"]}


class ThreadedHTTP:
    """
    A threaded http.server for a handler class a test defines, on a free port of host, with
    the request log kept off stderr. start() serves from a daemon thread; stop() shuts it down.
    """

    def __init__(self, handler, host="127.0.0.1"):
        class Quiet(handler):
            def log_message(self, *args):  # called by http.server; keep stderr quiet
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Quiet)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5.0)


class HeldHTTPServer:
    """
    An HTTP server run by the test: the first request signals `first_request` and is held
    open without an answer (until `release` is set or the server stops; with answer_held it
    then gets the answer too); later requests get 200 with `body`. Used to keep a worker busy
    while it is killed or Redis is killed, or to make one perspective a straggler.
    """

    def __init__(self, body, host="127.0.0.1", answer_held=False):
        outer = self
        self.body = body.encode() if isinstance(body, str) else body
        self.first_request = threading.Event()
        self.release = threading.Event()
        self.requests = []
        self._lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # called by http.server for each GET
                with outer._lock:
                    first = not outer.requests
                    outer.requests.append((self.path, self.headers.get("Host")))
                if first:
                    outer.first_request.set()
                    outer.release.wait(30.0)
                    if not answer_held:
                        return
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

        self.http = ThreadedHTTP(Handler, host)
        self.port = self.http.port

    def start(self):
        self.http.start()
        return self

    def stop(self):
        self.release.set()
        self.http.stop()


# ------------------------------------------------------------------------------------------
# Request bodies and response checks shared by the suites

TOP_LEVEL_KEYS_CAA = ["mpic_completed", "request_orchestration_parameters",
                      "actual_orchestration_parameters", "check_type", "domain_or_ip_target",
                      "is_valid", "trace_identifier", "perspectives", "caa_check_parameters",
                      "previous_attempt_results", "primary_perspective"]
TOP_LEVEL_KEYS_DCV = TOP_LEVEL_KEYS_CAA[:-3] + ["dcv_check_parameters",
                                                "previous_attempt_results", "primary_perspective"]
CHECK_RESPONSE_KEYS = ["check_completed", "check_passed", "errors", "timestamp_ns",
                       "check_type", "details"]
CAA_DEFAULTS = {"certificate_type": "tls-server", "caa_domains": ["ca.mpic.test"],
                "allow_lookup_failure": False, "account_uri": None, "validation_method": None}


def caa_body(target, params=None, orchestration=None, **extra):
    body = {"check_type": "caa", "domain_or_ip_target": target}
    if params is not None:
        body["caa_check_parameters"] = params
    if orchestration is not None:
        body["orchestration_parameters"] = orchestration
    body.update(extra)
    return body


def http01_body(target, token, key_authorization, orchestration=None, **extra):
    body = {"check_type": "dcv", "domain_or_ip_target": target,
            "dcv_check_parameters": {"validation_method": "acme-http-01", "token": token,
                                     "key_authorization": key_authorization}}
    if orchestration is not None:
        body["orchestration_parameters"] = orchestration
    body.update(extra)
    return body


def dns01_body(target, key_authorization_hash, orchestration=None, **extra):
    body = {"check_type": "dcv", "domain_or_ip_target": target,
            "dcv_check_parameters": {"validation_method": "acme-dns-01",
                                     "key_authorization_hash": key_authorization_hash}}
    if orchestration is not None:
        body["orchestration_parameters"] = orchestration
    body.update(extra)
    return body


def expect_200(resp):
    """Asserts a 200 JSON answer and returns its body."""
    assert resp.status == 200, resp
    assert isinstance(resp.json, dict), resp
    return resp.json


def error_types(check_response):
    return [e["error_type"] for e in (check_response["errors"] or [])]
