"""
Scale-out: two mpic-coordinator processes on the same key_prefix (one shared set of streams,
one reducer consumer group) both answer; concurrent requests spread over both are all decided
correctly, whichever coordinator's reducer records and finalizes them. Also: a coordinator
stopped with SIGTERM exits 0 while the other keeps serving.
"""
import concurrent.futures

import pytest

import mpiclab
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
