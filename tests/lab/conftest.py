"""
The lab scenario suite runs against ONE namespace lab (deploy/lab) for the whole session: it is
started before the first test and torn down after the last, under a prefix unique to this run
so parallel runs never collide. Needs root (network namespaces); CI runs it as root.
"""
import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "deploy", "lab"))

import lab as labmod  # noqa: E402


@pytest.fixture(scope="session")
def lab(request):
    if os.geteuid() != 0:
        pytest.fail("the lab suite needs root (ip netns); run it as root as CI does")
    the_lab = labmod.Lab(prefix=f"mplt{os.getpid()}")
    the_lab.up()
    yield the_lab
    the_lab.down()
    if request.session.testsfailed == 0 and not os.environ.get("MPIC_LAB_KEEP"):
        shutil.rmtree(the_lab.state_dir, ignore_errors=True)
    else:
        print(f"\nlab logs kept in {the_lab.state_dir}/logs")


@pytest.fixture(autouse=True)
def clean_network(lab):
    """Every test starts and ends with no hijack and no emulated distance."""
    lab.restore()
    lab.delay({})
    yield
    lab.restore()
    lab.delay({})
