"""
The soak step of bench/bench.py: the mix of validations at a fixed rate for minutes, with short
retentions so that Redis reaches a steady state, sampling every process's resident memory and
open descriptors, Redis' memory and keys, and what waits in the consumer groups. It reports
growth after the first third of the run (warm-up, streams and retained records filling up),
per million validations, and whether everything drained afterwards. Figures, not a test.
"""
import os
import time

# Short retentions and stream lengths: the retained records, audit records and stream entries
# stop growing within the run, so what still grows in its last two thirds is a leak.
COORDINATOR = {"result_retention_s": 10, "audit_retention_s": 60}
STREAMS = {"jobs_maxlen": 10000, "results_maxlen": 20000}
SAMPLE_S = 5.0


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def pending_total(rcli, prefix):
    """Entries delivered to a consumer and not yet acknowledged, over every consumer group."""
    total = 0
    for key in rcli.scan_iter(match=f"{prefix}:*", count=1000, _type="stream"):
        for group in rcli.xinfo_groups(key):
            total += group["pending"]
    return total


def sample(bench, rss_kb, t0):
    comp = bench.components()
    info = bench.rcli.info("memory")
    s = {"t": round(time.monotonic() - t0, 1),
         "coordinator_rss_kb": sum(rss_kb(p) for p in comp["coordinator"]),
         "workers_rss_kb": sum(rss_kb(p) for p in comp["workers"]),
         "coordinator_fds": sum(open_fds(p) for p in comp["coordinator"]),
         "workers_fds": sum(open_fds(p) for p in comp["workers"]),
         "redis_used_memory": info["used_memory"], "redis_rss": info["used_memory_rss"],
         "redis_keys": bench.rcli.dbsize(),
         "redis_clients": bench.rcli.info("clients")["connected_clients"],
         "pending": pending_total(bench.rcli, bench.fleet.key_prefix)}
    return s


def drain(bench, timeout_s=60.0):
    """Seconds until nothing is pending and the due set is empty after the load, or None."""
    t0 = time.monotonic()
    due = f"{bench.fleet.key_prefix}:due"
    while time.monotonic() - t0 < timeout_s:
        if pending_total(bench.rcli, bench.fleet.key_prefix) == 0 and bench.rcli.zcard(due) == 0:
            return round(time.monotonic() - t0, 2)
        time.sleep(0.1)
    return None


def run(bench, seconds, rate, rss_kb, parse_json_line):
    """Runs the step with bench.py's helpers; returns the JSON record (also emitted)."""
    bench.say("", f"== soak: the mix at {rate:.0f}/s for {seconds:.0f} s, result_retention_s "
              f"{COORDINATOR['result_retention_s']}, audit_retention_s "
              f"{COORDINATOR['audit_retention_s']}, jobs_maxlen {STREAMS['jobs_maxlen']}")
    bench.start_fleet(bench.nginx.port, coordinator=COORDINATOR, streams=STREAMS)
    t0 = time.monotonic()
    gen = bench.run_loadgen("mix/soak", "mix", rate=rate, duration=seconds, warmup=0,
                            background=True)
    samples = []
    while gen.poll() is None:
        samples.append(sample(bench, rss_kb, t0))
        deadline = time.monotonic() + SAMPLE_S
        while gen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    out = gen.communicate()[0]
    res = parse_json_line(out)
    drained = drain(bench)
    after = sample(bench, rss_kb, t0)
    if len(samples) < 3:
        raise RuntimeError("soak: too few samples; run it for longer")
    base = samples[len(samples) // 3]
    last = samples[-1]
    window_s = last["t"] - base["t"]
    done_window = res["done"] * window_s / max(1.0, seconds)
    rec = {"scenario": "soak", "rate": rate, "seconds": seconds, "done": res["done"],
           "errors": res["errors"] + res["non200"] + res["unanswered"],
           "p50_ms": res["p50_ms"], "p99_ms": res["p99_ms"], "max_ms": res["max_ms"],
           "drained_after_s": drained, "samples": samples, "after": after,
           "window_s": window_s, "validations_in_window": round(done_window)}
    growth = {}
    for k in ("coordinator_rss_kb", "workers_rss_kb", "coordinator_fds", "workers_fds",
              "redis_used_memory", "redis_keys", "redis_clients"):
        peak = max(s[k] for s in samples)
        growth[k] = {"base": base[k], "end": last[k], "peak": peak,
                     "growth": last[k] - base[k],
                     "per_million": round((last[k] - base[k]) * 1e6 / max(1.0, done_window), 1)}
    rec["growth"] = growth
    bench.emit(rec)
    bench.say(f"{res['done']} validations, {rec['errors']} errors, p50 {res['p50_ms']:.2f} "
              f"p99 {res['p99_ms']:.2f} max {res['max_ms']:.2f} ms; afterwards "
              + (f"drained in {drained:.2f} s" if drained is not None
                 else "NOT drained within 60 s") +
              f" (pending {after['pending']}, Redis keys {after['redis_keys']})",
              f"from t={base['t']:.0f} s to t={last['t']:.0f} s "
              f"(~{round(done_window)} validations):")
    for k, g in growth.items():
        bench.say(f"  {k:<20} {g['base']:>12} -> {g['end']:>12} (peak {g['peak']}): "
                  f"{g['growth']:+} = {g['per_million']:+g} per million validations")
    return rec
