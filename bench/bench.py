#!/usr/bin/python3
"""
mpic benchmark orchestrator (run through bench/run.sh): starts redis-server, knotd (bench zone),
nginx (a fast static HTTP-01 target and a slow one built with the echo module's echo_sleep) and
mpic fleets on free loopback ports, runs every scenario with bench/mpic-loadgen,
mpic-bench-direct, dnsperf and wrk, prints a table and writes one JSON line per scenario to
<out>/results.jsonl. Every process is stopped by PID (tests/integration/mpiclab.Process).
Benchmarks print figures; they are never part of the pass/fail test suite.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import msgpack  # noqa: E402  (python3-msgpack)
import redis  # noqa: E402  (python3-redis, installed by deploy/install-deps.sh)

import floor  # noqa: E402  (bench/floor.py)
import soak  # noqa: E402  (bench/soak.py)
import mpiclab  # noqa: E402
import sealenv  # noqa: E402  (the sealed envelope in Python: the overhead step opens a job)
from mpiclab import (CODES, Fleet, Knot, Process, RedisServer, acme_dns01_hash,  # noqa: E402
                     free_port, uniform_workers)

TOKEN = "bench-token-0123456789abcdefghijklmnopqrstuv"
KEY_AUTH = TOKEN + ".bench-thumbprint"
DNS01_KEY_AUTH = "bench-dns01-key-authorization"
CAA_DIRECT = "direct.bench.test"   # CAA record at the name (the check also asks bench.test, test)
CAA_CLIMB = "x.y.z.bench.test"     # climbs 3 labels to bench.test's record
HTTP_NAME = "www.bench.test"       # A only: AAAA + A lookups, then one GET per check
DNS01_NAME = "dns.bench.test"      # TXT at _acme-challenge.dns.bench.test: 1 query per check

# DNS queries one check makes, per scenario (each validation runs 6 checks, one per perspective).
# worker/caa_check.c asks every level of the name up to the TLD in parallel, so a CAA check
# costs one query per label even when the record is at the name itself.
QUERIES = {
    "caa_direct": [(CAA_DIRECT, "CAA"), ("bench.test", "CAA"), ("test", "CAA")],
    "caa_climb3": [(CAA_CLIMB, "CAA"), ("y.z.bench.test", "CAA"), ("z.bench.test", "CAA"),
                   ("bench.test", "CAA"), ("test", "CAA")],
    "http01": [(HTTP_NAME, "AAAA"), (HTTP_NAME, "A")],
    "dns01": [("_acme-challenge." + DNS01_NAME, "TXT")],
}


def zone_text():
    return f"""; bench zone (bench/bench.py)
$ORIGIN bench.test.
$TTL 60
@        SOA  ns1 hostmaster 2026112301 3600 900 604800 60
@        NS   ns1
ns1      A    127.0.0.1
@        CAA  0 issue "ca.mpic.test"
direct   CAA  0 issue "ca.mpic.test"
x.y.z    A    127.0.0.1
www      A    127.0.0.1
_acme-challenge.dns TXT "{acme_dns01_hash(DNS01_KEY_AUTH)}"
"""


def bodies():
    caa = lambda t: {"check_type": "caa", "domain_or_ip_target": t}  # noqa: E731
    http01 = {"check_type": "dcv", "domain_or_ip_target": HTTP_NAME,
              "dcv_check_parameters": {"validation_method": "acme-http-01", "token": TOKEN,
                                       "key_authorization": KEY_AUTH}}
    dns01 = {"check_type": "dcv", "domain_or_ip_target": DNS01_NAME,
             "dcv_check_parameters": {"validation_method": "acme-dns-01",
                                      "key_authorization_hash": acme_dns01_hash(DNS01_KEY_AUTH)}}
    b = {"caa_direct": [caa(CAA_DIRECT)], "caa_climb3": [caa(CAA_CLIMB)], "http01": [http01],
         "dns01": [dns01]}
    b["mix"] = [caa(CAA_DIRECT), caa(CAA_CLIMB), http01, dns01]
    return b


class Nginx:
    """nginx (Debian nginx-light) with a fast static HTTP-01 target and a slow echo_sleep one,
    plus the slow one over TLS behind an http:// server that redirects every request to it
    (a self-signed P-256 certificate made with the openssl command)."""

    def __init__(self, workdir, slow_delay_s):
        self.dir = os.path.join(workdir, "nginx")
        os.makedirs(os.path.join(self.dir, "www", ".well-known", "acme-challenge"),
                    exist_ok=True)
        with open(os.path.join(self.dir, "www", ".well-known", "acme-challenge", TOKEN),
                  "w") as f:
            f.write(KEY_AUTH)
        self.port = free_port()
        self.slow_port = free_port()
        self.redirect_port = free_port()
        self.slow_tls_port = free_port()
        self.slow_delay_s = slow_delay_s
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key, "-out",
                        self.cert, "-days", "2", "-subj", "/CN=bench"],
                       check=True, capture_output=True, timeout=60)
        self.conf = os.path.join(self.dir, "nginx.conf")
        self.write_conf()
        self.proc = Process("nginx", ["nginx", "-c", self.conf, "-p", self.dir], workdir)

    def write_conf(self):
        with open(self.conf, "w") as f:
            f.write(f"""load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 200000;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 100000; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {self.dir}/tmp;
    proxy_temp_path {self.dir}/tmp;
    fastcgi_temp_path {self.dir}/tmp;
    uwsgi_temp_path {self.dir}/tmp;
    scgi_temp_path {self.dir}/tmp;
    server {{
        listen 127.0.0.1:{self.port} backlog=4096;
        root {self.dir}/www;
        default_type text/plain;
    }}
    server {{
        listen 127.0.0.1:{self.slow_port} backlog=4096;
        default_type text/plain;
        location / {{ echo_sleep {self.slow_delay_s}; echo -n "{KEY_AUTH}"; }}
    }}
    server {{
        listen 127.0.0.1:{self.redirect_port} backlog=4096;
        return 302 https://$host$request_uri;
    }}
    server {{
        listen 127.0.0.1:{self.slow_tls_port} ssl backlog=4096;
        ssl_certificate {self.cert};
        ssl_certificate_key {self.key};
        default_type text/plain;
        location / {{ echo_sleep {self.slow_delay_s}; echo -n "{KEY_AUTH}"; }}
    }}
}}
""")

    def start(self):
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.proc.start()
        self.proc.wait_for_tcp("127.0.0.1", self.port)
        self.proc.wait_for_tcp("127.0.0.1", self.slow_port)
        self.proc.wait_for_tcp("127.0.0.1", self.slow_tls_port)
        return self

    def set_slow_delay(self, seconds):
        """Rewrites the slow server's delay and reloads nginx (SIGHUP)."""
        self.slow_delay_s = seconds
        self.write_conf()
        self.proc.send_signal(1)
        time.sleep(1.0)  # the reload has no completion event; old workers finish on their own

    def stop(self):
        return self.proc.stop()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def cpu_ticks(pid):
    """utime + stime of a process in clock ticks (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wakeups(pid):
    """Voluntary context switches of a process's threads so far (/proc/PID/task/*/status):
    each is a sleep (in epoll_wait, mostly) followed by a wake-up."""
    n = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/status") as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    n += int(line.split()[1])
    return n


def parse_json_line(out):
    for line in out.splitlines():
        if line.startswith("JSON "):
            return json.loads(line[5:])
    raise RuntimeError("no JSON line in:\n" + out)


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.dur = 3.0 if args.quick else 10.0
        self.raw_dur = max(1, int(self.dur / 2))  # seconds per raw-limit run (RAW_TRIES runs)
        self.warm = 1.0 if args.quick else 2.0
        self.build = os.path.abspath(args.build)
        os.environ["MPIC_COORDINATOR"] = os.path.join(self.build, "mpic-coordinator")
        os.environ["MPIC_WORKER"] = os.path.join(self.build, "mpic-worker")
        self.loadgen = os.path.join(self.build, "bench", "mpic-loadgen")
        self.direct = os.path.join(self.build, "bench", "mpic-bench-direct")
        self.out = os.path.abspath(args.out)
        os.makedirs(self.out, exist_ok=True)
        self.workdir = tempfile.mkdtemp(prefix="mpic-bench-")
        os.chmod(self.workdir, 0o755)  # nginx workers run as www-data
        self.results = []
        self.text = []
        self.fleet = None

    # ---------------------------------------------------------------- output
    def emit(self, rec):
        rec.setdefault("load_before", os.getloadavg()[0])
        self.results.append(rec)
        with open(os.path.join(self.out, "results.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")

    def say(self, *lines):
        for line in lines:
            print(line, flush=True)
            self.text.append(line)

    # ---------------------------------------------------------------- lab
    def start_lab(self):
        self.redis = RedisServer(self.workdir).start()
        self.rcli = redis.Redis(host="127.0.0.1", port=self.redis.port)
        self.knot = Knot(self.workdir, "honest", name="knot-bench")
        with open(os.path.join(self.knot.zonedir, "bench.test.zone"), "w") as f:
            f.write(zone_text())
        self.knot.zones.append("bench.test")
        with open(self.knot.conf, "w") as f:
            f.write(self.knot._config().replace("any: info", "any: warning"))
        self.knot.start()
        self.nginx = Nginx(self.workdir, 10).start()
        for port in (self.nginx.port, self.nginx.slow_port):
            r = mpiclab.http_request("127.0.0.1", port, "GET",
                                     f"/.well-known/acme-challenge/{TOKEN}", timeout=30)
            if r.status != 200 or r.body != KEY_AUTH:
                raise RuntimeError(f"nginx on {port} does not serve the token: {r}")
        self.bodies_dir = os.path.join(self.workdir, "bodies")
        os.makedirs(self.bodies_dir, exist_ok=True)
        self.body_files = {}
        for name, items in bodies().items():
            path = os.path.join(self.bodies_dir, name + ".jsonl")
            with open(path, "w") as f:
                for item in items:
                    f.write(json.dumps(item) + "\n")
            self.body_files[name] = path

    def start_fleet(self, http_port, per_region=1, max_inflight_jobs=None, worker=None,
                    coordinator=None, streams=None):
        """Stops the current fleet, empties Redis (FLUSHALL) and starts a new fleet, so that no
        step or scenario depends on what the ones before it left: on this paravirtualised VM
        a process with a large resident set stalls now and then (~30 ms; docs/performance.md,
        "Retained results and the tail"), and one throughput scenario retains ~1 GB."""
        self.stop_fleet()
        self.rcli.flushall()
        workers = uniform_workers(self.knot.address, http_port=http_port)
        for code in workers:
            workers[code] = workers[code] * per_region
        coord = {"straggler_grace_ms": 250, "deadline_ms": 10000, "max_inflight_requests": 100000}
        coord.update(coordinator or {})
        fleet = Fleet(self.workdir, self.redis, workers, name="bench", coordinator=coord,
                      streams=streams, log_level="warn")
        fleet.config["worker"].update({"dns_timeout_ms": 500, "dns_tries": 3,
                                       "http_timeout_ms": 10000})
        if max_inflight_jobs:
            fleet.config["worker"]["max_inflight_jobs"] = max_inflight_jobs
        fleet.config["worker"].update(worker or {})
        with open(fleet.config_path, "w") as f:
            json.dump(fleet.config, f, indent=2)
        self.fleet = fleet.start()
        return fleet

    def components(self):
        """{component: [pid, ...]} of every server process of the current lab and fleet."""
        comp = {"coordinator": [p.pid for p in self.fleet.coordinators],
                "workers": [p.pid for procs in self.fleet.workers.values() for p in procs],
                "redis": [self.redis.proc.pid], "knotd": [self.knot.proc.pid]}
        nginx = [int(x) for x in subprocess.run(["pgrep", "-P", str(self.nginx.proc.pid)],
                                                capture_output=True, text=True).stdout.split()]
        comp["nginx"] = [self.nginx.proc.pid] + nginx
        return comp

    def redis_breakdown(self):
        """{key kind: {"keys": n, "bytes": MEMORY USAGE sum}}; a kind is the key name with the
        request id and region replaced, so it says which record or stream holds the bytes."""
        kinds = {}
        for key in self.rcli.scan_iter(match=f"{self.fleet.key_prefix}:*", count=1000):
            name = key.decode(errors="replace")
            kind = re.sub(r"\{[^}]*\}", "{R}", name[len(self.fleet.key_prefix) + 1:])
            usage = self.rcli.memory_usage(key, samples=0) or 0
            k = kinds.setdefault(kind, {"keys": 0, "bytes": 0})
            k["keys"] += 1
            k["bytes"] += usage
        return kinds

    def cpu_snapshot(self):
        snap = {}
        for name, pids in self.components().items():
            snap[name] = sum(cpu_ticks(p) for p in pids)
        ru = os.times()
        snap["loadgen"] = int((ru.children_user + ru.children_system) * os.sysconf("SC_CLK_TCK"))
        return snap

    def wake_snapshot(self):
        """{component: wake-ups} summed over its processes."""
        return {name: sum(wakeups(p) for p in self.components()[name])
                for name in ("coordinator", "workers", "redis")}

    def start_syscall_count(self):
        """One `perf stat -e raw_syscalls:sys_enter` per component, stopped by
        stop_syscall_count; None where perf cannot count (no perf, no tracepoints)."""
        if shutil.which("perf") is None:
            return None
        procs = {}
        for name in ("coordinator", "workers", "redis"):
            pids = ",".join(map(str, self.components()[name]))
            procs[name] = subprocess.Popen(["perf", "stat", "-x", ",", "-e",
                                            "raw_syscalls:sys_enter", "-p", pids],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                           text=True)
        return procs

    def stop_syscall_count(self, procs):
        """{component: syscalls} counted since start_syscall_count (SIGINT makes perf print)."""
        if procs is None:
            return None
        counts = {}
        for name, proc in procs.items():
            proc.send_signal(signal.SIGINT)
            err = proc.communicate(timeout=30)[1]
            for line in err.splitlines():
                fields = line.split(",")
                if len(fields) > 2 and fields[2] == "raw_syscalls:sys_enter":
                    counts[name] = int(fields[0]) if fields[0].isdigit() else None
        return counts

    def with_os_costs(self, run):
        """Runs one load generator step and adds the wake-ups and system calls per validation
        of coordinator, workers and Redis during it (JSON wakeups_per_validation,
        syscalls_per_validation)."""
        w0 = self.wake_snapshot()
        counters = self.start_syscall_count()
        res = run()
        w1 = self.wake_snapshot()
        sc = self.stop_syscall_count(counters) or {}
        per = max(1, res["all_done"])
        res["wakeups_per_validation"] = {k: round((w1[k] - w0[k]) / per, 2) for k in w1}
        res["syscalls_per_validation"] = {k: round(v / per, 2) if v is not None else None
                                          for k, v in sc.items()}
        return res

    def redis_calls(self):
        """{command: calls} from INFO commandstats."""
        return floor.command_calls(self.rcli)

    def cpu_per_validation(self, before, after, validations):
        """CPU microseconds each component spent per validation between two snapshots."""
        hz = os.sysconf("SC_CLK_TCK")
        return {k: round((after[k] - before[k]) * 1e6 / hz / max(1, validations), 1)
                for k in after}

    def stop_fleet(self):
        if self.fleet is not None:
            self.fleet.stop()
            self.fleet = None

    def stop_lab(self):
        self.stop_fleet()
        for s in (getattr(self, "nginx", None), getattr(self, "knot", None),
                  getattr(self, "redis", None)):
            if s is not None:
                s.stop()

    # ---------------------------------------------------------------- tools
    def run_loadgen(self, scenario, body, rate=None, conns=None, duration=None, warmup=None,
                    background=False, drain=30):
        argv = [self.loadgen, "--bodies", self.body_files[body], "--name", scenario,
                "--duration", str(duration or self.dur),
                "--warmup", str(self.warm if warmup is None else warmup),
                "--drain", str(drain)]
        for port in self.fleet.coordinator_ports:
            argv += ["--target", f"127.0.0.1:{port}"]
        if rate:
            argv += ["--rate", str(rate)]
        if conns:
            argv += ["--connections", str(conns)]
        if background:
            return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        if out.returncode not in (0, 3):
            raise RuntimeError(f"loadgen failed: {out.stdout}{out.stderr}")
        return parse_json_line(out.stdout)

    def capture_job(self, body):
        """Sends one request and returns the msgpack job the first region's worker got."""
        key = f"{self.fleet.key_prefix}:jobs:{{{CODES[0]}}}"
        with open(self.body_files[body]) as f:
            req = json.loads(f.readline())
        r = self.fleet.post(req)
        if r.status != 200:
            raise RuntimeError(f"capture {body}: {r}")
        entries = self.rcli.xrevrange(key, count=1)
        blob = entries[0][1][b"j"]
        if blob[:4] == b"MPSL":  # a sealed envelope: the check engine wants the inner job
            h = sealenv.parse(blob)
            inner = msgpack.unpackb(sealenv.open_(self.fleet.seal_keys[CODES[0]][1], blob),
                                    raw=False)
            # the sealed body leaves out what the authenticated header carries: put it back
            inner.update({"rid": h["rid"], "att": h["attempt"], "p": h["perspective"],
                         "ct": h["check_type"], "dl": h["expiry_ms"]})
            inner.setdefault("wc", False)
            inner.setdefault("tid", None)
            blob = msgpack.packb(inner, use_bin_type=True)
        path = os.path.join(self.workdir, f"job-{body}.msgpack")
        with open(path, "wb") as f:
            f.write(blob)
        return path, r.json

    def run_direct(self, scenario, job, http_port, rate=None, concurrency=None, duration=None,
                   warmup=None, fanout=1, ramp=None, resolver=None, http_engine=None,
                   https_port=None):
        argv = [self.direct, "--job", job, "--resolver", resolver or self.knot.address,
                "--lab-http-port", str(http_port), "--lab-allow-private", "--name", scenario,
                "--duration", str(duration or self.dur),
                "--warmup", str(self.warm if warmup is None else warmup), "--drain", "30",
                "--dns-timeout-ms", "2000", "--deadline-ms", "60000",
                "--http-timeout-ms", "50000", "--fanout", str(fanout)]
        if rate:
            argv += ["--rate", str(rate)]
        if concurrency:
            argv += ["--concurrency", str(concurrency)]
        if ramp:
            argv += ["--ramp", str(ramp)]
        if http_engine:
            argv += ["--http-engine", http_engine]
        if https_port:
            argv += ["--lab-https-port", str(https_port)]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        if out.returncode not in (0, 3):
            raise RuntimeError(f"direct failed: {out.stdout}{out.stderr}")
        return parse_json_line(out.stdout)

    # The raw limits are the best of RAW_TRIES runs of half a step each: on this shared VM runs
    # of the same tool against the same server differ by 10-30 % (and whole bench runs by up
    # to 50 %), and the most a server did is the better estimate of what it can do (and the
    # harder figure to be a share of).
    RAW_TRIES = 3

    def dnsperf(self, name, queries):
        """(best queries/s, every run's queries/s, queries lost in the best run)"""
        qfile = os.path.join(self.workdir, f"dnsperf-{name}.txt")
        with open(qfile, "w") as f:
            for qname, qtype in queries:
                f.write(f"{qname} {qtype}\n")
        runs = []
        for _ in range(self.RAW_TRIES):
            out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(self.knot.port),
                                  "-d", qfile, "-l", str(self.raw_dur), "-c", "8",
                                  "-T", "1", "-q", "200"],
                                 capture_output=True, text=True, timeout=600)
            m = re.search(r"Queries per second:\s+([\d.]+)", out.stdout)
            lost = re.search(r"Queries lost:\s+(\d+)", out.stdout)
            if not m:
                raise RuntimeError("dnsperf: " + out.stdout + out.stderr)
            runs.append((float(m.group(1)), int(lost.group(1)) if lost else -1))
        best = max(runs)
        return best[0], [r[0] for r in runs], best[1]

    def wrk(self, port, close):
        """(best requests/s, every run's requests/s)"""
        runs = [self.wrk_once(port, close) for _ in range(self.RAW_TRIES)]
        return max(runs), runs

    def wrk_once(self, port, close):
        argv = ["wrk", "-t1", "-c32", f"-d{self.raw_dur}s", "--latency"]
        if close:
            argv += ["-H", "Connection: close"]
        argv.append(f"http://127.0.0.1:{port}/.well-known/acme-challenge/{TOKEN}")
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        m = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
        if not m or "Non-2xx" in out.stdout:
            raise RuntimeError("wrk: " + out.stdout + out.stderr)
        return float(m.group(1))

    # ---------------------------------------------------------------- scenarios
    def raw_limits(self):
        self.say("", "== raw limits of the targets (public tools, same knotd / nginx)")
        self.raw = {}
        for name, queries in QUERIES.items():
            qps, runs, lost = self.dnsperf(name, queries)
            self.raw[name] = qps
            self.say(f"dnsperf {name:<11} {qps:10.0f} qps  (best of "
                     f"{' / '.join(f'{r:.0f}' for r in runs)}; lost {lost}; queries per check "
                     f"{len(queries)})")
            self.emit({"scenario": f"raw_dnsperf_{name}", "qps": qps, "qps_runs": runs,
                       "lost": lost, "queries_per_check": len(queries)})
        self.raw["wrk_keepalive"], keep = self.wrk(self.nginx.port, close=False)
        self.raw["wrk_close"], close = self.wrk(self.nginx.port, close=True)
        self.say(f"wrk nginx keep-alive   {self.raw['wrk_keepalive']:10.0f} req/s  (best of "
                 f"{' / '.join(f'{r:.0f}' for r in keep)})",
                 f"wrk nginx conn-close   {self.raw['wrk_close']:10.0f} req/s  (best of "
                 f"{' / '.join(f'{r:.0f}' for r in close)})")
        self.emit({"scenario": "raw_wrk", "keepalive_rps": self.raw["wrk_keepalive"],
                   "close_rps": self.raw["wrk_close"], "keepalive_rps_runs": keep,
                   "close_rps_runs": close})

    def start_perf(self, scen):
        """perf record (call graphs) of coordinator, workers and redis during one run."""
        pids = [p for k in ("coordinator", "workers", "redis")
                for p in self.components()[k]]
        data = os.path.join(self.out, f"perf-{scen}.data")
        return subprocess.Popen(["perf", "record", "-q", "-F", "997", "-g", "-o", data, "-p",
                                 ",".join(map(str, pids)), "--", "sleep",
                                 str(self.warm + self.dur - 0.5)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), data

    def finish_perf(self, perf, scen):
        proc, data = perf
        proc.wait(timeout=120)
        for sort, name in (("comm,dso", "dso"), ("comm,symbol", "symbols")):
            out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio",
                                  "--percent-limit", "0.7", "-g", "none", "--sort", sort],
                                 capture_output=True, text=True, timeout=300).stdout
            with open(os.path.join(self.out, f"perf-{scen}-{name}.txt"), "w") as f:
                f.write(out)
        self.say(f"perf profile: {self.out}/perf-{scen}-symbols.txt")

    def limit_for(self, scen):
        """Validations/s the raw limit allows: raw rate / lookups one validation needs."""
        if not getattr(self, "raw", None):
            return None
        if scen == "http01":
            dns = self.raw["http01"] / (6 * len(QUERIES["http01"]))
            return min(dns, self.raw["wrk_close"] / 6)
        if scen == "mix":  # the four bodies in equal parts
            per = [self.limit_for(s) for s in ("caa_direct", "caa_climb3", "http01", "dns01")]
            return 4 / sum(1 / p for p in per)
        return self.raw[scen] / (6 * len(QUERIES[scen]))

    def throughput(self):
        self.say("", "== throughput: 6 perspectives, 1 worker per region, 1 coordinator "
                 "(closed loop = saturation, then open loop at 50 %)")
        self.saturation = {}
        retained = 0
        done_total = 0
        for scen in ("caa_direct", "caa_climb3", "http01", "dns01", "mix"):
            self.start_fleet(self.nginx.port)  # a fresh fleet on an emptied Redis
            used0 = self.rcli.info("memory")["used_memory"]
            c0 = self.cpu_snapshot()
            r0 = self.redis_calls()
            perf = self.start_perf(scen) if self.args.profile and scen == "caa_direct" else None
            sat = self.with_os_costs(lambda: self.run_loadgen(f"{scen}/closed", scen,
                                                              conns=self.args.conns))
            if perf is not None:
                self.finish_perf(perf, scen)
            cpu = self.cpu_per_validation(c0, self.cpu_snapshot(), sat["all_done"])
            r1 = self.redis_calls()
            calls = {k: round((v - r0.get(k, 0)) / max(1, sat["all_done"]), 2)
                     for k, v in r1.items() if v - r0.get(k, 0) > 0}
            sat["redis_calls_per_validation"] = calls
            sat["cpu_us_per_validation"] = cpu
            total_cpu = sum(v for k, v in cpu.items())
            mpic_cpu = cpu["coordinator"] + cpu["workers"] + cpu["redis"]
            sat["cpu_us_total"] = round(total_cpu, 1)
            sat["cpu_bound_validations_per_s"] = round(os.cpu_count() * 1e6 / total_cpu, 1)
            done_total += sat["done"]
            self.saturation[scen] = sat["throughput"]
            limit = self.limit_for(scen)
            sat["raw_limit_validations_per_s"] = limit
            sat["ratio_of_raw_limit"] = sat["throughput"] / limit if limit else None
            limit = limit or float("nan")
            self.emit(sat)
            half = max(1.0, sat["throughput"] / 2)
            op = self.with_os_costs(lambda: self.run_loadgen(f"{scen}/open50", scen,
                                                             rate=round(half, 1)))
            done_total += op["done"]
            retained += self.rcli.info("memory")["used_memory"] - used0
            self.emit(op)
            self.say(f"{scen:<11} saturation {sat['throughput']:8.1f}/s  raw limit "
                     f"{limit:9.0f}/s  ratio {100 * (sat['ratio_of_raw_limit'] or 0):5.2f} %  | "
                     f"@{half:.0f}/s p50 {op['p50_ms']:.2f} p90 {op['p90_ms']:.2f} "
                     f"p99 {op['p99_ms']:.2f} p99.9 {op['p99_9_ms']:.2f} max {op['max_ms']:.2f} ms"
                     f"  valid {op['valid_true']} invalid {op['valid_false']} "
                     f"err {op['errors'] + op['non200'] + op['unanswered']}",
                     f"{'':11} CPU us/validation: " + ", ".join(f"{k} {v:.0f}"
                                                                 for k, v in cpu.items()) +
                     f"; total {total_cpu:.0f} (mpic {mpic_cpu:.0f}) -> at most "
                     f"{sat['cpu_bound_validations_per_s']:.0f}/s on {os.cpu_count()} idle CPUs",
                     *(f"{'':11} per validation {label}: wake-ups " +
                       ", ".join(f"{k} {v:.1f}" for k, v in run["wakeups_per_validation"].items())
                       + "; syscalls " +
                       (", ".join(f"{k} {v}" for k, v in run["syscalls_per_validation"].items())
                        or "not counted (no perf)")
                       for label, run in (("at saturation", sat), ("at 50 %", op))),
                     f"{'':11} Redis commands/validation: {sum(calls.values()):.1f} (" +
                     ", ".join(f"{k} {v:g}" for k, v in sorted(calls.items(),
                                                              key=lambda kv: -kv[1])) + ")")
        self.emit({"scenario": "redis_retained", "requests": done_total,
                   "used_memory_delta": retained,
                   "bytes_per_retained_validation": retained / max(1, done_total)})
        self.say(f"redis used_memory grew {retained / 1024:.0f} KiB over {done_total} "
                 f"completed validations = {retained / max(1, done_total):.0f} B each "
                 f"(kept for coordinator.result_retention_s; Redis emptied between scenarios)")

    def overhead(self):
        self.say("", "== orchestration overhead: the same 6 checks direct (one process, check "
                 "engine, slowest of 6) vs. through coordinator -> Redis -> workers -> reducer")
        self.start_fleet(self.nginx.port)
        jobs = {}
        for scen, low in (("caa_direct", False), ("http01", False), ("caa_direct", True)):
            if scen not in jobs:
                jobs[scen], _ = self.capture_job(scen)
            job = jobs[scen]
            if scen not in getattr(self, "saturation", {}):
                self.saturation = getattr(self, "saturation", {})
                self.saturation[scen] = self.run_loadgen(f"{scen}/closed", scen,
                                                         conns=self.args.conns)["throughput"]
            # at 50 % of saturation, and at a low fixed rate (the fixed cost without queueing)
            rate = 20.0 if low else max(1.0, round(self.saturation[scen] / 2, 1))
            tag = "low" if low else "50"
            # six checks at once, timed by the slowest: what a 6-perspective validation waits for
            direct = self.run_direct(f"{scen}/direct{tag}", job, self.nginx.port, rate=rate,
                                     fanout=6)
            pipe = self.run_loadgen(f"{scen}/pipeline{tag}", scen, rate=rate)
            rec = {"scenario": f"overhead_{scen}" + ("_low" if low else ""), "rate": rate}
            for p in ("p50", "p90", "p99", "p99_9", "max"):
                rec[f"direct_{p}_ms"] = direct[f"{p}_ms"]
                rec[f"pipeline_{p}_ms"] = pipe[f"{p}_ms"]
                rec[f"overhead_{p}_ms"] = pipe[f"{p}_ms"] - direct[f"{p}_ms"]
            rec["direct_passed"] = direct["passed"]
            rec["pipeline_valid"] = pipe["valid_true"]
            self.emit(rec)
            self.say(f"{scen:<11} @{rate:.0f}/s direct p50 {direct['p50_ms']:.2f} p99 "
                     f"{direct['p99_ms']:.2f} | pipeline p50 {pipe['p50_ms']:.2f} p99 "
                     f"{pipe['p99_ms']:.2f} | overhead p50 {rec['overhead_p50_ms']:.2f} "
                     f"p90 {rec['overhead_p90_ms']:.2f} p99 {rec['overhead_p99_ms']:.2f} ms")

    def memory(self):
        n = 500 if self.quick else 2000
        direct_n = 2000 if self.quick else 10000
        hold = 10 if self.quick else 15
        self.say("", f"== memory: {n} validations held in flight by a slow HTTP-01 target "
                 f"(nginx echo_sleep {hold} s)")
        self.nginx.set_slow_delay(hold)
        self.start_fleet(self.nginx.slow_port, max_inflight_jobs=n + 100,
                         worker={"http_timeout_ms": (hold + 20) * 1000},
                         coordinator={"deadline_ms": (hold + 30) * 1000,
                                      "max_deadline_ms": (hold + 40) * 1000})
        coord = self.fleet.coordinators[0]
        workers = [p for procs in self.fleet.workers.values() for p in procs]
        self.rcli.execute_command("MEMORY", "PURGE")
        used0 = self.rcli.info("memory")["used_memory"]
        split0 = self.redis_memory_split()
        c0, w0 = rss_kb(coord.pid), [rss_kb(p.pid) for p in workers]
        send_rate = n / 2.0
        lg = self.run_loadgen("memory/held", "http01", rate=send_rate, conns=n + 10,
                              duration=2.0, warmup=0, background=True, drain=hold + 40)
        time.sleep(2.0 + min(hold / 2, 5.0))
        used1 = self.rcli.info("memory")["used_memory"]
        split1 = self.redis_memory_split()
        split = {k: split1[k] - split0[k] for k in split0}
        c1, w1 = rss_kb(coord.pid), [rss_kb(p.pid) for p in workers]
        keys = self.redis_breakdown()
        out, _ = lg.communicate(timeout=hold + 120)
        res = parse_json_line(out)
        rec = {"scenario": "memory_inflight", "inflight": n, "hold_s": hold,
               "redis_used_memory_delta": used1 - used0,
               "redis_bytes_per_inflight_validation": (used1 - used0) / n,
               "redis_split_delta": split,
               "redis_dataset_bytes_per_inflight_validation": split["dataset"] / n,
               "coordinator_rss_kb": c1, "coordinator_rss_delta_kb": c1 - c0,
               "coordinator_bytes_per_inflight_request": (c1 - c0) * 1024 / n,
               "worker_rss_kb_max": max(w1), "worker_rss_delta_kb_max":
               max(b - a for a, b in zip(w0, w1)),
               "worker_bytes_per_inflight_check": max(b - a for a, b in zip(w0, w1)) * 1024 / n,
               "valid_true": res["valid_true"], "errors": res["errors"] + res["non200"],
               "redis_keys": keys}
        self.emit(rec)
        self.say(f"redis used_memory +{(used1 - used0) / 1024:.0f} KiB = "
                 f"{rec['redis_bytes_per_inflight_validation']:.0f} B per in-flight validation",
                 f"  of which data (keys and values) {split['dataset'] / n:.0f} B, connection "
                 f"buffers {split['clients'] / n:.0f} B (grown once per connection, not per "
                 f"validation), key tables {split['tables'] / n:.0f} B",
                 f"coordinator RSS {c0 / 1024:.1f} -> {c1 / 1024:.1f} MiB = "
                 f"{rec['coordinator_bytes_per_inflight_request']:.0f} B per in-flight request",
                 f"worker RSS (largest) {max(w1) / 1024:.1f} MiB with {n} checks in flight = "
                 f"{rec['worker_bytes_per_inflight_check']:.0f} B per check "
                 f"(answers: valid {res['valid_true']}, errors {rec['errors']})",
                 "redis keys by kind (MEMORY USAGE, bytes per in-flight validation): " +
                 ", ".join(f"{k} {v['bytes'] / n:.0f} ({v['keys']} keys)" for k, v in
                           sorted(keys.items(), key=lambda kv: -kv[1]["bytes"])))
        self.stop_fleet()
        # the worker's check engine alone at direct_n concurrent checks (no Redis consumer)
        self.start_fleet(self.nginx.port)
        job, _ = self.capture_job("http01")
        caa_job, _ = self.capture_job("caa_direct")
        self.stop_fleet()
        # Each kind of check on the worker's own HTTP client, then on libcurl for comparison
        # (what the worker used before 2026-12-06). Plain http:// checks start over 2 s (all are
        # still waiting when the last starts): 20,000 lookups sent in one instant overrun knotd
        # and the UDP buffers, and checks that fail early would hide memory. Checks redirected
        # (302) to the slow target over TLS (an https hop each) start over 40 % of the hold:
        # 10,000 TLS handshakes in 2 s overrun the one nginx worker and the connect timeout.
        kinds = (("", "worker_engine_rss", "", self.nginx.slow_port, None, 2),
                 ("-https", "worker_engine_rss_https", " redirected to https",
                  self.nginx.redirect_port, self.nginx.slow_tls_port, max(2, hold * 0.4)))
        for suffix, kind, what, port, https_port, ramp in kinds:
            for engine in ("builtin", "curl"):
                scenario = f"memory/direct{suffix}" + ("-curl" if engine == "curl" else "")
                d = self.run_direct(scenario, job, port, concurrency=direct_n,
                                    duration=hold / 2, warmup=0, ramp=ramp,
                                    http_engine=engine, https_port=https_port)
                d["scenario_kind"] = kind
                d["http_engine"] = engine
                self.emit(d)
                self.say(f"check engine (mpic-bench-direct, HTTP on {engine}) with "
                         f"{d['max_inflight']} concurrent acme-http-01 checks{what}: peak RSS "
                         f"{d['vm_hwm_kb'] / 1024:.1f} MiB (of {d['started']} measured "
                         f"checks: passed {d['passed']}, failed {d['failed']}, incomplete "
                         f"{d['incomplete']}, unanswered {d['unanswered']})")
        self.caa_engine_memory(caa_job, direct_n, hold)
        self.nginx.set_slow_delay(0.05)

    def redis_memory_split(self):
        """Redis MEMORY STATS in three parts: the data itself (dataset.bytes), the client
        connections' query and reply buffers, and the rest of the overhead (mostly the main
        dict and expires tables)."""
        st = self.rcli.execute_command("MEMORY", "STATS")
        st = dict(zip(st[::2], st[1::2]))
        clients = int(st[b"clients.normal"]) + int(st.get(b"clients.slaves", 0))
        return {"dataset": int(st[b"dataset.bytes"]), "clients": clients,
                "tables": int(st[b"overhead.total"]) - clients}

    def caa_engine_memory(self, job, direct_n, hold):
        """The check engine at direct_n concurrent CAA checks whose DNS answers never come (a
        UDP socket that is never read; this kernel has no netem to delay knotd): each check
        holds its lookups until the resolver's timeouts, the state a slow DNS target holds."""
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sink.bind(("127.0.0.1", 0))
        try:
            d = self.run_direct("memory/direct-caa", job, self.nginx.port, concurrency=direct_n,
                                duration=hold / 2, warmup=0, ramp=2,
                                resolver=f"127.0.0.1:{sink.getsockname()[1]}")
        finally:
            sink.close()
        d["scenario_kind"] = "worker_engine_rss_caa"
        self.emit(d)
        self.say(f"check engine (mpic-bench-direct) with {d['max_inflight']} concurrent CAA "
                 f"checks waiting on DNS: peak RSS {d['vm_hwm_kb'] / 1024:.1f} MiB (of "
                 f"{d['started']} measured checks: incomplete {d['incomplete']}, as expected "
                 f"without answers; passed {d['passed']}, failed {d['failed']})")

    def scaling(self):
        rtt = 0.05
        cap = self.args.scaling_inflight
        self.say("", f"== scaling: acme-http-01, target answers after {rtt * 1000:.0f} ms "
                 f"(nginx echo_sleep), worker.max_inflight_jobs={cap}")
        self.nginx.set_slow_delay(rtt)
        base = None
        for per_region in (1, 2, 4):
            self.start_fleet(self.nginx.slow_port, per_region=per_region,
                             max_inflight_jobs=cap)
            r = self.run_loadgen(f"scaling/{per_region}w", "http01", conns=self.args.conns)
            base = base or r["throughput"]
            r["workers_per_region"] = per_region
            r["speedup"] = r["throughput"] / base if base else None
            self.emit(r)
            self.say(f"{per_region} worker(s)/region: {r['throughput']:8.1f} validations/s "
                     f"(x{r['speedup']:.2f})  p50 {r['p50_ms']:.1f} p99 {r['p99_ms']:.1f} ms")
        self.stop_fleet()

    def floor(self):
        """The design's floor on this machine: Redis CPU for the minimum commands of one
        validation, and the cost of a round trip to an idle process (bench/floor.py)."""
        self.say("", "== floor of the fixed data path on this machine (bounds for any "
                 "implementation, not mpic's figures)")
        fleet = self.start_fleet(self.nginx.port)
        with open(self.body_files["caa_direct"]) as f:
            r = fleet.post(json.loads(f.readline()))
        if r.status != 200:
            raise RuntimeError(f"floor: sample validation failed: {r}")
        sample = floor.sample_validation(self.rcli, fleet.key_prefix, CODES[0])
        self.stop_fleet()
        self.rcli.flushall()
        rf = floor.RedisFloor(self.rcli, os.path.join(ROOT, "lua"), sample)
        n = 1000 if self.quick else 4000
        runs = [rf.measure(batch, n) for batch in (1, 20)]
        self.rcli.flushall()
        rtt = {gap: floor.ping_rtt(self.rcli, gap / 1000, 100 if self.quick else 300)
               for gap in (0, 5, 50)}
        rec = {"scenario": "floor", "job_len": sample["job_len"],
               "result_len": sample["result_len"], "redis": runs,
               "ping_rtt_us": {f"after_{gap}ms": v for gap, v in rtt.items()}}
        best = min(x["redis_cpu_us_per_validation"] for x in runs)
        self.say(f"Redis CPU for the design's minimum per validation (admission MULTI/HSET/"
                 f"PEXPIRE/ZADD/6 XADD/EXEC; 6 job reads, result XADDs and XACKs; results read; "
                 f"lua/record + lua/finalize; job {sample['job_len']} B, result "
                 f"{sample['result_len']} B):",
                 *(f"  {x['batch']:>2} validation(s) per round trip: "
                   f"{x['redis_cpu_us_per_validation']:.0f} us (lowest of "
                   f"{', '.join(f'{v:.0f}' for v in x['runs_us'])}), "
                   f"{x['redis_commands_per_validation']:.1f} commands (counting those inside "
                   f"scripts)" for x in runs),
                 f"  -> Redis alone, on a whole core, tops out at {1e6 / best:.0f} validations/s")
        sat = next((x for x in self.results if x.get("scenario") == "caa_direct/closed"), None)
        if sat is not None:
            cpu = sat["cpu_us_per_validation"]
            budget = os.cpu_count() * 1e6 / 5000
            peers = cpu["knotd"] + cpu["loadgen"] + cpu["nginx"]
            left = budget - peers - best
            rec.update({"budget_us_at_5000": budget, "peers_us": peers, "left_us": left})
            self.say(f"  5,000 CAA validations/s on {os.cpu_count()} CPUs leave {budget:.0f} us "
                     f"per validation; knotd and the load generator took {peers:.0f} us in the "
                     f"throughput step, Redis needs at least {best:.0f} us: {left:.0f} us left "
                     f"for the coordinator and six checks (mpic's took "
                     f"{cpu['coordinator'] + cpu['workers']:.0f} us, its Redis "
                     f"{cpu['redis']:.0f} us)")
        self.say("Redis PING round trip, sent right after the previous answer / after 5 ms / "
                 "after 50 ms idle (a wake-up of a halted CPU on both sides):",
                 "  " + " | ".join(f"{gap} ms: p50 {v['p50']:.0f} p90 {v['p90']:.0f} p99 "
                                   f"{v['p99']:.0f} us" for gap, v in rtt.items()))
        self.emit(rec)

    def soak(self):
        seconds = self.args.soak_seconds or (60 if self.quick else 300)
        rate = self.args.soak_rate or round(getattr(self, "saturation", {}).get("mix", 800) / 2)
        soak.run(self, seconds, rate, rss_kb, parse_json_line)

    def machine(self):
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        info = {"scenario": "machine", "cpu": cpu, "ncpu": os.cpu_count(),
                "kernel": platform.release(), "loadavg": os.getloadavg(),
                "quick": self.quick, "duration_s": self.dur, "warmup_s": self.warm,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        try:
            info["git"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                         capture_output=True, text=True).stdout.strip()
        except OSError:
            pass
        self.emit(info)
        self.say(f"machine: {cpu}, {info['ncpu']} CPUs, kernel {info['kernel']}, "
                 f"load average {info['loadavg'][0]:.2f} {info['loadavg'][1]:.2f} "
                 f"{info['loadavg'][2]:.2f} at start")

    def run(self):
        try:
            self.machine()
            self.start_lab()
            only = set(self.args.only.split(",")) if self.args.only else None
            steps = [("raw", self.raw_limits), ("throughput", self.throughput),
                     ("overhead", self.overhead), ("memory", self.memory),
                     ("scaling", self.scaling), ("floor", self.floor), ("soak", self.soak)]
            for name, fn in steps:
                if only and name not in only:
                    continue
                fn()
            self.say("", f"load average at the end: {os.getloadavg()[0]:.2f}",
                     f"results: {self.out}/results.jsonl")
        finally:
            self.stop_lab()
            with open(os.path.join(self.out, "summary.txt"), "w") as f:
                f.write("\n".join(self.text) + "\n")
            if not self.args.keep:
                shutil.rmtree(self.workdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True, help="build dir with mpic-* and bench/ tools")
    ap.add_argument("--out", required=True, help="directory for results.jsonl and summary.txt")
    ap.add_argument("--quick", action="store_true", help="short runs (about 3 minutes)")
    ap.add_argument("--only",
                    help="comma list of: raw,throughput,overhead,memory,scaling,floor,soak")
    ap.add_argument("--soak-seconds", type=float,
                    help="length of the soak step (default 300 s, 60 s with --quick)")
    ap.add_argument("--soak-rate", type=float,
                    help="validations/s in the soak step (default half the mix's saturation "
                    "measured in the same run, else 400/s)")
    ap.add_argument("--conns", type=int, default=64, help="closed-loop connections")
    ap.add_argument("--profile", action="store_true",
                    help="perf record coordinator, workers and redis during the CAA run")
    ap.add_argument("--scaling-inflight", type=int, default=2,
                    help="worker.max_inflight_jobs in the scaling runs")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = ap.parse_args()
    Bench(args).run()


if __name__ == "__main__":
    main()
