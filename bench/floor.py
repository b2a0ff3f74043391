"""
The floor of the fixed data path on this machine (bench/bench.py's "floor" step): the Redis CPU
that only the commands the design needs cost per validation, batched as well as they can be,
and what a round trip to a process that was idle costs here. These are not mpic's figures:
they bound what any implementation of coordinator -> Redis -> workers -> reducer can reach.
"""
import time

import redis  # python3-redis

REGIONS = 6
LUA = ("record", "finalize")


def command_calls(rcli):
    """{command: calls} from INFO commandstats (commands inside scripts included)."""
    return {k[len("cmdstat_"):]: v["calls"] for k, v in rcli.info("commandstats").items()}


def sample_validation(rcli, prefix, code):
    """Sizes and fields of one real validation the fleet just ran: {job_len, result_len, req}."""
    job = rcli.xrevrange(f"{prefix}:jobs:{{{code}}}", count=1)[0][1][b"j"]
    res = rcli.xrevrange(f"{prefix}:results", count=1)[0][1][b"r"]
    req_key = next(iter(rcli.scan_iter(match=f"{prefix}:{{*}}:req", count=1000)))
    req = {k.decode(): v.decode() for k, v in rcli.hgetall(req_key).items()}
    return {"job_len": len(job), "result_len": len(res), "req": req}


class RedisFloor:
    """Drives Redis through the design's minimum per validation, in batches of B validations:
    1. admission, per validation: MULTI, HSET request, PEXPIRE, ZADD deadline, 6 XADD jobs, EXEC
    2. workers: one XREADGROUP per region stream for the whole batch
    3. workers report: one XADD per result, one XACK per region stream
    4. reducer: one XREADGROUP of the results; per validation lua/record (all 6 results) and
       lua/finalize; one XACK
    Left out (mpic does them too): lua/publish, the audit record, the reply notification,
    the deadline's ZREM and the worker heartbeats."""

    def __init__(self, rcli, lua_dir, sample, prefix="floor"):
        self.r = rcli
        # replies unparsed: inside MULTI every command answers QUEUED, not its own reply
        self.raw = redis.Redis(connection_pool=rcli.connection_pool)
        self.raw.response_callbacks = {}
        self.sample = sample
        self.scripts = {}
        for name in LUA:
            with open(f"{lua_dir}/{name}.lua") as f:
                self.scripts[name] = rcli.register_script(f.read())
        self.prefix = prefix
        self.codes = [f"p{i}" for i in range(REGIONS)]
        self.streams = [f"{prefix}:jobs:{{{c}}}" for c in self.codes]
        self.results = f"{prefix}:results"
        for s in self.streams + [self.results]:
            rcli.xgroup_create(s, "g", id="0", mkstream=True)
        self.job = b"j" * sample["job_len"]
        self.res = b"r" * sample["result_len"]
        self.seq = 0

    def key(self, rid, kind):
        """<prefix>:{<R>}:<kind>, the coordinator's per-request key layout (common/keys.h)."""
        return f"{self.prefix}:{{{rid}}}:{kind}"

    def _batch(self, b):
        r = self.r
        rids = [f"r{self.seq + k}" for k in range(b)]
        self.seq += b
        now = int(time.time() * 1000)
        req = dict(self.sample["req"], state="open", attempt="1",
                   cohort=",".join(self.codes), primary="", deadline=str(now + 10000))
        fields = [x for kv in req.items() for x in kv]
        p = self.raw.pipeline(transaction=False)
        for rid in rids:
            # one MULTI per validation as the coordinator sends it
            p.execute_command("multi")
            p.execute_command("hset", self.key(rid, "req"), *fields)
            p.execute_command("pexpire", self.key(rid, "req"), 86400000)
            p.execute_command("zadd", f"{self.prefix}:due", now + 10000, rid)
            for s in self.streams:
                p.execute_command("xadd", s, "MAXLEN", "~", 100000, "*", "j", self.job)
            p.execute_command("exec")
        p.execute()
        p = r.pipeline(transaction=False)
        for s in self.streams:
            p.xreadgroup("g", "w", {s: ">"}, count=b)
        reads = p.execute()
        p = r.pipeline(transaction=False)
        for s, got in zip(self.streams, reads):
            ids = [e[0] for e in got[0][1]]
            for _ in ids:
                p.xadd(self.results, {"r": self.res}, maxlen=100000, approximate=True)
            p.xack(s, "g", *ids)
        p.execute()
        got = r.xreadgroup("g", "red", {self.results: ">"}, count=REGIONS * b)
        p = r.pipeline(transaction=False)
        for rid in rids:
            keys = [self.key(rid, "req"), self.key(rid, "res"), self.key(rid, "st")]
            args = ["1"]
            for c in self.codes:
                args += [c, "P", self.res]
            self.scripts["record"](keys=keys, args=args, client=p)
            self.scripts["finalize"](keys=[keys[0], keys[2]],
                                     args=["valid", "floor", str(now), str(REGIONS)], client=p)
        p.xack(self.results, "g", *[e[0] for e in got[0][1]])
        out = p.execute()
        if any(v != 1 for v in out[1:-1:2]):  # every finalize must win: the path really ran
            raise RuntimeError(f"floor: a finalize did not decide: {out[1:-1:2]}")

    def _cpu(self):
        c = self.r.info("cpu")
        return c["used_cpu_sys"] + c["used_cpu_user"]

    def _calls(self):
        return sum(command_calls(self.r).values())

    def measure(self, batch, validations, tries=3):
        """Redis CPU (µs) and commands (counting those inside scripts) per validation: the
        lowest of `tries` runs (a floor; other guests on this host move single runs by ~30 %)."""
        self._batch(batch)  # scripts loaded, streams warm
        runs = []
        for _ in range(tries):
            cpu0, calls0 = self._cpu(), self._calls()
            done = 0
            while done < validations:
                self._batch(batch)
                done += batch
            cpu1, calls1 = self._cpu(), self._calls()
            runs.append(round((cpu1 - cpu0) * 1e6 / done, 1))
        return {"batch": batch, "validations": done, "runs_us": runs,
                "redis_cpu_us_per_validation": min(runs),
                "redis_commands_per_validation": round((calls1 - calls0 - 2) / done, 1)}


def ping_rtt(rcli, gap_s, n):
    """Percentiles (µs) of a PING round trip sent gap_s after the previous answer."""
    out = []
    for _ in range(n):
        if gap_s:
            time.sleep(gap_s)
        t = time.perf_counter_ns()
        rcli.ping()
        out.append((time.perf_counter_ns() - t) / 1000)
    out.sort()
    return {f"p{p}": round(out[min(len(out) - 1, int(len(out) * p / 100))], 1)
            for p in (50, 90, 99)}
