"""Prometheus config and alert rules pass promtool, and every metric a rule or a dashboard names is
exported by some service's metrics registry."""

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.registry import Collector

import services.features.metrics
import services.gateway.metrics
import services.monitoring.metrics
import services.scoring.metrics  # noqa: F401  (the imports register the services' metrics)
from services.explainer.metrics import QueueDepth
from services.explainer.settings import ExplainerSettings
from services.monitoring.collector import MonitoringCollector
from services.monitoring.settings import MonitoringSettings

INFRA = Path(__file__).resolve().parents[2] / "infra"
PROMETHEUS = INFRA / "prometheus"
DASHBOARDS = INFRA / "grafana" / "dashboards"
BUILTIN = {"up"}  # series Prometheus itself writes for every target
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "inf", "nan", "le",
}  # fmt: skip
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "info": ("_info",)}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not found: run scripts/install-system-deps.sh")
    return found


def test_promtool_accepts_the_config_and_the_rules() -> None:
    config = subprocess.run(
        [promtool(), "check", "config", str(PROMETHEUS / "prometheus.yml")], capture_output=True, text=True
    )
    assert config.returncode == 0, config.stdout + config.stderr
    rules = subprocess.run(
        [promtool(), "check", "rules", *map(str, sorted((PROMETHEUS / "rules").glob("*.yml")))],
        capture_output=True,
        text=True,
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr


def metric_names(expr: str) -> set[str]:
    """Series names in a PromQL expression: identifiers that are not functions, keywords or label names."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range durations
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        following = expr[match.end() :].lstrip()[:1]
        if following != "(" and match.group() not in PROMQL_WORDS:
            names.add(match.group())
    return names


def rule_expressions() -> Iterator[str]:
    for path in sorted((PROMETHEUS / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                yield rule["expr"]


def dashboard_expressions() -> Iterator[str]:
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                yield target["expr"]


def exported(collectors: list[Collector]) -> set[str]:
    """Every series name the collectors can produce (counters as _total, histograms as _bucket...)."""
    names = set()
    for collector in collectors:
        for family in collector.describe() if collector is not REGISTRY else collector.collect():
            names.add(family.name)
            names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
    return names


def test_metric_name_extraction() -> None:
    expr = 'sum by (le) (rate(a_bucket{route=~"/v1.*"}[5m])) / on(job) b_total > 0.3 and time() - c'
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}


def test_every_metric_a_rule_or_dashboard_names_is_exported() -> None:
    collectors = [REGISTRY, MonitoringCollector(MonitoringSettings()), QueueDepth(ExplainerSettings())]
    available = exported(collectors) | BUILTIN
    named = set().union(*map(metric_names, [*rule_expressions(), *dashboard_expressions()]))
    assert named, "no metric found in rules and dashboards"
    assert named - available == set()


def test_every_dashboard_is_provisioned_with_the_prometheus_datasource() -> None:
    datasource = yaml.safe_load((INFRA / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    boards = sorted(DASHBOARDS.glob("*.json"))
    assert {p.stem for p in boards} == {"service-health", "decisions", "drift", "performance", "fairness"}
    for path in boards:
        board = json.loads(path.read_text())
        assert all(panel["datasource"]["uid"] == uid for panel in board["panels"]), path.name
