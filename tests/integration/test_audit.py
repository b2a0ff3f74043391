"""
Audit trail: every published verdict leaves exactly one record in <prefix>:audit (request and
trace id, target, method with BR section and version, cohort with each perspective's RIR,
outcome, errors and what it saw, the quorum "p/n", the verdict); `mpic-coordinator
--export-audit` writes them as JSON Lines and resumes with --since; the records survive a
Redis SIGKILL + restart with AOF on.
"""
import json
import os
import subprocess

import pytest
import redis as redislib

import mpiclab
from mpiclab import by_code, caa_body, expect_200


def export(fleet, since=None):
    argv = [mpiclab.binary("MPIC_COORDINATOR", "mpic-coordinator"), "--config",
            fleet.config_path, "--export-audit"]
    if since:
        argv += ["--since", since]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def audit_records(fleet):
    r = redislib.Redis(host="127.0.0.1", port=fleet.redis.port)
    entries = r.xrange(f"{fleet.key_prefix}:audit")
    return [json.loads(fields[b"a"]) for _, fields in entries]


def loaded(redis):
    try:
        return redislib.Redis(host="127.0.0.1", port=redis.port).ping()
    except (redislib.exceptions.BusyLoadingError, redislib.exceptions.ConnectionError):
        return False


@pytest.fixture(scope="module")
def fleet(make_fleet, knot_honest):
    return make_fleet(mpiclab.uniform_workers(knot_honest.address), name="audit",
                      ncoordinators=2)


def test_one_record_per_verdict_with_everything(fleet):
    answers = {}
    for i, (target, trace) in enumerate([("permit.mpic.test", "t-permit"),
                                         ("deny.mpic.test", "t-deny"),
                                         ("permit.mpic.test", "t-permit-2")]):
        resp = fleet.post(caa_body(target, trace_identifier=trace), coordinator=i % 2)
        answers[resp.headers["X-Mpic-Request-Id"]] = (target, trace, expect_200(resp))
    records = mpiclab.wait_until(
        lambda: (lambda rs: rs if len(rs) >= 3 else None)(audit_records(fleet)), 10.0,
        "three audit records")
    by_rid = {rec["request_id"]: rec for rec in records}
    assert len(records) == len(by_rid) == 3  # exactly once per verdict
    for rid, (target, trace, body) in answers.items():
        rec = by_rid[rid]
        assert rec["trace_identifier"] == trace
        assert rec["domain_or_ip_target"] == target
        assert rec["check_type"] == "caa" and rec["validation_method"] == "caa"
        assert rec["br_section"] == "3.2.2.8" and rec["br_version"] == "TLS BR 2.2.6"
        assert rec["attempt"] == 1
        assert rec["verdict"] == ("valid" if body["is_valid"] else "invalid")
        assert rec["reason"]
        assert rec["created_ms"] <= rec["decided_ms"]
        assert rec["quorum_required"] == body["actual_orchestration_parameters"]["quorum_count"]
        passed = sum(1 for p in body["perspectives"] if p["check_response"]["check_passed"])
        assert rec["quorum"] == f"{passed}/{len(body['perspectives'])}"
        seen = {p["perspective_code"]: p for p in rec["cohort"]}
        assert list(seen) == [p["perspective_code"] for p in body["perspectives"]]
        for code, cr in by_code(body).items():
            entry = seen[code]
            assert entry["rir"] in {"ARIN", "RIPE NCC", "APNIC"}
            assert entry["check_passed"] == cr["check_passed"]
            assert entry["seen"] == cr["details"]  # what the perspective saw
            assert entry["seen"]["records_seen"]
            assert entry["errors"] == cr["errors"]
            assert entry["timestamp_ns"] == cr["timestamp_ns"]
            assert entry["elapsed_ms"] is not None and entry["elapsed_ms"] >= -1000


def test_dcv_record_names_method_and_section(make_fleet, cts_honest, http01_port):
    fleet = make_fleet(mpiclab.uniform_workers(cts_honest.address, http_port=http01_port),
                       name="audit-dcv")
    token = mpiclab.random_token(43)
    cts_honest.add_http01(token, token + ".key")
    resp = fleet.post(mpiclab.http01_body("audit-http.mpic.test", token, token + ".key"))
    body = expect_200(resp)
    rec = mpiclab.wait_until(lambda: (audit_records(fleet) or [None])[0], 10.0, "audit record")
    assert rec["request_id"] == resp.headers["X-Mpic-Request-Id"]
    assert rec["validation_method"] == "acme-http-01" and rec["br_section"] == "3.2.2.4.19"
    assert rec["parameters"]["token"] == token
    assert rec["verdict"] == ("valid" if body["is_valid"] else "invalid")
    for entry in rec["cohort"]:
        assert entry["seen"]["response_history"] is not None or entry["errors"]


def test_export_json_lines_and_resume(fleet):
    before = export(fleet)
    assert before, "the earlier tests wrote records"
    assert all(set(rec) >= {"audit_id", "request_id", "verdict", "cohort", "quorum"}
               for rec in before)
    ids = [rec["audit_id"] for rec in before]
    assert ids == sorted(ids, key=lambda i: tuple(int(x) for x in i.split("-")))
    resp = fleet.post(caa_body("permit.mpic.test", trace_identifier="after-export"))
    expect_200(resp)
    mpiclab.wait_until(lambda: len(audit_records(fleet)) == len(before) + 1, 10.0,
                       "one more audit record")
    newer = export(fleet, since=ids[-1])
    assert [rec["trace_identifier"] for rec in newer] == ["after-export"]
    assert export(fleet, since=newer[-1]["audit_id"]) == []


def test_winner_writes_the_record_after_script_flush(fleet):
    """The publication and the read of the request travel in one round trip behind the
    finalize; after SCRIPT FLUSH the scripts are reloaded (NOSCRIPT, EVAL) and their replies
    come after the read. The coordinator that published must still write the audit record
    itself, at once, not leave it to the takeover 3 command timeouts (6 s) later."""
    r = redislib.Redis(host="127.0.0.1", port=fleet.redis.port)
    for i in range(3):
        before = len(audit_records(fleet))
        r.script_flush()
        resp = fleet.post(caa_body("permit.mpic.test", trace_identifier=f"flushed-{i}"),
                          coordinator=i % 2)
        body = expect_200(resp)
        assert body["is_valid"] is True, body
        rid = resp.headers["X-Mpic-Request-Id"]
        records = mpiclab.wait_until(
            lambda: [x for x in audit_records(fleet)[before:] if x["request_id"] == rid],
            4.5, "the audit record written by the publishing coordinator")
        assert len(records) == 1 and records[0]["trace_identifier"] == f"flushed-{i}"
        # post_done is set one round trip after the audit XADD returns: by this coordinator,
        # well before a takeover (6 s) could
        mpiclab.wait_until(lambda: r.hget(f"{fleet.key_prefix}:{{{rid}}}:req", "post_done"),
                           1.0, "the publisher to mark its follow-up work done")


def test_export_fails_clearly_without_redis(workdir):
    src = os.environ.get("MPIC_SOURCE_DIR", os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))
    with open(os.path.join(src, "deploy", "mpic.example.json")) as f:
        cfg = json.load(f)
    cfg["redis"]["address"] = f"127.0.0.1:{mpiclab.free_port()}"
    path = os.path.join(workdir, "audit-noredis.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    out = subprocess.run([mpiclab.binary("MPIC_COORDINATOR", "mpic-coordinator"), "--config",
                          path, "--export-audit"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "cannot connect to Redis" in out.stderr


def test_records_survive_redis_restart_with_aof(workdir, make_fleet, knot_honest):
    redis = mpiclab.RedisServer(workdir, name="redis-aof", aof=True).start()
    try:
        fleet = make_fleet(mpiclab.uniform_workers(knot_honest.address), redis=redis,
                           name="audit-aof")
        rids = []
        for target in ("permit.mpic.test", "deny.mpic.test"):
            resp = fleet.post(caa_body(target))
            expect_200(resp)
            rids.append(resp.headers["X-Mpic-Request-Id"])
        mpiclab.wait_until(lambda: len(audit_records(fleet)) == 2, 10.0, "two audit records")
        redis.kill()  # SIGKILL: only what the AOF holds comes back
        redis.start()
        mpiclab.wait_until(lambda: loaded(redis), 10.0, "Redis to load its AOF")
        assert sorted(rec["request_id"] for rec in audit_records(fleet)) == sorted(rids)
        assert sorted(rec["request_id"] for rec in export(fleet)) == sorted(rids)
        # the fleet reconnects and keeps auditing
        resp = mpiclab.wait_until(
            lambda: (lambda r: r if r.status == 200 else None)(
                fleet.post(caa_body("permit.mpic.test"))), 20.0, "a verdict after restart")
        mpiclab.wait_until(lambda: len(audit_records(fleet)) == 3, 10.0, "a third record")
        assert resp.headers["X-Mpic-Request-Id"] in {r["request_id"]
                                                     for r in audit_records(fleet)}
    finally:
        redis.stop()
