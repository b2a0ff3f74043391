"""
deploy/prometheus: the alerting rules pass `promtool check rules`, their unit tests pass
`promtool test rules` (an anomaly gauge, a disagreement rate, a security alert, a stuck
consumer, Redis near its maxmemory), and every mpic metric they reference is one the coordinator or worker exports
(names taken from the C sources, so a rename cannot silently break an alert).
"""
import os
import re
import subprocess

SRC = os.environ.get("MPIC_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RULES_DIR = os.path.join(SRC, "deploy", "prometheus")
RULES = os.path.join(RULES_DIR, "mpic-alerts.yml")


def promtool(*args):
    out = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120,
                         cwd=RULES_DIR)
    return out.returncode, out.stdout + out.stderr


def test_rules_are_valid():
    rc, out = promtool("check", "rules", RULES)
    assert rc == 0, out
    assert "SUCCESS" in out


def test_rule_unit_tests_pass():
    rc, out = promtool("test", "rules", "mpic-alerts.test.yml")
    assert rc == 0, out
    assert "SUCCESS" in out


def test_rules_reference_exported_metrics():
    exported = set()
    for path in ("coordinator/cmetrics.c", "worker/wmetrics.c", "common/metrics.c"):
        with open(os.path.join(SRC, path)) as f:
            exported |= set(re.findall(r'"(mpic_[a-z_]+)', f.read()))
    with open(RULES) as f:
        rules = f.read()
    used = set(re.findall(r"\b(mpic_[a-z_]+)\b", rules))
    assert used, "no mpic metric referenced"
    for name in used:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in exported or base in exported, f"{name} is not exported"
