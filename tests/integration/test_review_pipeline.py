"""
Pipeline robustness found in review: the coordinator recovers when creating its consumer
groups fails with an error reply, the reducer recreates its group when the results stream
vanished (eviction, FLUSHDB), a connection lost in the middle of the admission pipeline never
leaves a request record without a TTL, an overdue request whose sweeper lost Redis or died
right after claiming it is taken over again when the claim's lease ends, and a coordinator
stopped while Redis commands are
outstanding exits cleanly (run against the ASan build to see use-after-free). A small TCP proxy
between a coordinator and Redis cuts or stalls one connection at a chosen command.
"""
import hashlib
import json
import os
import select
import signal
import socket
import threading
import time

import pytest

import mpiclab
from mpiclab import caa_body, expect_200


class RedisProxy:
    """
    Forwards 127.0.0.1:port to Redis, one thread per connection. cut_at: bytes of a command
    (RESP) at which the first connection sending it is cut: what came before is forwarded,
    then both sides are closed. stall_after: once a connection sent these bytes, Redis' replies
    to it are no longer forwarded (the connection stays open). Each rule fires once.
    """

    def __init__(self, redis_port, cut_at=None, stall_after=None):
        self.redis_port = redis_port
        self.cut_at = cut_at
        self.stall_after = stall_after
        self.cut_done = threading.Event()
        self.stalled = threading.Event()
        self._lock = threading.Lock()
        self._stop = False
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.threads = []

    def start(self):
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def stop(self):
        self._stop = True
        self.listener.close()

    def _accept(self):
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.redis_port))
            t = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
            t.start()
            self.threads.append(t)

    def _take(self, event):
        """Claims a one-shot rule; True for exactly one caller."""
        with self._lock:
            if event.is_set():
                return False
            event.set()
            return True

    def _pump(self, client, upstream):
        stalled = False
        socks = [client, upstream]
        try:
            while not self._stop:
                ready, _, _ = select.select(socks, [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is client:
                        if self.cut_at and self.cut_at in data and self._take(self.cut_done):
                            upstream.sendall(data[:data.index(self.cut_at)])
                            return
                        if self.stall_after and self.stall_after in data and \
                                self._take(self.stalled):
                            stalled = True
                        upstream.sendall(data)
                    elif not stalled:
                        client.sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()


def resp_command(*words):
    """The RESP array header plus first bulk string of a command, as hiredis sends it."""
    first = words[0].encode()
    return b"$%d\r\n%s\r\n" % (len(first), first)


def start_coordinator(workdir, fleet_config_path, name, redis_address):
    """One more coordinator on the fleet's config but another Redis address (the proxy)."""
    port = mpiclab.free_port()
    p = mpiclab.Process(name, [mpiclab.binary("MPIC_COORDINATOR", "mpic-coordinator"),
                               "--config", fleet_config_path, "--listen", f"127.0.0.1:{port}",
                               "--redis", redis_address], workdir, kind="coordinator")
    p.start()
    p.port = port
    return p


def sanitizer_report(path):
    with open(path, errors="replace") as f:
        text = f.read()
    return [line for line in text.splitlines()
            if "AddressSanitizer" in line or "LeakSanitizer" in line or "runtime error" in line]


@pytest.fixture(scope="module")
def fleet(make_fleet, knot_honest):
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="review")


@pytest.fixture
def rds(fleet):
    import redis as redislib
    return redislib.Redis(host="127.0.0.1", port=fleet.redis.port)


def test_group_setup_error_is_retried_while_connected(workdir, fleet, rds):
    """XGROUP CREATE answered with an error (here WRONGTYPE; in production LOADING after a
    restart, OOM, BUSY) must be retried while the connection stays up, not only after a
    reconnect: otherwise the coordinator stays unhealthy (503 to everything) forever."""
    prefix = "rv" + "%06x" % (int(time.time() * 1000) % 16**6)
    cfg_path = os.path.join(workdir, f"{prefix}.json")
    cfg = dict(fleet.config)
    cfg["key_prefix"] = prefix
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    results = f"{prefix}:results"
    rds.set(results, "not a stream")
    p = start_coordinator(workdir, cfg_path, f"{prefix}-coordinator", fleet.redis.address)
    try:
        p.wait_for_http("127.0.0.1", p.port, "/healthz", 503, 10.0)
        time.sleep(0.3)  # the group creation has failed by now
        rds.delete(results)
        p.wait_for_http("127.0.0.1", p.port, "/healthz", 200, 5.0)
        assert rds.type(results) == b"stream"
        groups = {g["name"] for g in rds.xinfo_groups(results)}
        assert groups == {b"reducers"}, groups
    finally:
        assert p.stop() == 0
        rds.delete(results)
    assert sanitizer_report(p.log_path) == []


def test_reducer_recreates_its_group_when_results_stream_vanished(fleet, rds):
    """The results stream (and so the reducers group) disappears while every connection stays
    up (allkeys-* eviction, FLUSHDB, an operator's DEL): workers recreate their own groups on
    NOGROUP; the reducer must too, or no result is ever read again and every request ends at
    its deadline with all perspectives missing."""
    assert expect_200(fleet.post(caa_body("permit.mpic.test")))["is_valid"] is True
    results = f"{fleet.key_prefix}:results"
    assert rds.delete(results) == 1
    body = caa_body("permit.mpic.test", orchestration={"perspective_count": 6,
                                                        "quorum_count": 6, "deadline_ms": 4000})
    resp = fleet.post(body, timeout=15)
    answer = expect_200(resp)
    assert answer["is_valid"] is True, answer
    assert all(p["check_response"]["check_completed"] for p in answer["perspectives"]), answer
    assert resp.elapsed < 3.5, resp.elapsed  # decided from the results, not at the deadline
    assert {g["name"] for g in rds.xinfo_groups(results)} == {b"reducers"}


def test_admission_cut_mid_pipeline_leaves_no_immortal_record(workdir, fleet, rds):
    """The command connection is lost after Redis executed the request record's HSET but before
    its PEXPIRE: the client gets 503, and no request record may be left without a TTL
    (nothing else would ever remove it)."""
    proxy = RedisProxy(fleet.redis.port, cut_at=resp_command("PEXPIRE")).start()
    p = start_coordinator(workdir, fleet.config_path, "review-cut-coordinator", proxy.address)
    pattern = f"{fleet.key_prefix}:{{*}}:req"
    before = set(rds.keys(pattern))
    try:
        p.wait_for_http("127.0.0.1", p.port, "/healthz", 200, 10.0)
        resp = mpiclab.http_request("127.0.0.1", p.port, "POST", "/mpic",
                                    caa_body("permit.mpic.test"), timeout=15)
        assert proxy.cut_done.is_set()
        assert resp.status == 503, resp
        new = set(rds.keys(pattern)) - before
        immortal = [k for k in new if rds.pttl(k) == -1]
        assert immortal == [], {k: rds.hgetall(k) for k in immortal}
        # the coordinator reconnects and serves again
        p.wait_for_http("127.0.0.1", p.port, "/healthz", 200, 10.0)
        resp = mpiclab.http_request("127.0.0.1", p.port, "POST", "/mpic",
                                    caa_body("permit.mpic.test"), timeout=15)
        assert expect_200(resp)["is_valid"] is True
        for k in set(rds.keys(pattern)) - before:
            assert rds.pttl(k) > 0, k
    finally:
        assert p.stop() == 0
        proxy.stop()
    assert sanitizer_report(p.log_path) == []


def overdue_request(workdir, fleet, rds):
    """A config of its own (key prefix no worker reads, 500 ms deadline) and one async request
    admitted by a coordinator that is then killed: its due entry is left for a sweeper.
    Returns (config path, prefix, request id)."""
    prefix = "rd" + "%06x" % (int(time.time() * 1000) % 16**6)
    cfg_path = os.path.join(workdir, f"{prefix}.json")
    cfg = json.loads(json.dumps(fleet.config))
    cfg["key_prefix"] = prefix  # no worker reads these job streams: the deadline decides
    cfg["coordinator"]["deadline_ms"] = 500
    cfg.setdefault("streams", {})["result_visibility_timeout_ms"] = 200
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    holder = start_coordinator(workdir, cfg_path, f"{prefix}-holder", fleet.redis.address)
    try:
        holder.wait_for_http("127.0.0.1", holder.port, "/healthz", 200, 10.0)
        resp = mpiclab.http_request("127.0.0.1", holder.port, "POST", "/mpic",
                                    caa_body("permit.mpic.test"), timeout=15,
                                    headers={"Prefer": "respond-async"})
        assert resp.status == 202, resp
        rid = resp.json["request_id"]
    finally:
        holder.kill()  # dies holding it: its deadline timer goes with it
    assert rds.zscore(f"{prefix}:due", rid) is not None
    return cfg_path, prefix, rid


def tally_sha():
    with open(os.path.join(mpiclab.HERE, "..", "..", "lua", "tally.lua"), "rb") as f:
        return hashlib.sha1(f.read()).hexdigest().encode()


def wait_decided_and_audited(rds, prefix, rid, timeout):
    """The request ends replied, its due entry gone, with exactly one audit record."""
    mpiclab.wait_until(lambda: rds.hget(f"{prefix}:{{{rid}}}:req", "state") == b"replied" and
                       rds.zscore(f"{prefix}:due", rid) is None, timeout,
                       "the overdue request to be decided")
    mpiclab.wait_until(lambda: rds.hget(f"{prefix}:{{{rid}}}:req", "post_done"), 5.0,
                       "its follow-up work to be done")
    records = [json.loads(f[b"a"]) for _, f in rds.xrange(f"{prefix}:audit")]
    assert [r["verdict"] for r in records if r["request_id"] == rid] == ["invalid"]


def test_overdue_claim_lost_to_redis_is_retried_after_its_lease(workdir, fleet, rds):
    """A sweeper claimed an overdue request and then lost the Redis connection while reading
    the tally (found by integration/test_load_faults when Redis was killed at that moment).
    The claim only leases the due entry (lua/lease), so when the lease ends a sweeper takes
    the request again, decides it and writes its audit record; a claim that removed the entry
    left it undecided for good."""
    cfg_path, prefix, rid = overdue_request(workdir, fleet, rds)
    proxy = RedisProxy(fleet.redis.port, cut_at=tally_sha()).start()
    p = start_coordinator(workdir, cfg_path, f"{prefix}-sweeper", proxy.address)
    try:
        mpiclab.wait_until(lambda: proxy.cut_done.is_set(), 15.0, "the sweeper's tally read")
        wait_decided_and_audited(rds, prefix, rid, 25.0)  # lease 10 s + lag and visibility
    finally:
        assert p.stop() == 0
        proxy.stop()
    with open(p.log_path) as f:
        log = f.read()
    assert "takeover failed; a sweeper retries it when its lease ends" in log, log[-2000:]
    assert log.count(f"request {rid}: taken over from its coordinator") == 2, log[-2000:]
    assert sanitizer_report(p.log_path) == []


def test_sweeper_killed_after_its_claim_leaves_the_request_to_another(workdir, fleet, rds):
    """Two coordinator failures: the request's holder dies, and then the sweeper that claimed
    it dies before deciding it (here: stuck on its tally read, then SIGKILL). Another
    sweeper takes it over once the lease ends, decides it and writes its audit record."""
    cfg_path, prefix, rid = overdue_request(workdir, fleet, rds)
    proxy = RedisProxy(fleet.redis.port, stall_after=tally_sha()).start()
    first = start_coordinator(workdir, cfg_path, f"{prefix}-first", proxy.address)
    try:
        mpiclab.wait_until(lambda: proxy.stalled.is_set(), 15.0, "the first sweeper's claim")
        lease = rds.zscore(f"{prefix}:due", rid)
        assert lease is not None and lease > time.time() * 1000  # on lease, not removed
    finally:
        first.kill()
        proxy.stop()
    second = start_coordinator(workdir, cfg_path, f"{prefix}-second", fleet.redis.address)
    try:
        wait_decided_and_audited(rds, prefix, rid, 25.0)
    finally:
        assert second.stop() == 0
    with open(second.log_path) as f:
        assert f"request {rid}: taken over from its coordinator" in f.read()
    assert sanitizer_report(second.log_path) == []


def test_shutdown_with_outstanding_commands_is_clean(workdir, fleet, rds):
    """SIGTERM while the reducer's XACK is still unanswered: freeing the Redis clients runs the
    outstanding callbacks, which must not touch the already freed reducer connection (ASan:
    heap-use-after-free in reducer_read) nor leak."""
    proxy = RedisProxy(fleet.redis.port, stall_after=resp_command("XACK")).start()
    p = start_coordinator(workdir, fleet.config_path, "review-stop-coordinator", proxy.address)
    try:
        p.wait_for_http("127.0.0.1", p.port, "/healthz", 200, 10.0)
        results = f"{fleet.key_prefix}:results"
        # undecodable results: every reducer acknowledges them at once; send until ours did
        deadline = time.monotonic() + 10.0
        while not proxy.stalled.is_set() and time.monotonic() < deadline:
            rds.xadd(results, {"r": b"\xc1 not msgpack"})
            time.sleep(0.05)
        assert proxy.stalled.is_set(), "the coordinator never acknowledged a result"
        time.sleep(0.1)
        p.send_signal(signal.SIGTERM)
        code = p.popen.wait(timeout=10)
    finally:
        p.stop()
        proxy.stop()
    assert sanitizer_report(p.log_path) == []
    assert code == 0
