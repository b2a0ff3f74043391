"""
/metrics on the coordinator and the workers, parsed with the Prometheus text-format parser
(python3-prometheus-client), and security alerts, through the real pipeline. One fleet where
us-west-2 resolves through the "evil" challtestsrv: an HTTP-01 token that only the honest
world serves correctly makes us-west-2 disagree with a valid verdict; a token that only the
evil world serves correctly ("hijack") makes the corroboration fail while us-west-2 passed,
which raises an alert that must reach the webhook server started here (after one 500 answer,
so the retry is exercised) and land in the <prefix>:alerts stream.
"""
import http.server
import json
import os
import re
import signal
import threading

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

import mpiclab
from mpiclab import CODES, expect_200, http01_body, wait_until

EVIL = "us-west-2"
KEYAUTH_SUFFIX = ".metrics-thumbprint"
TOKENS = {"agree": "metrics-agree-token", "one-bad": "metrics-one-bad-token",
          "hijack": "metrics-hijack-token", "stopped": "metrics-stopped-token"}
TARGET = "metrics.mpic.test"


class Webhook:
    """A webhook receiver: the first POST gets 500, later ones 200; bodies are recorded."""

    def __init__(self):
        outer = self
        self.bodies = []
        self.posts = 0
        self.lock = threading.Lock()
        self.delivered = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # called by http.server for each POST
                n = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(min(n, 1 << 20))
                with outer.lock:
                    outer.posts += 1
                    first = outer.posts == 1
                    if not first:
                        outer.bodies.append((self.path, self.headers.get("Content-Type"),
                                             json.loads(data)))
                self.send_response(500 if first else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if not first:
                    outer.delivered.set()

        self.http = mpiclab.ThreadedHTTP(Handler).start()
        self.port = self.http.port

    def stop(self):
        self.http.stop()


@pytest.fixture(scope="module")
def webhook():
    w = Webhook()
    yield w
    w.stop()


@pytest.fixture(scope="module")
def fleet(workdir, redis_server, cts_honest, cts_evil, http01_port, webhook):
    for name, token in TOKENS.items():
        right = token + KEYAUTH_SUFFIX
        wrong = token + ".someone-else"
        cts_honest.add_http01(token, wrong if name == "hijack" else right)
        cts_evil.add_http01(token, wrong if name == "one-bad" else right)
    workers = mpiclab.uniform_workers(cts_honest.address, http_port=http01_port,
                                      overrides={EVIL: {"resolver": cts_evil.address}})
    f = mpiclab.Fleet(workdir, redis_server, workers, name="metrics",
                      coordinator={"straggler_grace_ms": 6000, "deadline_ms": 8000})
    f.config["metrics"] = {"stream_sample_ms": 200, "anomaly_window_s": 600}
    # the second URL has no listener: its delivery is retried, then given up
    dead = mpiclab.free_port()
    f.config["alerts"] = {"webhooks": [f"http://127.0.0.1:{webhook.port}/mpic-alert",
                                       f"http://127.0.0.1:{dead}/nobody-listens"],
                          "webhook_backoff_ms": 50, "webhook_max_tries": 5,
                          "webhook_timeout_ms": 5000, "stream_maxlen": 1000}
    with open(f.config_path, "w") as fh:
        json.dump(f.config, fh, indent=2)
    f.start()
    yield f
    f.stop()


def scrape(port):
    """{(name, frozenset(labels.items())): value} of every sample, plus the family types."""
    resp = mpiclab.http_request("127.0.0.1", port, "GET", "/metrics", timeout=10.0)
    assert resp.status == 200, resp
    assert resp.headers.get("Content-Type", "").startswith("text/plain; version=0.0.4")
    samples, types = {}, {}
    for fam in text_string_to_metric_families(resp.body):
        types[fam.name] = fam.type
        for s in fam.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def coord_metrics(fleet):
    return scrape(fleet.coordinator_ports[0])[0]


def worker_port(fleet, code):
    return fleet.workers[code][0].health_port


def post(fleet, kind):
    token = TOKENS[kind]
    resp = fleet.post(http01_body(TARGET, token, token + KEYAUTH_SUFFIX))
    return resp, expect_200(resp)


def test_families_parse_with_types(fleet):
    samples, types = scrape(fleet.coordinator_ports[0])
    # prometheus_client strips _total from counter family names
    expected = {"mpic_requests": "counter", "mpic_attempts": "counter",
                "mpic_retries": "counter", "mpic_cooldown_rejections": "counter",
                "mpic_request_duration_seconds": "histogram",
                "mpic_perspective_results": "counter",
                "mpic_perspective_check_duration_seconds": "histogram",
                "mpic_perspective_disagreements": "counter",
                "mpic_perspective_dnssec_failures": "counter",
                "mpic_perspective_anomaly_ratio": "gauge",
                "mpic_perspective_window_results": "gauge",
                "mpic_stream_length": "gauge", "mpic_stream_undelivered": "gauge",
                "mpic_stream_pending": "gauge",
                "mpic_stream_oldest_pending_age_seconds": "gauge",
                "mpic_redis_roundtrip_seconds": "histogram", "mpic_inflight_requests": "gauge",
                "mpic_results_reclaimed": "counter", "mpic_alerts": "counter",
                "mpic_alert_webhook_events": "counter",
                "mpic_alert_webhook_queue_length": "gauge"}
    for name, kind in expected.items():
        assert types.get(name) == kind, (name, types.get(name))
    # registered before any retry or cooldown exists, at 0
    assert ("mpic_retries_total", frozenset({("check_type", "dcv")})) in samples
    assert ("mpic_cooldown_rejections_total", frozenset({("check_type", "caa")})) in samples
    # one anomaly gauge per configured perspective
    for code in CODES:
        assert ("mpic_perspective_anomaly_ratio",
                frozenset({("perspective", code)})) in samples
    wsamples, wtypes = scrape(worker_port(fleet, "us-east-1"))
    for name, kind in {"mpic_worker_checks": "counter",
                       "mpic_worker_check_duration_seconds": "histogram",
                       "mpic_worker_jobs_reclaimed": "counter",
                       "mpic_worker_inflight_jobs": "gauge",
                       "mpic_worker_redis_roundtrip_seconds": "histogram",
                       "mpic_worker_dnssec_failures": "counter"}.items():
        assert wtypes.get(name) == kind, (name, wtypes.get(name))
    assert value(wsamples, "mpic_worker_jobs_reclaimed_total", perspective="us-east-1") == 0
    # only GET/HEAD
    r = fleet.request("POST", "/metrics", body={})
    assert r.status == 405


def project_version():
    src = os.environ.get("MPIC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    with open(os.path.join(src, "CMakeLists.txt")) as f:
        return re.search(r"project\(mpic VERSION ([0-9.]+)", f.read()).group(1)


def test_build_info_names_version_and_the_malloc_in_use(fleet):
    """mpic_build_info says which version runs and which malloc the binary really uses (the
    build links jemalloc unless configured otherwise; CTest passes what it chose)."""
    expect = os.environ.get("MPIC_EXPECT_ALLOCATOR")
    for port in (fleet.coordinator_ports[0], worker_port(fleet, "us-east-1")):
        samples, types = scrape(port)
        assert types.get("mpic_build_info") == "gauge"
        infos = [dict(labels) for (name, labels), v in samples.items()
                 if name == "mpic_build_info" and v == 1]
        assert len(infos) == 1, infos
        assert infos[0]["version"] == project_version()
        if expect:
            assert infos[0]["allocator"] == expect, (port, infos, expect)
        else:  # run by hand, outside CTest
            assert infos[0]["allocator"] in ("jemalloc", "libc"), infos


def test_sampler_reports_streams_and_redis_latency(fleet):
    def sampled():
        s = coord_metrics(fleet)
        return (s if all(("mpic_stream_length",
                          frozenset({("stream", "jobs"), ("region", c)})) in s for c in CODES)
                and value(s, "mpic_redis_roundtrip_seconds_count") >= 1 else None)
    s = wait_until(sampled, 15.0, "the stream sampler's first round")
    assert ("mpic_stream_pending", frozenset({("stream", "results"), ("region", "")})) in s
    assert value(s, "mpic_redis_roundtrip_seconds_bucket", le="+Inf") == \
        value(s, "mpic_redis_roundtrip_seconds_count")


def test_sampler_reports_redis_memory_and_its_limit(fleet, redis_server):
    """mpic_redis_used_memory_bytes and mpic_redis_maxmemory_bytes follow Redis' INFO memory
    (what MpicRedisMemoryHigh compares), including a limit changed at run time."""
    r = redis.Redis(host="127.0.0.1", port=redis_server.port)
    addr = f"127.0.0.1:{redis_server.port}"  # the gauges' redis label
    before = r.config_get("maxmemory")["maxmemory"]
    limit = 3 * 1024 ** 3 + 12345  # a value no default has; above used_memory
    try:
        r.config_set("maxmemory", limit)
        s = wait_until(lambda: (lambda m: m if value(m, "mpic_redis_maxmemory_bytes",
                                                     redis=addr) == limit
                                else None)(coord_metrics(fleet)), 15.0, "the new maxmemory")
        used = value(s, "mpic_redis_used_memory_bytes", redis=addr)
        info = r.info("memory")["used_memory"]
        # sampled a moment apart: within 25 % of what Redis says now
        assert 0 < used and abs(used - info) < 0.25 * info, (used, info)
    finally:
        r.config_set("maxmemory", before)
    wait_until(lambda: value(coord_metrics(fleet), "mpic_redis_maxmemory_bytes",
                             redis=addr) == int(before), 15.0, "the restored maxmemory")


def valid_http01_counted(fleet, before, n):
    """The coordinator's metrics once mpic_requests_total counted n more valid http-01
    validations than in `before`."""
    labels = dict(check_type="dcv", method="acme-http-01", verdict="valid")

    def moved():
        s = coord_metrics(fleet)
        return s if value(s, "mpic_requests_total", **labels) == \
            value(before, "mpic_requests_total", **labels) + n else None
    return wait_until(moved, 15.0, f"mpic_requests_total to count {n} request(s)")


def test_agreeing_validation_moves_request_counters_only(fleet):
    before = coord_metrics(fleet)
    wbefore = scrape(worker_port(fleet, EVIL))[0]
    _, body = post(fleet, "agree")
    assert body["is_valid"] is True
    after = valid_http01_counted(fleet, before, 1)
    assert value(after, "mpic_attempts_total", check_type="dcv") == \
        value(before, "mpic_attempts_total", check_type="dcv") + 1
    # the verdict was judged ahead at most once (test_agreeing_validations_are_judged_ahead)
    assert value(after, "mpic_verdicts_judged_ahead_total", result="confirmed") <= \
        value(before, "mpic_verdicts_judged_ahead_total", result="confirmed") + 1
    for code in CODES:
        key = dict(perspective=code, check_type="dcv", outcome="passed", error_type="none")
        assert value(after, "mpic_perspective_results_total", **key) == \
            value(before, "mpic_perspective_results_total", **key) + 1, code
        assert value(after, "mpic_perspective_check_duration_seconds_count", perspective=code,
                     check_type="dcv") >= 1
    for kind in ("failed_while_valid", "error_while_valid", "passed_while_invalid"):
        for code in CODES:
            assert value(after, "mpic_perspective_disagreements_total", perspective=code,
                         kind=kind) == value(before, "mpic_perspective_disagreements_total",
                                             perspective=code, kind=kind)
    assert value(after, "mpic_request_duration_seconds_count", check_type="dcv",
                 verdict="valid") >= 1
    # the worker of the perspective counted its check
    wkey = dict(perspective=EVIL, check_type="dcv", method="acme-http-01", outcome="passed")
    wafter = wait_until(lambda: (lambda s: s if value(s, "mpic_worker_checks_total", **wkey) >
                                 value(wbefore, "mpic_worker_checks_total", **wkey) else None)(
        scrape(worker_port(fleet, EVIL))[0]), 10.0, "the worker's check counter")
    assert value(wafter, "mpic_worker_check_duration_seconds_count", perspective=EVIL,
                 check_type="dcv", method="acme-http-01") >= 1
    assert value(wafter, "mpic_worker_redis_roundtrip_seconds_count", perspective=EVIL) >= 1


def test_agreeing_validations_are_judged_ahead(fleet):
    """One coordinator reduces every result: the record of a validation's last results
    carries its verdict with it (judged ahead) and Redis confirms the predicted tally. Not
    every time: with the machine loaded (the lab scenarios beside this suite), about one run
    in five saw the first validation of a fresh fleet judged ahead by a record that found
    the request already answered ("closed": refuted, harmless since the scripts check the
    prediction). A straggler reduced after the grace timer's publication was one cause, now
    fixed (test_straggler_after_the_answer_is_not_judged_ahead); the fresh-fleet case was
    not traced (docs/performance.md). So over five validations at least one is judged ahead
    and confirmed."""
    before = coord_metrics(fleet)
    for _ in range(5):
        _, body = post(fleet, "agree")
        assert body["is_valid"] is True
    after = valid_http01_counted(fleet, before, 5)
    confirmed = value(after, "mpic_verdicts_judged_ahead_total", result="confirmed") - \
        value(before, "mpic_verdicts_judged_ahead_total", result="confirmed")
    assert 1 <= confirmed <= 5, confirmed


def test_one_disagreeing_perspective_moves_its_disagreement_and_anomaly_gauge(fleet):
    before = coord_metrics(fleet)
    wbefore = scrape(worker_port(fleet, EVIL))[0]
    _, body = post(fleet, "one-bad")
    assert body["is_valid"] is True
    results = mpiclab.by_code(body)
    assert results[EVIL]["check_passed"] is False
    assert all(results[c]["check_passed"] for c in CODES if c != EVIL)
    dis = dict(perspective=EVIL, kind="failed_while_valid")

    def moved():
        s = coord_metrics(fleet)
        return s if value(s, "mpic_perspective_disagreements_total", **dis) == \
            value(before, "mpic_perspective_disagreements_total", **dis) + 1 else None
    after = wait_until(moved, 15.0, "the disagreement counter of " + EVIL)
    err = results[EVIL]["errors"][0]["error_type"]
    key = dict(perspective=EVIL, check_type="dcv", outcome="failed", error_type=err)
    assert value(after, "mpic_perspective_results_total", **key) == \
        value(before, "mpic_perspective_results_total", **key) + 1
    assert value(after, "mpic_anomalous_requests_total", check_type="dcv", verdict="valid") == \
        value(before, "mpic_anomalous_requests_total", check_type="dcv", verdict="valid") + 1
    # the anomaly gauge of the disagreeing perspective rose; the others agree every time
    ratio = value(after, "mpic_perspective_anomaly_ratio", perspective=EVIL)
    window = value(after, "mpic_perspective_window_results", perspective=EVIL)
    assert ratio > value(before, "mpic_perspective_anomaly_ratio", perspective=EVIL) or \
        ratio == 1.0
    assert window >= 1 and 0 < ratio <= 1
    for code in CODES:
        if code != EVIL:
            assert value(after, "mpic_perspective_anomaly_ratio", perspective=code) == 0.0
    # the worker saw it fail, with the same error type
    wafter = scrape(worker_port(fleet, EVIL))[0]
    wkey = dict(perspective=EVIL, check_type="dcv", error_type=err)
    assert value(wafter, "mpic_worker_check_errors_total", **wkey) == \
        value(wbefore, "mpic_worker_check_errors_total", **wkey) + 1


def test_failed_corroboration_with_a_passing_perspective_raises_an_alert(fleet, webhook,
                                                                      redis_server):
    before = coord_metrics(fleet)
    resp, body = post(fleet, "hijack")
    assert body["is_valid"] is False
    results = mpiclab.by_code(body)
    assert results[EVIL]["check_passed"] is True
    assert not any(results[c]["check_passed"] for c in CODES if c != EVIL)
    rid = resp.headers.get("X-Mpic-Request-Id")

    # the webhook: first POST answered 500, the retry delivered
    assert webhook.delivered.wait(30.0), "no alert reached the webhook"
    with webhook.lock:
        path, ctype, alert = webhook.bodies[-1]
    assert path == "/mpic-alert" and ctype == "application/json"
    assert alert["alert"] == "mpic.corroboration_disagreement" and alert["version"] == 1
    assert alert["request_id"] == rid
    assert alert["is_valid"] is False
    assert alert["check_type"] == "dcv" and alert["validation_method"] == "acme-http-01"
    assert alert["domain_or_ip_target"] == TARGET
    assert alert["passed_perspectives"] == [EVIL]
    assert sorted(alert["failed_perspectives"]) == sorted(c for c in CODES if c != EVIL)
    assert alert["quorum"] == "1/6" and alert["quorum_count"] == 4
    by = {p["perspective_code"]: p for p in alert["perspectives"]}
    assert by[EVIL]["outcome"] == "passed" and by[EVIL]["rir"] == "ARIN"
    assert by["eu-central-1"]["outcome"] == "failed" and by["eu-central-1"]["errors"]

    # the alerts stream holds the same document
    r = redis.Redis(host="127.0.0.1", port=redis_server.port)
    entries = r.xrange(f"{fleet.key_prefix}:alerts")
    stored = [json.loads(fields[b"a"]) for _, fields in entries]
    assert any(a["request_id"] == rid and a["passed_perspectives"] == [EVIL] for a in stored)

    def counted():
        s = coord_metrics(fleet)
        return s if value(s, "mpic_alert_webhook_events_total", event="delivered") >= 1 and \
            value(s, "mpic_alert_webhook_events_total", event="given_up") >= 1 else None
    after = wait_until(counted, 30.0, "the webhook delivered and given-up counters")
    # 5 tries at the dead URL, 1 failed try at the receiver
    assert value(after, "mpic_alert_webhook_events_total", event="attempt_failed") >= 6
    assert value(after, "mpic_alert_webhook_queue_length") == 0
    assert value(after, "mpic_alerts_total", result="published") == \
        value(before, "mpic_alerts_total", result="published") + 1
    assert value(after, "mpic_perspective_disagreements_total", perspective=EVIL,
                 kind="passed_while_invalid") == \
        value(before, "mpic_perspective_disagreements_total", perspective=EVIL,
              kind="passed_while_invalid") + 1
    assert value(after, "mpic_requests_total", check_type="dcv", method="acme-http-01",
                 verdict="invalid") >= 1


def test_stopped_worker_shows_pending_job_and_its_age(fleet):
    """A frozen worker (SIGSTOP) leaves its region's job undelivered or pending."""
    region = "ap-northeast-1"
    proc = fleet.workers[region][0]
    done = {}
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        t = threading.Thread(target=lambda: done.setdefault("r", post(fleet, "stopped")))
        t.start()
        labels = dict(stream="jobs", region=region)

        def backlog():
            s = coord_metrics(fleet)
            n = value(s, "mpic_stream_pending", **labels) + \
                value(s, "mpic_stream_undelivered", **labels)
            return s if n >= 1 else None
        s = wait_until(backlog, 15.0, f"a backlog on {region}")
        if value(s, "mpic_stream_pending", **labels) >= 1:
            wait_until(lambda: value(coord_metrics(fleet),
                                     "mpic_stream_oldest_pending_age_seconds", **labels) >= 0.5,
                       15.0, "the oldest pending age to grow")
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    t.join(40.0)
    assert not t.is_alive()
    assert done["r"][1]["is_valid"] is True

    def drained():
        s = coord_metrics(fleet)
        return value(s, "mpic_stream_pending", stream="jobs", region=region) == 0 and \
            value(s, "mpic_stream_oldest_pending_age_seconds", stream="jobs", region=region) == 0
    wait_until(drained, 20.0, f"the backlog on {region} to drain")


def test_straggler_after_the_answer_is_not_judged_ahead(workdir, redis_server, cts_honest,
                                                       http01_port):
    """A straggler whose result comes after the grace timer published the verdict: the
    reducer does not judge it ahead (the request is closed), so nothing is refuted."""
    late = "ap-northeast-1"
    token = mpiclab.random_token(43)
    keyauth = token + "." + mpiclab.random_token(43)
    cts_honest.add_http01(token, keyauth)
    held = mpiclab.HeldHTTPServer(keyauth, answer_held=True).start()
    f = mpiclab.Fleet(workdir, redis_server,
                      mpiclab.uniform_workers(cts_honest.address, http_port=http01_port,
                                              overrides={late: {"resolver": cts_honest.address,
                                                                "http_port": held.port}}),
                      name="metrics-late")
    try:
        f.start()
        before = coord_metrics(f)
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("r", f.post(
            http01_body("late.mpic.test", token, keyauth), timeout=30)), daemon=True)
        t.start()
        assert held.first_request.wait(15), "the late perspective never fetched the challenge"
        t.join(30)
        assert not t.is_alive()
        body = expect_200(out["r"])
        assert body["is_valid"] is True
        assert mpiclab.by_code(body)[late]["check_completed"] is False  # cut after the grace
        held.release.set()  # the straggler passes now
        r = redis.Redis(host="127.0.0.1", port=redis_server.port)
        results = f"{f.key_prefix}:results"

        def reduced():
            # every result reduced: the five of the answer and the straggler's
            return r.xlen(results) == 6 and r.xpending(results, "reducers")["pending"] == 0
        wait_until(reduced, 20.0, "the straggler's result to be reduced")
        after = coord_metrics(f)
        assert value(after, "mpic_verdicts_judged_ahead_total", result="refuted") == \
            value(before, "mpic_verdicts_judged_ahead_total", result="refuted")
    finally:
        f.stop()
        held.stop()


def test_reclaimed_job_is_counted_by_the_worker_that_took_it(workdir, redis_server, cts_honest,
                                                            http01_port):
    """A worker killed mid-check: the second worker of its region reclaims the job."""
    victim = "eu-central-1"
    token = mpiclab.random_token(43)
    keyauth = token + "." + mpiclab.random_token(43)
    cts_honest.add_http01(token, keyauth)
    slow = mpiclab.HeldHTTPServer(keyauth).start()
    opts = {"resolver": cts_honest.address, "http_port": slow.port}
    f = mpiclab.Fleet(workdir, redis_server,
                      mpiclab.uniform_workers(cts_honest.address, http_port=http01_port,
                                              overrides={victim: opts}),
                      name="metrics-reclaim", streams={"job_visibility_timeout_ms": 1000})
    try:
        f.start()
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("r", f.post(
            http01_body("reclaim.mpic.test", token, keyauth), timeout=30)), daemon=True)
        t.start()
        assert slow.first_request.wait(15), "the first worker never fetched the challenge"
        second = f.start_worker(victim, opts)
        f.kill_worker(victim, 0)
        t.join(30)
        assert not t.is_alive()
        assert expect_200(out["r"])["is_valid"] is True
        key = dict(perspective=victim, check_type="dcv", method="acme-http-01",
                   outcome="passed")

        def counted():
            # the verdict may be published before the reclaimed check finishes
            m = scrape(second.health_port)[0]
            return value(m, "mpic_worker_jobs_reclaimed_total", perspective=victim) >= 1 and \
                value(m, "mpic_worker_checks_total", **key) >= 1
        wait_until(counted, 20.0, "the reclaimed job to be counted and checked")
    finally:
        f.stop()
        slow.stop()


def test_jobs_trimmed_before_delivery_are_counted_and_leave_no_backlog(workdir, redis_server,
                                                                      knot_honest):
    """A frozen region whose job stream outgrows streams.jobs_maxlen: the jobs trimmed before
    any worker read them are counted (mpic_stream_trimmed_undelivered), and once the worker
    catches up mpic_stream_undelivered is 0 again (Redis 7.0's own lag keeps counting the
    trimmed jobs for good, which would hold the backlog alert up forever)."""
    region = "ap-northeast-1"
    f = mpiclab.Fleet(workdir, redis_server, mpiclab.uniform_workers(knot_honest.address),
                      name="metrics-trim", streams={"jobs_maxlen": 100},
                      coordinator={"min_deadline_ms": 500})
    f.config["metrics"] = {"stream_sample_ms": 200}
    with open(f.config_path, "w") as fh:
        json.dump(f.config, fh, indent=2)
    labels = dict(stream="jobs", region=region)
    proc = None
    try:
        f.start()
        proc = f.workers[region][0]
        os.kill(proc.pid, signal.SIGSTOP)
        r = redis.Redis(host="127.0.0.1", port=redis_server.port)
        jobs = f"{f.key_prefix}:jobs:{{{region}}}"
        while r.xinfo_stream(jobs)["entries-added"] < 400:  # a few 100-entry nodes trimmed
            resp = f.post(mpiclab.caa_body("www.mpic.test", orchestration={"deadline_ms": 500}),
                          headers={"Prefer": "respond-async"})
            assert resp.status == 202, resp
        length = r.xlen(jobs)
        assert length < 300, length
        # while frozen, every retained job waits
        wait_until(lambda: value(coord_metrics(f), "mpic_stream_undelivered", **labels) ==
                   r.xlen(jobs), 10.0, "the undelivered gauge to show the retained jobs")
        os.kill(proc.pid, signal.SIGCONT)
        proc = None

        def caught_up():
            s = coord_metrics(f)
            return s if value(s, "mpic_stream_undelivered", **labels) == 0 and \
                value(s, "mpic_stream_trimmed_undelivered", **labels) > 0 else None
        s = wait_until(caught_up, 20.0, "the worker to catch up and the trimmed jobs counted")
        trimmed = value(s, "mpic_stream_trimmed_undelivered", **labels)
        added = r.xinfo_stream(jobs)["entries-added"]
        assert 100 <= trimmed <= added - 100, (trimmed, added)
        assert r.xinfo_groups(jobs)[0]["lag"] == trimmed  # Redis still counts them as waiting
        # the other regions lost nothing
        other = dict(stream="jobs", region="us-east-1")
        assert value(s, "mpic_stream_trimmed_undelivered", **other) == 0
        assert value(s, "mpic_stream_undelivered", **other) == 0
    finally:
        if proc is not None:
            os.kill(proc.pid, signal.SIGCONT)
        f.stop()
