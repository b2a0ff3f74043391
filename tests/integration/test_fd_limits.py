"""
Running out of file descriptors. Both binaries raise their soft open-file limit to the hard one
and fit their caps into it (coordinator.max_connections, worker.max_inflight_jobs, each minus 64
reserved); when accept() still fails for want of descriptors, the listener pauses 100 ms at a
time instead of retrying at once (which spun a core and logged ~100,000 lines a second), and
serves again once descriptors are free. Processes run under prlimit with a hard limit of 128.
"""
import os
import socket
import time

import mpiclab
from mpiclab import Process, binary, caa_body, expect_200, free_port, wait_until

LIMIT = 128


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nofile(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no open-file limit in /proc/PID/limits")


def flood(port, n):
    """n idle TCP connections to port (the kernel completes them whether accepted or not)."""
    conns = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        conns.append(s)
    return conns


def log_text(proc):
    with open(proc.log_path, errors="replace") as f:
        return f.read()


def limited(name, argv, workdir, kind):
    """argv under prlimit: soft 64, hard LIMIT (the process raises soft to hard itself)."""
    return Process(name, ["prlimit", f"--nofile=64:{LIMIT}", *argv], workdir, kind=kind)


def test_worker_listener_pauses_when_out_of_fds_and_serves_again(workdir, redis_server,
                                                                 knot_honest):
    fleet = mpiclab.Fleet(workdir, redis_server, {}, name="fdw")
    port = free_port()
    w = limited("fdw-worker", [binary("MPIC_WORKER", "mpic-worker"), "--config",
                               fleet.config_path, "--perspective", "us-east-1",
                               "--resolver", knot_honest.address, "--listen",
                               f"127.0.0.1:{port}"], workdir, "worker").start()
    conns = []
    try:
        w.wait_for_http("127.0.0.1", port, "/healthz", 200, 15.0)
        assert nofile(w.pid) == (LIMIT, LIMIT)
        log = log_text(w)
        assert f"worker.max_inflight_jobs 1000 exceeds what the open-file limit {LIMIT}" in log
        assert f"open-file limit {LIMIT}, worker.max_inflight_jobs {LIMIT - 64}" in log
        conns = flood(port, 2 * LIMIT)  # evhttp keeps each one: the limit is reached
        wait_until(lambda: "accept failed (Too many open files)" in log_text(w), 10,
                   "the worker to log the failed accept")
        before = cpu_seconds(w.pid)
        time.sleep(1.0)  # measuring an idle period: nothing to wait for
        spent = cpu_seconds(w.pid) - before
        assert spent < 0.3, f"worker used {spent:.2f} s of CPU in 1 s while out of descriptors"
        assert log_text(w).count("accept failed") == 1
        for s in conns:
            s.close()
        conns = []
        w.wait_for_http("127.0.0.1", port, "/healthz", 200, 15.0)
        wait_until(lambda: "accepting again after" in log_text(w), 10,
                   "the worker to log the end of the episode")
        assert w.alive()
        text = mpiclab.http_request("127.0.0.1", port, "GET", "/metrics", timeout=10).body
        text = text.decode() if isinstance(text, bytes) else text
        pauses = [ln for ln in text.splitlines() if ln.startswith("mpic_http_accept_pauses_total ")]
        assert pauses and float(pauses[0].split()[-1]) >= 1, pauses
    finally:
        for s in conns:
            s.close()
        assert w.stop() == 0


def test_coordinator_fits_connections_into_its_fd_limit_and_keeps_serving(
        workdir, redis_server, knot_honest):
    fleet = mpiclab.Fleet(workdir, redis_server, mpiclab.uniform_workers(knot_honest.address),
                          name="fdc")
    port = fleet.coordinator_ports[0]
    coord = None
    conns = []
    try:
        for code, opts in fleet.worker_opts.items():
            fleet.start_worker(code, opts[0], wait=True)
        coord = limited("fdc-coordinator", [binary("MPIC_COORDINATOR", "mpic-coordinator"),
                                            "--config", fleet.config_path],
                        workdir, "coordinator").start()
        coord.wait_for_http("127.0.0.1", port, "/healthz", 200, 15.0)
        assert nofile(coord.pid) == (LIMIT, LIMIT)
        log = log_text(coord)
        assert f"coordinator.max_connections 4096 exceeds what the open-file limit {LIMIT}" in log
        assert f"open-file limit {LIMIT}, coordinator.max_connections {LIMIT - 64}" in log

        conns = flood(port, 3 * LIMIT)
        before = cpu_seconds(coord.pid)
        time.sleep(1.0)  # measuring an idle period: nothing to wait for
        spent = cpu_seconds(coord.pid) - before
        assert spent < 0.3, f"coordinator used {spent:.2f} s of CPU in 1 s under the flood"
        assert log_text(coord).count("accept failed") <= 1
        for s in conns:
            s.close()
        conns = []
        coord.wait_for_http("127.0.0.1", port, "/healthz", 200, 15.0)
        body = expect_200(mpiclab.http_request("127.0.0.1", port, "POST", "/mpic",
                                               caa_body("permit.mpic.test"), timeout=30))
        assert body["is_valid"] is True, body
        text = mpiclab.http_request("127.0.0.1", port, "GET", "/metrics", timeout=10).body
        text = text.decode() if isinstance(text, bytes) else text
        closed = [ln for ln in text.splitlines()
                  if ln.startswith('mpic_http_connections_closed_total{reason="max_connections"}')]
        assert closed and float(closed[0].split()[-1]) >= LIMIT, closed
        assert any(ln.startswith("mpic_http_accept_pauses_total ") for ln in text.splitlines())
    finally:
        for s in conns:
            s.close()
        if coord is not None:
            assert coord.stop() == 0
        fleet.stop()
