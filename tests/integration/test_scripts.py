"""
The atomic contracts of the Redis scripts in lua/ (record, tally, finalize, publish, lease), run
against a real redis-server started on a free loopback port for this file only: store-once
per perspective, rejection of foreign/stale/unknown/answered requests, TTL propagation, the
tally reply shape, and compare-and-set transitions that exactly one of many concurrent
clients wins. Self-contained: it uses no fixture of conftest.py.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import redis

SOURCE_DIR = os.environ.get(
    "MPIC_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LUA_DIR = os.path.join(SOURCE_DIR, "lua")
PREFIX = "t5"
DEADLINE = b"1700000000000"


def lua(name):
    with open(os.path.join(LUA_DIR, name + ".lua"), encoding="utf-8") as f:
        return f.read()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scripts_redis():
    """A private redis-server; yields its port and stops it by PID."""
    tmp = tempfile.mkdtemp(prefix="mpic-scripts-")
    port = free_port()
    proc = subprocess.Popen(
        ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", tmp, "--logfile", os.path.join(tmp, "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(200):
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                time.sleep(0.02)
        else:
            raise RuntimeError("redis-server did not start")
        client.close()
        yield port
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def r(scripts_redis):
    client = redis.Redis(host="127.0.0.1", port=scripts_redis)
    client.flushall()
    yield client
    client.close()


class Scripts:
    """Runs the lua scripts with the KEYS layout of keys.h for request rid."""

    def __init__(self, client):
        self.c = client
        self.src = {n: lua(n) for n in ("record", "tally", "finalize", "publish")}

    @staticmethod
    def keys(rid):
        return (f"{PREFIX}:{{{rid}}}:req", f"{PREFIX}:{{{rid}}}:res", f"{PREFIX}:{{{rid}}}:st")

    def record(self, rid, code, outcome, blob, attempt=b"1"):
        req, res, st = self.keys(rid)
        return self.c.eval(self.src["record"], 3, req, res, st, attempt, code, outcome, blob)

    def record_many(self, rid, results, attempt=b"1", client=None):
        """results: [(code, outcome, blob), ...] recorded in one call."""
        req, res, st = self.keys(rid)
        args = [x for triple in results for x in triple]
        return (client or self.c).eval(self.src["record"], 3, req, res, st, attempt, *args)

    def tally(self, rid):
        req, _, st = self.keys(rid)
        return self.c.eval(self.src["tally"], 2, req, st)

    def finalize(self, rid, count, verdict=b"valid", reason=b"why", now=b"1000", client=None,
                 ahead=None):
        """ahead: (attempt, [(field, outcome), ...]), the tally a reducer judged ahead."""
        req, _, st = self.keys(rid)
        guard = [] if ahead is None else [ahead[0]] + [x for p in ahead[1] for x in p]
        return (client or self.c).eval(self.src["finalize"], 2, req, st, verdict, reason, now,
                                       str(count), *guard)

    def publish(self, rid, now=b"2000", client=None, takeover=None, ahead=None):
        """ahead: (attempt, outcomes expected), the guard of a publication judged ahead."""
        req, _, st = self.keys(rid)
        if ahead is not None:
            return (client or self.c).eval(self.src["publish"], 2, req, st, now,
                                           takeover or b"6000", ahead[0], str(ahead[1]))
        args = [now] if takeover is None else [now, takeover]
        return (client or self.c).eval(self.src["publish"], 1, req, *args)


@pytest.fixture
def s(r):
    return Scripts(r)


def make_request(r, rid, cohort=b"a,b,c", rirs=b"0,1,2", state=b"open", attempt=b"1",
                 ttl_ms=60000):
    req = Scripts.keys(rid)[0]
    n = str(len(cohort.split(b","))).encode()
    r.hset(req, mapping={"state": state, "attempt": attempt, "cohort": cohort, "rirs": rirs,
                         "n": n, "q": b"2", "deadline": DEADLINE, "holder": b"coord-1"})
    if ttl_ms:
        r.pexpire(req, ttl_ms)


HEAD = [b"open", b"3", b"2", b"a,b,c", b"0,1,2", DEADLINE]


def test_record_stores_once_and_returns_tally(r, s):
    make_request(r, "r1")
    blob_a = b"\x00\x81\xa1v\x01\xff binary"
    assert s.record("r1", "a", "P", blob_a) == [b"o"] + HEAD + [b"a", b"P"]
    assert s.record("r1", "c", "E", b"c-blob") == [b"o"] + HEAD + [b"a", b"P", b"c", b"E"]
    _, res, st = Scripts.keys("r1")
    assert r.hget(res, "a") == blob_a  # binary safe
    assert r.hgetall(st) == {b"a": b"P", b"c": b"E"}

    # a duplicate (reclaimed job ran twice) changes nothing and says so
    reply = s.record("r1", "a", "F", b"other blob")
    assert reply[0] == b"d"
    assert reply[1:7] == HEAD
    assert dict(zip(reply[7::2], reply[8::2])) == {b"a": b"P", b"c": b"E"}
    assert r.hget(res, "a") == blob_a
    assert r.hget(st, "a") == b"P"


def test_record_sets_expiry_from_request_ttl(r, s):
    make_request(r, "r2", ttl_ms=50000)
    assert s.record("r2", "b", "F", b"x")[0] == b"o"
    req, res, st = Scripts.keys("r2")
    req_ttl = r.pttl(req)
    for key in (res, st):
        ttl = r.pttl(key)
        assert 0 < ttl <= 50000
        assert abs(ttl - req_ttl) < 2000

    # a request without expiry leaves the result keys without expiry too
    make_request(r, "r3", ttl_ms=0)
    assert s.record("r3", "b", "F", b"x")[0] == b"o"
    assert r.pttl(Scripts.keys("r3")[1]) == -1
    assert r.pttl(Scripts.keys("r3")[2]) == -1


@pytest.mark.parametrize("code", [b"d", b"a,b", b"b,c", b"", b",", b"A", b"a ", b"a,b,c"])
def test_record_rejects_foreign_perspectives(r, s, code):
    make_request(r, "r4")
    assert s.record("r4", code, "P", b"x") == [b"f"] + HEAD
    _, res, st = Scripts.keys("r4")
    assert not r.exists(res)
    assert not r.exists(st)


def test_record_many_results_in_one_call(r, s):
    """A reducer's batch: every result of a request in one call, one letter each."""
    make_request(r, "m1", ttl_ms=40000)
    reply = s.record_many("m1", [(b"a", b"P", b"blob-a"), (b"x", b"P", b"forged"),
                                 (b"c", b"F", b"\x00blob-c"), (b"a", b"F", b"again")])
    assert reply[0] == b"ofod"
    assert reply[1:7] == HEAD
    assert dict(zip(reply[7::2], reply[8::2])) == {b"a": b"P", b"c": b"F"}
    req, res, st = Scripts.keys("m1")
    assert r.hgetall(res) == {b"a": b"blob-a", b"c": b"\x00blob-c"}
    for key in (res, st):  # the call that created the hashes gave them the record's TTL
        assert 0 < r.pttl(key) <= 40000
    # later results join the same tally; the duplicate changes nothing
    reply = s.record_many("m1", [(b"b", b"E", b"blob-b"), (b"c", b"P", b"late copy")])
    assert reply[0] == b"od"
    assert dict(zip(reply[7::2], reply[8::2])) == {b"a": b"P", b"b": b"E", b"c": b"F"}
    assert r.hget(res, "c") == b"\x00blob-c"
    # request-level answers do not depend on the number of results
    assert s.record_many("m1", [(b"a", b"P", b"x"), (b"b", b"P", b"y")], attempt=b"2") == [
        b"stale"]
    assert s.record_many("gone", [(b"a", b"P", b"x"), (b"b", b"P", b"y")]) == [b"gone"]


def test_record_primary_pending_until_reported(r, s):
    """The primary's outcome lives under "@code"; until it reports, ("@code", "-") is listed."""
    make_request(r, "p1")
    r.hset(Scripts.keys("p1")[0], "primary", "prim")
    reply = s.record_many("p1", [(b"a", b"P", b"x")])
    assert reply[0] == b"o"
    assert dict(zip(reply[7::2], reply[8::2])) == {b"a": b"P", b"@prim": b"-"}
    assert s.tally("p1")[7:] == reply[7:]
    reply = s.record_many("p1", [(b"prim", b"P", b"blob-p"), (b"b", b"F", b"y")])
    assert reply[0] == b"oo"
    pairs = list(zip(reply[7::2], reply[8::2]))
    assert dict(pairs) == {b"a": b"P", b"b": b"F", b"@prim": b"P"}
    assert len(pairs) == 3  # no pending pair once it reported
    assert r.hget(Scripts.keys("p1")[1], "prim") == b"blob-p"
    assert s.tally("p1")[7:] == reply[7:]


def test_record_rejects_stale_unknown_and_replied(r, s):
    make_request(r, "r5", attempt=b"2")
    assert s.record("r5", "a", "P", b"x", attempt=b"1") == [b"stale"]
    assert s.record("r5", "a", "P", b"x", attempt=b"3") == [b"stale"]
    assert s.record("r5", "a", "P", b"x", attempt=b"2")[0] == b"o"

    assert s.record("nope", "a", "P", b"x") == [b"gone"]
    assert not r.exists(*Scripts.keys("nope"))

    make_request(r, "r6", state=b"replied")
    assert s.record("r6", "a", "P", b"x") == [b"closed"]
    assert not r.exists(Scripts.keys("r6")[2])

    # a decided request still records stragglers (for the audit trail)
    make_request(r, "r7", state=b"decided")
    reply = s.record("r7", "b", "P", b"x")
    assert reply[:2] == [b"o", b"decided"]


def test_tally_is_read_only_with_record_shape(r, s):
    assert s.tally("missing") == [b"gone"]
    make_request(r, "r8")
    assert s.tally("r8") == [b"ok"] + HEAD
    s.record("r8", "b", "P", b"x")
    req, res, st = Scripts.keys("r8")
    before = {k: r.dump(k) for k in (req, res, st)}
    ttl_before = r.pttl(st)
    reply = s.tally("r8")
    assert reply == [b"ok"] + HEAD + [b"b", b"P"]
    # same shape as record's reply apart from the status
    assert reply[1:] == s.record("r8", "b", "P", b"x")[1:]
    assert {k: r.dump(k) for k in (req, res, st)} == before
    assert r.pttl(st) <= ttl_before


def test_finalize_compare_and_set(r, s):
    make_request(r, "r9")
    req = Scripts.keys("r9")[0]
    s.record("r9", "a", "P", b"x")
    s.record("r9", "b", "P", b"x")
    # a caller that judged an older tally must re-evaluate
    assert s.finalize("r9", 1) == -1
    assert s.finalize("r9", 3) == -1
    assert r.hget(req, "state") == b"open"
    assert s.finalize("r9", 2, verdict=b"valid", reason=b"2/3 passed", now=b"12345") == 1
    assert r.hmget(req, "state", "verdict", "reason", "decided_at") == [
        b"decided", b"valid", b"2/3 passed", b"12345"]
    # exactly once: later callers lose and do not overwrite the verdict
    assert s.finalize("r9", 2, verdict=b"invalid") == 0
    assert r.hget(req, "verdict") == b"valid"
    assert s.finalize("missing", 0) == 0
    make_request(r, "r10", state=b"replied")
    assert s.finalize("r10", 0) == 0
    # no outcomes at all (deadline with nobody reporting): count 0 matches
    make_request(r, "r11")
    assert s.finalize("r11", 0, verdict=b"invalid") == 1


def test_finalize_ahead_checks_the_predicted_tally(r, s):
    """A reducer judges the tally its lua/record will leave and sends finalize right behind
    it: the script decides only if Redis stores exactly those outcomes, at that attempt."""
    make_request(r, "ah1")
    req = Scripts.keys("ah1")[0]
    s.record_many("ah1", [("a", "P", b"x"), ("b", "F", b"x"), ("c", "P", b"x")])
    # the same count but another outcome (a duplicate another reducer recorded first)
    assert s.finalize("ah1", 3, ahead=("1", [("a", "P"), ("b", "P"), ("c", "P")])) == -1
    # a field that is not stored, with the count still matching
    assert s.finalize("ah1", 3, ahead=("1", [("a", "P"), ("b", "F"), ("d", "P")])) == -1
    # another attempt: not this caller's to decide
    assert s.finalize("ah1", 3, ahead=("2", [("a", "P"), ("b", "F"), ("c", "P")])) == 0
    assert r.hget(req, "state") == b"open"
    assert s.finalize("ah1", 3, ahead=("1", [("c", "P"), ("a", "P"), ("b", "F")])) == 1
    assert r.hget(req, "state") == b"decided"
    # the primary's outcome is checked under its "@" field
    make_request(r, "ah2")
    r.hset(Scripts.keys("ah2")[0], "primary", "pr")
    s.record_many("ah2", [("a", "P", b"x"), ("pr", "E", b"x")])
    assert s.finalize("ah2", 2, ahead=("1", [("a", "P"), ("@pr", "P")])) == -1
    assert s.finalize("ah2", 2, ahead=("1", [("a", "P"), ("@pr", "E")])) == 1


def test_publish_ahead_waits_for_every_outcome(r, s):
    """A publication judged ahead publishes only at its attempt with every outcome stored,
    so a wrong prediction never cuts the stragglers' grace short."""
    make_request(r, "ap1")
    s.record_many("ap1", [("a", "P", b"x"), ("b", "P", b"x")])
    assert s.finalize("ap1", 2) == 1  # decided on 2 of 3 (quorum 2)
    assert s.publish("ap1", ahead=("1", 3)) is None  # c has not reported
    assert s.publish("ap1", ahead=("2", 2)) is None  # another attempt
    assert r.hget(Scripts.keys("ap1")[0], "state") == b"decided"
    s.record("ap1", "c", "P", b"x")
    assert s.publish("ap1", ahead=("1", 3)) == b"coord-1"
    # exactly once: a second caller only learns when the follow-up work can be taken over
    assert s.publish("ap1", ahead=("1", 3)) == 2000 + 6000
    assert r.hget(Scripts.keys("ap1")[0], "state") == b"replied"


def run_concurrently(port, n, fn):
    """Runs fn(client) in n threads released together; returns their results."""
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def worker(i):
        c = redis.Redis(host="127.0.0.1", port=port)
        try:
            c.ping()
            barrier.wait(timeout=5)
            results[i] = fn(c)
        except Exception as e:  # reported below, with the thread's result slot left None
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not errors, errors
    return results


def test_finalize_exactly_once_under_concurrency(r, s, scripts_redis):
    for round_ in range(5):
        rid = f"c{round_}"
        make_request(r, rid)
        s.record(rid, "a", "P", b"x")
        results = run_concurrently(
            scripts_redis, 16,
            lambda c, rid=rid: s.finalize(rid, 1, reason=f"by {threading.get_ident()}", client=c))
        assert sorted(results) == [0] * 15 + [1]
        assert r.hget(Scripts.keys(rid)[0], "state") == b"decided"


def test_concurrent_record_and_finalize_never_lose_an_outcome(r, s, scripts_redis):
    """Recorders and finalizers race: whoever decides saw exactly the outcomes stored then."""
    make_request(r, "race", cohort=b"p0,p1,p2,p3,p4,p5,p6,p7", rirs=b"0,1,2,3,4,0,1,2")

    def fn(c):
        i = threading.get_ident() % 8
        reply = c.eval(s.src["record"], 3, *Scripts.keys("race"), b"1", f"p{i}", "P", b"x")
        count = (len(reply) - 7) // 2 if reply[0] in (b"o", b"d") else 0
        return s.finalize("race", count, reason=str(count), client=c), count

    results = run_concurrently(scripts_redis, 12, fn)
    winners = [count for won, count in results if won == 1]
    assert len(winners) <= 1
    req, _, st = Scripts.keys("race")
    if winners:
        assert r.hget(req, "state") == b"decided"
        assert int(r.hget(req, "reason")) == winners[0]
        assert winners[0] <= r.hlen(st)
    assert all(won in (-1, 0, 1) for won, _ in results)


def test_publish_hands_over_unfinished_follow_up_work(r, s):
    """The winner lost its connection (or died) before marking its follow-up work (audit
    record, notification) done: the next caller after the takeover time wins it again; before
    that it learns when it may; once post_done is set nobody does."""
    make_request(r, "t1")
    req = Scripts.keys("t1")[0]
    assert s.finalize("t1", 0) == 1
    assert s.publish("t1", now=b"1000", takeover=b"6000") == b"coord-1"
    assert r.hget(req, "post_at") == b"1000"
    assert s.publish("t1", now=b"3000", takeover=b"6000") == 7000  # not yet overdue
    assert s.publish("t1", now=b"3000") is None  # no takeover asked: plain compare-and-set
    assert s.publish("t1", now=b"7000", takeover=b"6000") == b"coord-1"  # taken over
    assert r.hget(req, "post_at") == b"7000" and r.hget(req, "replied_at") == b"1000"
    assert s.publish("t1", now=b"8000", takeover=b"6000") == 13000
    r.hset(req, "post_done", "1-0")
    assert s.publish("t1", now=b"99999", takeover=b"6000") is None


def test_publish_compare_and_set(r, s, scripts_redis):
    make_request(r, "p1")
    req = Scripts.keys("p1")[0]
    assert s.publish("p1") is None  # still open
    assert s.finalize("p1", 0) == 1
    assert s.publish("p1", now=b"777") == b"coord-1"
    assert r.hmget(req, "state", "replied_at") == [b"replied", b"777"]
    assert s.publish("p1") is None
    assert s.publish("missing") is None
    assert not r.exists(Scripts.keys("missing")[0])

    for round_ in range(5):
        rid = f"pc{round_}"
        make_request(r, rid)
        assert s.finalize(rid, 0) == 1
        results = run_concurrently(scripts_redis, 16, lambda c, rid=rid: s.publish(rid, client=c))
        assert results.count(b"coord-1") == 1
        assert results.count(None) == 15
        # a replied request records nothing more
        assert s.record(rid, "a", "P", b"x") == [b"closed"]


def test_lease_claims_overdue_entries_once_and_releases_only_its_own(r, scripts_redis):
    """lua/lease: a claim moves an overdue due entry to the lease's end (exactly one of many
    concurrent sweepers wins; an entry not yet overdue or gone is not claimed); a release
    removes the entry only while it is still at that lease's end, so an entry the work moved
    (next attempt, unfinished follow-up work) stays."""
    src = lua("lease")
    due = f"{PREFIX}:due"
    r.zadd(due, {"a": 1000, "b": 5000, "c": 1000})

    def lease(*args, client=r):
        return client.eval(src, 1, due, *args)

    assert lease("claim", "b", "2000", "12000") == 0  # not overdue
    assert lease("claim", "zz", "2000", "12000") == 0  # gone
    assert lease("claim", "a", "2000", "12000") == 1
    assert r.zscore(due, "a") == 12000
    assert lease("claim", "a", "2000", "12500") == 0  # held: no longer overdue
    assert lease("release", "a", "11999") == 0  # another lease's end
    assert lease("release", "a", "12000") == 1 and r.zscore(due, "a") is None
    assert lease("release", "a", "12000") == 0  # already gone
    # the work moved the entry (ZADD of the next attempt's time): the release keeps it
    assert lease("claim", "c", "2000", "12000") == 1
    r.zadd(due, {"c": 30000})
    assert lease("release", "c", "12000") == 0 and r.zscore(due, "c") == 30000
    # a lease that ran out is claimed again by the next sweeper
    assert lease("claim", "c", "40000", "52000") == 1 and r.zscore(due, "c") == 52000

    # many sweepers at once: exactly one claim wins
    r.zadd(due, {"d": 1000})
    wins = []

    def sweeper(i):
        c = redis.Redis(host="127.0.0.1", port=scripts_redis)
        wins.append(lease("claim", "d", "2000", str(20000 + i), client=c))
        c.close()

    threads = [threading.Thread(target=sweeper, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [0] * 15 + [1]
