"""
Shared fixtures of the integration suites (each test file runs in its own pytest process, so
"session" means "this file"): a temp dir for logs, one redis-server, the honest and evil knotd
and challtestsrv worlds (started lazily, only if a test asks), fleet factories, and a hook that
prints the tails of the coordinator/worker logs when a test fails.
"""
import os
import shutil
import tempfile
import time

import pytest

import mpiclab


@pytest.fixture(scope="session")
def workdir(request):
    path = tempfile.mkdtemp(prefix="mpic-it-")
    yield path
    if request.session.testsfailed == 0 and not os.environ.get("MPIC_IT_KEEP"):
        shutil.rmtree(path, ignore_errors=True)
    else:
        print(f"\nmpic integration logs kept in {path}")


@pytest.fixture(scope="session")
def redis_server(workdir):
    r = mpiclab.RedisServer(workdir).start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def knot_honest(workdir):
    k = mpiclab.Knot(workdir, "honest",
                     extra_records={"mpic.test": mpiclab.big_caa_lines("big")}).start()
    yield k
    k.stop()


@pytest.fixture(scope="session")
def knot_evil(workdir):
    k = mpiclab.Knot(workdir, "evil").start()
    yield k
    k.stop()


@pytest.fixture(scope="session")
def http01_port():
    """One port number free on both 127.0.0.1 and 127.0.0.2 (the workers' lab HTTP port)."""
    return mpiclab.free_port(("127.0.0.1", "127.0.0.2"))


@pytest.fixture(scope="session")
def cts_honest(workdir, http01_port):
    c = mpiclab.ChallTestSrv(workdir, "127.0.0.1", http01_port, name="cts-honest").start()
    yield c
    c.stop()


@pytest.fixture(scope="session")
def cts_evil(workdir, http01_port):
    c = mpiclab.ChallTestSrv(workdir, "127.0.0.2", http01_port, name="cts-evil").start()
    yield c
    c.stop()


@pytest.fixture(scope="session")
def make_fleet(workdir, redis_server):
    """make_fleet(workers, **kw) -> a started Fleet, stopped at the end of the file."""
    fleets = []

    def make(workers, redis=None, **kw):
        f = mpiclab.Fleet(workdir, redis or redis_server, workers, **kw)
        fleets.append(f)
        return f.start()

    yield make
    for f in fleets:
        f.stop()


@pytest.fixture(scope="session")
def fleet_pool(make_fleet):
    return mpiclab.FleetPool(make_fleet)


def pytest_runtest_setup(item):
    item.mpic_t0 = time.monotonic()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    t0 = getattr(item, "mpic_t0", 0.0)
    for p in mpiclab.ALL_PROCESSES:
        if p.kind not in ("coordinator", "worker"):
            continue
        if p.stopped_at is not None and p.stopped_at < t0:
            continue
        state = "running" if p.alive() else f"exited {p.popen.returncode}"
        rep.sections.append((f"log tail {p.name} (pid {p.pid}, {state}) {p.log_path}",
                             mpiclab.tail(p.log_path, 25)))
