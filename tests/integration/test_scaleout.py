"""
Scale-out: two mpic-coordinator processes on the same key_prefix (one shared set of streams,
one reducer consumer group) both answer; concurrent requests spread over both are all decided
correctly, whichever coordinator's reducer records and finalizes them. Also: a coordinator
stopped with SIGTERM exits 0 while the other keeps serving, and the requests of a coordinator
killed with SIGKILL are decided at their deadline by the survivor's sweeper, and a result
left unacknowledged by a dead reducer is reclaimed with XAUTOCLAIM and still counts.
"""
import concurrent.futures

import pytest

import mpiclab
import sealenv
from mpiclab import by_code, caa_body, expect_200

TARGETS = {"permit.mpic.test": True, "deny.mpic.test": False, "a.b.c.deep.mpic.test": True,
           "crit128.mpic.test": False, "www.nocaa.test": True, "x.y.climb.mpic.test": False}


@pytest.fixture(scope="module")
def fleet(make_fleet, knot_honest):
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="scaleout",
                      ncoordinators=2)


def test_both_coordinators_answer_concurrently(fleet):
    jobs = [(i % 2, target, valid) for i, (target, valid) in
            enumerate(list(TARGETS.items()) * 3)]

    def run(job):
        coordinator, target, _ = job
        resp = fleet.post(caa_body(target, trace_identifier=f"c{coordinator}-{target}"),
                          coordinator=coordinator, timeout=30)
        return job, resp

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(run, jobs))
    assert len(answers) == len(jobs)
    seen_ids = set()
    for (coordinator, target, valid), resp in answers:
        body = expect_200(resp)
        assert body["is_valid"] is valid, (coordinator, target, body)
        assert body["domain_or_ip_target"] == target
        assert body["trace_identifier"] == f"c{coordinator}-{target}"
        assert all(cr["check_completed"] for cr in by_code(body).values()), body
        rid = resp.headers.get("X-Mpic-Request-Id")
        assert rid and rid not in seen_ids, rid
        seen_ids.add(rid)
    per_coordinator = [sum(1 for (c, _, _), _ in answers if c == i) for i in (0, 1)]
    assert per_coordinator == [len(jobs) // 2, len(jobs) - len(jobs) // 2]


def test_one_coordinator_stopped_other_serves(fleet):
    assert fleet.get("/healthz", coordinator=0).status == 200
    assert fleet.get("/healthz", coordinator=1).status == 200
    assert fleet.coordinators[1].stop() == 0
    for target, valid in TARGETS.items():
        assert expect_200(fleet.post(caa_body(target)))["is_valid"] is valid, target


def test_requests_of_a_dead_coordinator_are_decided_by_another(make_fleet, knot_honest):
    """The holder is SIGKILLed while its request waits for a perspective that has no worker:
    the deadline lives in Redis (<prefix>:due), so the surviving coordinator's sweeper claims
    it, decides it at the deadline (the silent perspective counted as a non-corroboration)
    and publishes it exactly once."""
    import redis as redislib

    silent = "us-west-2"
    workers = mpiclab.uniform_workers(knot_honest.address,
                                      codes=[c for c in mpiclab.CODES if c != silent])
    fleet = make_fleet(workers, name="orphan", ncoordinators=2)
    r = redislib.Redis(host="127.0.0.1", port=fleet.redis.port)
    pattern = f"{fleet.key_prefix}:{{*}}:req"
    body = caa_body("permit.mpic.test", orchestration={"perspective_count": 6,
                                                        "quorum_count": 6, "deadline_ms": 2000})
    pool = concurrent.futures.ThreadPoolExecutor(1)
    sender = pool.submit(fleet.post, body, 15.0, 0)
    mpiclab.wait_until(lambda: len(r.keys(pattern)) == 1, 10.0, "the request to be admitted")
    fleet.coordinators[0].kill()
    try:
        sender.result(10)
    except Exception:
        pass  # the client of a killed coordinator sees its connection drop
    pool.shutdown()
    key = r.keys(pattern)[0]
    rid = key.split(b"{")[1].split(b"}")[0]
    mpiclab.wait_until(lambda: r.hget(key, "state") == b"replied", 10.0,
                       "the orphaned request to be published by the other coordinator")
    req = {k.decode(): v.decode() for k, v in r.hgetall(key).items()}
    assert req["verdict"] == "invalid", req  # 5/6 passed, quorum 6
    assert "at the deadline" in req["reason"], req
    assert int(req["decided_at"]) >= int(req["deadline"]), req
    st = {k.decode(): v.decode() for k, v in r.hgetall(key.replace(b":req", b":st")).items()}
    assert sorted(st) == sorted(c for c in mpiclab.CODES if c != silent), st
    assert set(st.values()) == {"P"}, st
    # the publisher's follow-up is marked done once the audit record is written; the
    # notification XADD goes out before that on the same connection (the due entry itself
    # was removed by the claim, so its absence alone says nothing about the notification)
    mpiclab.wait_until(lambda: r.hexists(key, "post_done"), 10.0,
                       "the publisher's follow-up work (audit record) to be done")
    mpiclab.wait_until(lambda: r.zscore(f"{fleet.key_prefix}:due", rid) is None, 10.0,
                       "no due entry left once the follow-up work is done")
    # the notification went to the dead holder's stream, exactly once
    holder_stream = f"{fleet.key_prefix}:replies:{{{req['holder']}}}"
    assert [e[1][b"r"] for e in r.xrange(holder_stream)] == [rid]
    assert fleet.get("/healthz", coordinator=1).status == 200


GHOST_READ = """
local id = redis.call('XADD', KEYS[1], '*', 'r', ARGV[1])
redis.call('XREADGROUP', 'GROUP', 'reducers', 'ghost', 'COUNT', 1, 'STREAMS', KEYS[1], '>')
return id
"""


def test_results_left_pending_by_a_dead_reducer_are_reclaimed(make_fleet, knot_honest):
    """A result delivered to a reducer that died before acknowledging it (simulated: a
    'ghost' consumer reads it atomically with the XADD and never acks) is taken over with
    XAUTOCLAIM after result_visibility_timeout_ms and still counts for its request."""
    import msgpack
    import redis as redislib

    silent = "ap-northeast-1"
    workers = mpiclab.uniform_workers(knot_honest.address,
                                      codes=[c for c in mpiclab.CODES if c != silent])
    fleet = make_fleet(workers, name="ghost", streams={"result_visibility_timeout_ms": 1000})
    r = redislib.Redis(host="127.0.0.1", port=fleet.redis.port)
    pattern = f"{fleet.key_prefix}:{{*}}:req"
    body = caa_body("permit.mpic.test", orchestration={"perspective_count": 6,
                                                        "quorum_count": 6, "deadline_ms": 6000})
    pool = concurrent.futures.ThreadPoolExecutor(1)
    sender = pool.submit(fleet.post, body, 15.0, 0)
    mpiclab.wait_until(lambda: len(r.keys(pattern)) == 1, 10.0, "the request to be admitted")
    rid = r.keys(pattern)[0].split(b"{")[1].split(b"}")[0].decode()
    details = {"caa_record_present": True, "found_at": "permit.mpic.test",
               "records_seen": ['0 issue "ca.mpic.test"']}
    blob = msgpack.packb({"v": 1, "rid": rid, "att": 1, "p": silent, "ct": "caa",
                          "cr": {"check_completed": True, "check_passed": True, "errors": None,
                                 "timestamp_ns": 1, "check_type": "caa", "details": details}})
    # the fleet seals: the result is sealed with the silent perspective's key, as its worker
    deadline = int(r.hget(r.keys(pattern)[0], "deadline"))
    blob = sealenv.seal(fleet.seal_keys[silent][1], sealenv.DIR_RESULT, 1, deadline, 1, "caa",
                        rid, silent, blob)
    r.eval(GHOST_READ, 1, f"{fleet.key_prefix}:results", blob)
    pending = r.xpending(f"{fleet.key_prefix}:results", "reducers")
    assert {c["name"] for c in pending["consumers"]} >= {b"ghost"}, pending
    resp = sender.result(15)
    pool.shutdown()
    answer = expect_200(resp)
    assert answer["is_valid"] is True, answer  # 6/6, including the reclaimed result
    assert resp.elapsed < 5.0, resp.elapsed  # well before the 6 s deadline
    assert by_code(answer)[silent]["details"] == details
    mpiclab.wait_until(
        lambda: r.xpending(f"{fleet.key_prefix}:results", "reducers")["pending"] == 0, 5.0,
        "the reclaimed result to be acknowledged")
