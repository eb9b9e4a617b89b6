"""Prometheus metrics read from Postgres at scrape time: drift, decisions, realised performance, fairness.

The drift job runs in a Celery worker or the CLI, not in this process, so its figures are exported from
what it stored. A snapshot is cached for `stats_cache_s` so several scrapers cost one set of queries.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import closing

import psycopg2
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.monitoring.fairness import min_ratios
from services.monitoring.settings import MonitoringSettings
from services.monitoring.stats import Snapshot, snapshot

logger = logging.getLogger(__name__)

GAUGES: dict[str, tuple[str, list[str]]] = {
    "monitoring_stats_up": ("1 when the figures below could be read from Postgres", []),
    "monitoring_drift_share": ("Share of features drifted in the latest successful drift run", []),
    "monitoring_drifted_features": ("Features drifted in the latest successful drift run", []),
    "monitoring_drift_features_tested": ("Features tested in the latest successful drift run", []),
    "monitoring_dataset_drift": ("1 when the latest successful run found dataset drift", []),
    "monitoring_score_psi": ("PSI of the PD distribution, window vs reference, latest successful run", []),
    "monitoring_feature_drift_score": (
        "Drift score of the most drifted features in the latest successful run",
        ["feature", "stattest"],
    ),
    "monitoring_drift_last_success_timestamp_seconds": ("When the latest successful drift run ended", []),
    "monitoring_drift_job_duration_seconds": ("Duration of the latest drift run", ["status"]),
    "monitoring_window_decisions": ("Decisions logged in the statistics window", []),
    "monitoring_approval_rate": ("Share of approvals in the statistics window", []),
    "monitoring_mean_pd": ("Mean PD of decisions in the statistics window", []),
    "monitoring_outcomes_matched": ("Decisions in the performance window with a known outcome", []),
    "monitoring_realised_default_rate": ("Default rate of decisions with a known outcome", []),
    "monitoring_realised_auc": ("AUC of PD against known outcomes", []),
    "monitoring_realised_cost_per_decision": ("Business cost per decision with a known outcome", []),
    "monitoring_fairness_approval_rate": ("Approval rate by group", ["attribute", "group"]),
    "monitoring_fairness_approval_ratio": (
        "Group approval rate over the best group's (four-fifths rule)",
        ["attribute", "group"],
    ),
    "monitoring_fairness_min_approval_ratio": ("Worst group approval ratio per attribute", ["attribute"]),
}
COUNTERS: dict[str, tuple[str, list[str]]] = {
    "monitoring_drift_runs": ("Drift runs recorded, by status (ok, skipped, failed)", ["status"]),
}


class MonitoringCollector(Collector):
    def __init__(self, settings: MonitoringSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._cached: tuple[float, Snapshot] | None = None

    def describe(self) -> Iterator[Metric]:
        """Names without samples: lets the registry (and tests) know every metric without a database."""
        for name, (doc, labels) in GAUGES.items():
            yield GaugeMetricFamily(name, doc, labels=labels)
        for name, (doc, labels) in COUNTERS.items():
            yield CounterMetricFamily(name, doc, labels=labels)

    def collect(self) -> Iterator[Metric]:
        families = {
            name: GaugeMetricFamily(name, doc, labels=labels) for name, (doc, labels) in GAUGES.items()
        }
        runs = CounterMetricFamily(
            "monitoring_drift_runs", COUNTERS["monitoring_drift_runs"][0], labels=["status"]
        )
        current = self._snapshot()
        families["monitoring_stats_up"].add_metric([], 0.0 if current is None else 1.0)
        if current is not None:
            fill(families, current)
            for status in ("ok", "skipped", "failed"):
                runs.add_metric([status], current.runs_by_status.get(status, 0))
        yield from families.values()
        yield runs

    def _snapshot(self) -> Snapshot | None:
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.settings.stats_cache_s:
                return self._cached[1]
            try:
                with closing(psycopg2.connect(self.settings.database_url)) as conn:
                    current = snapshot(conn, self.settings)
            except psycopg2.Error as error:
                logger.warning("monitoring statistics unavailable: %s", error)
                return None
            self._cached = (time.monotonic(), current)
            return current


def fill(families: dict[str, GaugeMetricFamily], current: Snapshot) -> None:
    """Add a sample for every figure that is known; unknown ones (no run, no outcome yet) stay absent."""

    def put(name: str, value: float | None, labels: tuple[str, ...] = ()) -> None:
        if value is not None:
            families[name].add_metric(list(labels), float(value))

    run = current.latest_ok_run
    if run is not None:
        put("monitoring_drift_share", run["drift_share"])
        put("monitoring_drifted_features", run["drifted_features"])
        put("monitoring_drift_features_tested", run["features_tested"])
        put("monitoring_dataset_drift", float(run["dataset_drift"]))
        put("monitoring_score_psi", run["score_psi"])
        put("monitoring_drift_last_success_timestamp_seconds", run["finished_at"].timestamp())
        for feature in run["top_features"]:
            put("monitoring_feature_drift_score", feature["score"], (feature["feature"], feature["stattest"]))
    if current.latest_run is not None:
        latest = current.latest_run
        put("monitoring_drift_job_duration_seconds", latest["duration_s"], (latest["status"],))
    put("monitoring_window_decisions", current.window.decisions)
    put("monitoring_approval_rate", current.window.approval_rate)
    put("monitoring_mean_pd", current.window.mean_pd)
    performance = current.performance
    put("monitoring_outcomes_matched", performance.with_outcome)
    put("monitoring_realised_default_rate", performance.default_rate)
    put("monitoring_realised_auc", performance.auc)
    put("monitoring_realised_cost_per_decision", performance.cost_per_decision)
    for group in current.fairness:
        put("monitoring_fairness_approval_rate", group.approval_rate, (group.attribute, group.group))
        put("monitoring_fairness_approval_ratio", group.ratio, (group.attribute, group.group))
    for attribute, ratio in min_ratios(current.fairness).items():
        put("monitoring_fairness_min_approval_ratio", ratio, (attribute,))
