"""Every alert rule is proven: `promtool test rules` runs infra/prometheus/tests/, and each alert of
infra/prometheus/rules/ has a case that fires it and a case where it must stay quiet."""

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

PROMETHEUS = Path(__file__).resolve().parents[2] / "infra" / "prometheus"
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.yml"))


def alert_names() -> set[str]:
    return {
        rule["alert"]
        for path in sorted((PROMETHEUS / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def cases() -> dict[str, set[str]]:
    """Per alert name, which kinds of case test it: 'fires' (expects alerts), 'quiet' (expects none)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for check in test.get("alert_rule_test", []):
                found[check["alertname"]].add("fires" if check.get("exp_alerts") else "quiet")
    return found


def test_promtool_passes_every_rule_test() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: run scripts/install-system-deps.sh")
    assert TEST_FILES, "no rule tests found"
    result = subprocess.run(
        [promtool, "test", "rules", *map(str, TEST_FILES)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    tested = cases()
    missing = {name: {"fires", "quiet"} - tested[name] for name in alert_names()}
    assert {name: sorted(kinds) for name, kinds in missing.items() if kinds} == {}
    assert set(tested) <= alert_names(), "cases name an alert no rule defines"
