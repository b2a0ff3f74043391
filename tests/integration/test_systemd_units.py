"""
deploy/systemd: systemd-analyze verify (systemd 252, Debian 12) accepts the coordinator unit
and worker instances without a warning, in a scratch root holding the system's units, the
binaries under test at the units' paths and our units in /etc/systemd/system. A plain and a
pool instance name are loaded (the colon of us-east-1:2 cannot be given to verify, which reads
FILE:ALIAS, so the pool instance is spelled with its escape \\x3a).
"""
import os
import shutil
import subprocess

from mpiclab import binary

SRC = os.environ.get("MPIC_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
UNITS = os.path.join(SRC, "deploy", "systemd")


def scratch_root(tmp_path):
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "usr/local/bin").mkdir(parents=True)
    for env, name in (("MPIC_COORDINATOR", "mpic-coordinator"), ("MPIC_WORKER", "mpic-worker")):
        shutil.copy(binary(env, name), root / "usr/local/bin" / name)
    (root / "etc/systemd/system").mkdir(parents=True)
    for unit in os.listdir(UNITS):
        shutil.copy(os.path.join(UNITS, unit), root / "etc/systemd/system" / unit)
    return root


def verify(root, unit):
    return subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", unit],
                          capture_output=True, text=True, timeout=60)


def test_units_verify_cleanly(tmp_path):
    assert sorted(os.listdir(UNITS)) == ["mpic-coordinator.service", "mpic-worker@.service"]
    root = scratch_root(tmp_path)
    for unit in ("mpic-coordinator.service", "mpic-worker@us-east-1.service",
                 "mpic-worker@us-east-1\\x3a2.service"):
        out = verify(root, unit)
        assert out.returncode == 0 and out.stdout + out.stderr == "", (unit, out)


def test_verify_reports_a_broken_unit(tmp_path):
    """The check above can fail: a misspelt key and a missing binary are reported."""
    root = scratch_root(tmp_path)
    unit = root / "etc/systemd/system/mpic-coordinator.service"
    unit.write_text(unit.read_text().replace("Restart=always", "Restrt=always"))
    out = verify(root, "mpic-coordinator.service")
    assert "Unknown key" in out.stderr and "Restrt" in out.stderr, out
    os.remove(root / "usr/local/bin/mpic-worker")
    out = verify(root, "mpic-worker@us-east-1.service")
    assert out.returncode != 0 and "mpic-worker" in out.stderr, out


def test_units_raise_the_fd_limit_and_stop_within_the_drain():
    with open(os.path.join(UNITS, "mpic-coordinator.service")) as f:
        coord = f.read()
    with open(os.path.join(UNITS, "mpic-worker@.service")) as f:
        worker = f.read()
    for text in (coord, worker):
        assert "\nLimitNOFILE=65536\n" in text and "\nKillSignal=SIGTERM\n" in text
    # coordinator drain: held requests end by coordinator.max_deadline_ms (60 s by default)
    assert "\nTimeoutStopSec=75\n" in coord
    # worker drain: running checks get 5 s
    assert "\nTimeoutStopSec=15\n" in worker
    assert "--perspective %i $MPIC_WORKER_ARGS" in worker
    assert "EnvironmentFile=-/etc/mpic/worker-%i.env" in worker
