"""
The sealed perspective channel through the real pipeline (the fleet seals by default). The
test plays an attacker with write access to Redis: with the workers of four perspectives
stopped, it writes results for them straight into the results stream while a request is open:
an unsealed forged pass, a genuine sealed result of an earlier request replayed under this
request's id, a pass sealed with another perspective's key, a correctly sealed pass with one
tampered byte, a late one. Each is rejected, counted as a failed perspective with an
mpic_error:seal:* error, and the verdict is the one the honest perspectives alone give.
A control case shows that correctly sealed results written the same way do count, and a
forged unsealed job is refused by the worker.
"""
import threading
import time

import pytest
import redis

import mpiclab
import sealenv
from mpiclab import by_code, caa_body

TARGET = "quorum.mpic.test"  # CAA permits ca.mpic.test in the honest zone
DOWN = ["us-west-2", "ca-central-1", "eu-central-1", "ap-northeast-1"]
UP = ["us-east-1", "us-south-1"]


@pytest.fixture(scope="module")
def lab(make_fleet, knot_honest, redis_server):
    """A sealed fleet; one genuine request R0 captured; then DOWN's workers stopped."""
    fleet = make_fleet(mpiclab.uniform_workers(knot_honest.address), name="seal",
                       coordinator={"deadline_ms": 20000})
    r = redis.Redis(host="127.0.0.1", port=redis_server.port)
    resp = fleet.post(caa_body(TARGET))
    body = mpiclab.expect_200(resp)
    assert body["is_valid"] is True, body
    results_key = f"{fleet.key_prefix}:results"
    genuine = {}
    for _id, fields in r.xrange(results_key):
        env = fields[b"r"]
        h = sealenv.parse(env)
        genuine[h["perspective"]] = env
    assert set(genuine) == set(mpiclab.CODES), genuine.keys()
    for code in DOWN:
        fleet.workers[code][0].stop()
    yield {"fleet": fleet, "redis": r, "genuine": genuine, "results": results_key}
    r.close()


def test_jobs_and_results_are_sealed(lab):
    """Nothing readable crosses Redis: every job and result is an envelope, target unseen."""
    r, fleet = lab["redis"], lab["fleet"]
    for code in mpiclab.CODES:
        entries = r.xrange(f"{fleet.key_prefix}:jobs:{{{code}}}")
        assert entries, code
        for _id, fields in entries:
            assert fields[b"j"].startswith(b"MPSL"), fields
            assert TARGET.encode() not in fields[b"j"]
            h = sealenv.parse(fields[b"j"])
            # jobs carry the request id as 16 bytes (version 2); results stay version 1
            assert h["dir"] == sealenv.DIR_JOB and h["version"] == 2, h
            assert h["rid"].encode() not in fields[b"j"]
    for env in lab["genuine"].values():
        h = sealenv.parse(env)
        assert h["dir"] == sealenv.DIR_RESULT and h["key_id"] == 1 and h["version"] == 1
        assert b"check_passed" not in env
        # only the perspective's own key opens it
        plain = sealenv.open_(lab["fleet"].seal_keys[h["perspective"]][1], env)
        assert b"check_passed" in plain


def last_ids(r, fleet):
    out = {}
    for code in DOWN:
        top = r.xrevrange(f"{fleet.key_prefix}:jobs:{{{code}}}", count=1)
        out[code] = top[0][0] if top else b"0-0"
    return out


def post_and_capture_jobs(lab, body):
    """POSTs in a thread; returns (thread, holder, {code: job header}) once DOWN's jobs exist."""
    r, fleet = lab["redis"], lab["fleet"]
    before = last_ids(r, fleet)
    holder = {}

    def run():
        holder["resp"] = fleet.post(body, timeout=60.0)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    headers = {}

    def jobs_written():
        for code in DOWN:
            if code in headers:
                continue
            new = r.xrange(f"{fleet.key_prefix}:jobs:{{{code}}}", min=b"(" + before[code])
            if new:
                headers[code] = sealenv.parse(new[-1][1][b"j"])
        return len(headers) == len(DOWN)

    mpiclab.wait_until(jobs_written, 15.0, "jobs for the stopped perspectives")
    return t, holder, headers


def finish(t, holder):
    t.join(60.0)
    assert not t.is_alive(), "no answer"
    return mpiclab.expect_200(holder["resp"])


def sealed_pass(lab, key_code, claimed, h, expiry_ms=None, key_id=1):
    key = lab["fleet"].seal_keys[key_code][key_id]
    msg = sealenv.result_msg(h["rid"], h["attempt"], claimed, "caa",
                             sealenv.passing_caa_response())
    return sealenv.seal(key, sealenv.DIR_RESULT, key_id,
                        h["expiry_ms"] if expiry_ms is None else expiry_ms, h["attempt"],
                        "caa", h["rid"], claimed, msg)


def seal_errors(cr):
    return [e["error_type"] for e in cr.get("errors") or []
            if e["error_type"].startswith("mpic_error:seal:")]


def coordinator_log(lab):
    with open(lab["fleet"].coordinators[0].log_path, encoding="utf-8", errors="replace") as f:
        return f.read()


def test_forged_replayed_foreign_and_tampered_results_are_rejected(lab):
    r = lab["redis"]
    t, holder, jobs = post_and_capture_jobs(lab, caa_body(TARGET))
    # garbage that names nothing: dropped, must not disturb anything
    r.xadd(lab["results"], {"r": b"\x00not an envelope"})
    # 1. forged: a plain (unsealed) result claiming a pass
    h = jobs["us-west-2"]
    r.xadd(lab["results"], {"r": sealenv.result_msg(h["rid"], h["attempt"], "us-west-2", "caa",
                                                    sealenv.passing_caa_response())})
    # 2. replayed: ca-central-1's genuine sealed pass of R0, moved to this request
    h = jobs["ca-central-1"]
    r.xadd(lab["results"], {"r": sealenv.rewrite_header(lab["genuine"]["ca-central-1"],
                                                        rid=h["rid"], attempt=h["attempt"],
                                                        expiry_ms=h["expiry_ms"])})
    # 3. another perspective's key: us-east-1's key sealing a pass that claims eu-central-1
    h = jobs["eu-central-1"]
    r.xadd(lab["results"], {"r": sealed_pass(lab, "us-east-1", "eu-central-1", h)})
    # 4. tampered: a correct seal with one ciphertext byte flipped
    h = jobs["ap-northeast-1"]
    env = bytearray(sealed_pass(lab, "ap-northeast-1", "ap-northeast-1", h))
    env[len(env) - 30] ^= 0x01
    r.xadd(lab["results"], {"r": bytes(env)})

    body = finish(t, holder)
    results = by_code(body)
    assert body["is_valid"] is False, body  # only the 2 honest perspectives passed
    for code in UP:
        assert results[code]["check_passed"] is True, (code, results[code])
    expected = {"us-west-2": "mpic_error:seal:unsealed", "ca-central-1": "mpic_error:seal:auth",
                "eu-central-1": "mpic_error:seal:auth",
                "ap-northeast-1": "mpic_error:seal:auth"}
    for code, etype in expected.items():
        assert results[code]["check_passed"] is False, (code, results[code])
        assert seal_errors(results[code]) == [etype], (code, results[code])
    log = coordinator_log(lab)
    assert "rejected (malformed" in log or "claims no request" in log
    for code in DOWN:
        assert f"perspective {code} counts as failed" in log


def test_correctly_sealed_results_count_and_late_ones_do_not(lab):
    """Control: the same injection path with genuine seals is accepted (the rejections above
    are the seal's doing), except a result whose sealed expiry has passed."""
    r = lab["redis"]
    t, holder, jobs = post_and_capture_jobs(lab, caa_body(TARGET))
    for code in DOWN[:3]:
        r.xadd(lab["results"], {"r": sealed_pass(lab, code, code, jobs[code])})
    late = jobs["ap-northeast-1"]
    r.xadd(lab["results"], {"r": sealed_pass(lab, "ap-northeast-1", "ap-northeast-1", late,
                                             expiry_ms=int(time.time() * 1000) - 1)})
    body = finish(t, holder)
    results = by_code(body)
    assert body["is_valid"] is True, body  # 5 of 6 pass
    for code in UP + DOWN[:3]:
        assert results[code]["check_passed"] is True, (code, results[code])
    assert seal_errors(results["ap-northeast-1"]) == ["mpic_error:seal:expired"], results


def test_replay_of_a_decided_request_changes_nothing(lab):
    """A verbatim copy of a genuine result of an answered request is ignored (closed)."""
    r, fleet = lab["redis"], lab["fleet"]
    n_before = r.xlen(lab["results"])
    r.xadd(lab["results"], {"r": lab["genuine"]["us-east-1"]})
    # the reducer consumed it: the group's pending list drains and the coordinator is healthy
    mpiclab.wait_until(lambda: r.xpending(lab["results"], "reducers")["pending"] == 0, 15.0,
                       "the replayed result to be processed")
    assert r.xlen(lab["results"]) == n_before + 1
    resp = fleet.get("/healthz")
    assert resp.status == 200, resp


def test_worker_refuses_unsealed_job(lab):
    r, fleet = lab["redis"], lab["fleet"]
    import msgpack
    job = msgpack.packb({"v": 1, "rid": "f" * 32, "att": 1, "p": "us-east-1", "ct": "caa",
                         "tgt": TARGET, "wc": False, "dl": int(time.time() * 1000) + 60000,
                         "tid": None, "prm": {}}, use_bin_type=True)
    n_results = r.xlen(lab["results"])
    r.xadd(f"{fleet.key_prefix}:jobs:{{us-east-1}}", {"j": job})
    worker = fleet.workers["us-east-1"][0]

    def refused():
        with open(worker.log_path, encoding="utf-8", errors="replace") as f:
            return "rejected (unsealed" in f.read()

    mpiclab.wait_until(refused, 15.0, "the worker to refuse the unsealed job")
    assert r.xlen(lab["results"]) == n_results  # it never ran the check


def test_worker_runs_jobs_sealed_in_either_version(lab):
    """A job sealed in version 1 (by a coordinator from before the compact request id) runs
    like a version 2 one: the worker answers both with a sealed result for that id."""
    r, fleet = lab["redis"], lab["fleet"]
    import msgpack
    code = "us-east-1"
    key = fleet.seal_keys[code][1]
    deadline = int(time.time() * 1000) + 60000
    rids = {1: "e" * 32, 2: "d" * 32}
    start = r.xrevrange(lab["results"], count=1)[0][0]
    for version, rid in rids.items():
        body = msgpack.packb({"v": 1, "tgt": TARGET, "prm": {"caa_domains": ["ca.mpic.test"]}},
                             use_bin_type=True)
        env = sealenv.seal(key, sealenv.DIR_JOB, 1, deadline, 1, "caa", rid, code, body,
                           version=version)
        assert sealenv.parse(env)["version"] == version
        r.xadd(f"{fleet.key_prefix}:jobs:{{{code}}}", {"j": env})

    def answered():
        got = {}
        for _id, fields in r.xrange(lab["results"], min=b"(" + start):
            h = sealenv.parse(fields[b"r"])
            if h["rid"] in rids.values():
                got[h["rid"]] = msgpack.unpackb(sealenv.open_(key, fields[b"r"]), raw=False)
        return got if len(got) == 2 else None
    got = mpiclab.wait_until(answered, 15.0, "results for both jobs")
    for rid, res in got.items():
        assert res["rid"] == rid and res["p"] == code, res
        assert res["cr"]["check_completed"] is True, res
