"""Prometheus metrics read from Postgres at scrape time: drift, decisions, realised and estimated
performance, fairness, vintages, the review queue.

The drift job runs in a Celery worker or the CLI, not in this process, so its figures are exported from
what it stored. A snapshot is cached for `stats_cache_s` so several scrapers cost one set of queries;
vintages, which read a year of decisions and change slowly, for `vintage_cache_s`.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Generic, TypeVar

import psycopg2
import psycopg2.extensions
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.monitoring.fairness import min_ratios
from services.monitoring.settings import MonitoringSettings
from services.monitoring.stats import Snapshot, snapshot
from services.monitoring.vintages import Vintage, first_of_month, vintages

logger = logging.getLogger(__name__)
T = TypeVar("T")

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
    "monitoring_review_share": ("Share of the statistics window's decisions sent to review", []),
    "monitoring_mean_pd": ("Mean PD of decisions in the statistics window", []),
    "monitoring_outcomes_matched": ("Decisions in the performance window with a known outcome", []),
    "monitoring_realised_default_rate": ("Default rate of decisions with a known outcome", []),
    "monitoring_realised_auc": ("AUC of PD against known outcomes", []),
    "monitoring_realised_cost_per_decision": ("Business cost per decision with a known outcome", []),
    "monitoring_estimated_default_rate": ("Expected default rate of the window's decisions (from PDs)", []),
    "monitoring_estimated_auc": ("Expected AUC of the window's decisions (CBPE, from PDs)", []),
    "monitoring_estimated_cost_per_decision": ("Expected business cost per decision (from PDs)", []),
    "monitoring_validation_auc": ("Validation AUC of the version the latest successful drift run tested", []),
    "monitoring_estimated_auc_margin": ("Alert when the estimated AUC is this far below validation", []),
    **{
        f"monitoring_vintage_{name}": (f"{doc}, per month of decision", ["vintage"])
        for name, doc in (
            ("decisions", "Decisions"),
            ("approval_rate", "Approval rate"),
            ("mean_pd", "Mean PD"),
            ("outcomes", "Decisions settled by an outcome"),
            ("default_rate", "Realised default rate"),
            ("auc", "Realised AUC"),
            ("ks", "Realised KS"),
            ("estimated_default_rate", "Expected default rate"),
            ("estimated_auc", "Expected AUC"),
        )
    },
    "monitoring_vintage_band_default_rate": ("Observed default rate per PD band", ["vintage", "band"]),
    "monitoring_vintage_band_mean_pd": ("Mean PD of settled decisions per PD band", ["vintage", "band"]),
    "monitoring_vintage_band_jeffreys_p_value": (
        "Jeffreys test p-value per PD band (small: the PD underestimates the risk)",
        ["vintage", "band"],
    ),
    "monitoring_fairness_approval_rate": ("Approval rate by group", ["attribute", "group"]),
    "monitoring_fairness_approval_ratio": (
        "Group approval rate over the best group's (four-fifths rule)",
        ["attribute", "group"],
    ),
    "monitoring_fairness_min_approval_ratio": ("Worst group approval ratio per attribute", ["attribute"]),
    "monitoring_review_queue_length": ("Decisions waiting for an officer's review", []),
    "monitoring_review_queue_oldest_age_seconds": ("How long the oldest waiting review has waited", []),
    "monitoring_review_max_age_seconds": ("Alert when a review has waited longer than this", []),
    "monitoring_reviews": ("Reviews recorded in the statistics window", []),
    "monitoring_review_override_rate": (
        "Share of the window's reviews where the officer decided against the model's side of the threshold",
        [],
    ),
}
COUNTERS: dict[str, tuple[str, list[str]]] = {
    "monitoring_drift_runs": ("Drift runs recorded, by status (ok, skipped, failed)", ["status"]),
}


class Cached(Generic[T]):
    """A value read from Postgres, kept for `ttl_s`; None (and logged) while Postgres cannot be read."""

    def __init__(self, ttl_s: float, load: Callable[[psycopg2.extensions.connection], T], url: str) -> None:
        self.ttl_s, self.load, self.url = ttl_s, load, url
        self._lock = threading.Lock()
        self._value: tuple[float, T] | None = None

    def get(self) -> T | None:
        with self._lock:
            if self._value is not None and time.monotonic() - self._value[0] < self.ttl_s:
                return self._value[1]
            try:
                with closing(psycopg2.connect(self.url)) as conn:
                    value = self.load(conn)
            except psycopg2.Error as error:
                logger.warning("monitoring statistics unavailable: %s", error)
                return None
            self._value = (time.monotonic(), value)
            return value


class MonitoringCollector(Collector):
    def __init__(self, settings: MonitoringSettings) -> None:
        self.settings = settings
        url = settings.database_url
        self._snapshot = Cached(settings.stats_cache_s, lambda conn: snapshot(conn, settings), url)
        self._vintages = Cached(
            settings.vintage_cache_s,
            lambda conn: vintages(conn, first_of_month(datetime.now(UTC), settings.vintage_months)),
            url,
        )

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
        current, by_month = self._snapshot.get(), self._vintages.get()
        families["monitoring_stats_up"].add_metric([], 0.0 if current is None else 1.0)
        families["monitoring_estimated_auc_margin"].add_metric([], self.settings.estimated_auc_margin)
        families["monitoring_review_max_age_seconds"].add_metric(
            [], self.settings.review_max_age_hours * 3600
        )
        if current is not None:
            fill(families, current)
            for status in ("ok", "skipped", "failed"):
                runs.add_metric([status], current.runs_by_status.get(status, 0))
        for found in by_month or []:
            fill_vintage(families, found)
        yield from families.values()
        yield runs


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
        put("monitoring_validation_auc", run["validation_auc"])
        put("monitoring_score_psi", run["score_psi"])
        put("monitoring_drift_last_success_timestamp_seconds", run["finished_at"].timestamp())
        for feature in run["top_features"]:
            put("monitoring_feature_drift_score", feature["score"], (feature["feature"], feature["stattest"]))
    if current.latest_run is not None:
        latest = current.latest_run
        put("monitoring_drift_job_duration_seconds", latest["duration_s"], (latest["status"],))
    put("monitoring_window_decisions", current.window.decisions)
    put("monitoring_approval_rate", current.window.approval_rate)
    put("monitoring_review_share", current.window.review_share)
    put("monitoring_mean_pd", current.window.mean_pd)
    realised, estimated = current.performance.realised, current.performance.estimated
    put("monitoring_outcomes_matched", realised.with_outcome)
    put("monitoring_realised_default_rate", realised.default_rate)
    put("monitoring_realised_auc", realised.auc)
    put("monitoring_realised_cost_per_decision", realised.cost_per_decision)
    put("monitoring_estimated_default_rate", estimated.default_rate)
    put("monitoring_estimated_auc", estimated.auc)
    put("monitoring_estimated_cost_per_decision", estimated.cost_per_decision)
    for group in current.fairness:
        put("monitoring_fairness_approval_rate", group.approval_rate, (group.attribute, group.group))
        put("monitoring_fairness_approval_ratio", group.ratio, (group.attribute, group.group))
    for attribute, ratio in min_ratios(current.fairness).items():
        put("monitoring_fairness_min_approval_ratio", ratio, (attribute,))
    put("monitoring_review_queue_length", current.reviews.pending)
    put("monitoring_review_queue_oldest_age_seconds", current.reviews.oldest_age_s or 0.0)
    put("monitoring_reviews", current.reviews.reviewed)
    put("monitoring_review_override_rate", current.reviews.override_rate)


def fill_vintage(families: dict[str, GaugeMetricFamily], found: Vintage) -> None:
    """One month's figures; realised ones only once outcomes have settled some of its decisions."""
    figures = {
        "decisions": found.decisions,
        "approval_rate": found.approval_rate,
        "mean_pd": found.mean_pd,
        "outcomes": found.realised.with_outcome,
        "default_rate": found.realised.default_rate,
        "auc": found.realised.auc,
        "ks": found.realised.ks,
        "estimated_default_rate": found.estimated.default_rate,
        "estimated_auc": found.estimated.auc,
    }
    for name, value in figures.items():
        if value is not None:
            families[f"monitoring_vintage_{name}"].add_metric([found.vintage], float(value))
    for band in found.bands:
        labels = [found.vintage, band.band]
        families["monitoring_vintage_band_default_rate"].add_metric(labels, band.observed_default_rate)
        families["monitoring_vintage_band_mean_pd"].add_metric(labels, band.mean_pd)
        families["monitoring_vintage_band_jeffreys_p_value"].add_metric(labels, band.p_value)
