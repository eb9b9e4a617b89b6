"""Prometheus metrics of an explainer worker process, served on /metrics by its own small HTTP server.

A Celery worker has no web app: `serve` (called at worker start, celery_app.py) starts prometheus_client's
server on EXPLAINER_METRICS_PORT. Counters are per process, so each worker process has its own port.
"""

import contextlib
from collections.abc import Iterator

import redis
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.explainer.settings import ExplainerSettings

TASKS = Counter(
    "explainer_tasks_total",
    "Explanation and importance jobs ended, by outcome: done, failed, retried (queued again after a "
    "transient error) or cached (its record was already done: a redelivered or repeated job)",
    ["task", "outcome"],
)
TASK_SECONDS = Histogram(
    "explainer_task_seconds",
    "Seconds from a worker taking a job to its record written (a batched job: its batch's time)",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SHAP_SECONDS = Histogram(
    "explainer_shap_seconds",
    "TreeSHAP time of one batch (one pred_contrib call over its rows)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
BATCH_SIZE = Histogram(
    "explainer_batch_size",
    "Explanations computed together by one task",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
MODEL_CACHE = Counter(
    "explainer_model_cache_total", "Model version lookups in the worker's LRU: hit or miss", ["result"]
)


class QueueDepth(Collector):
    """`explainer_queue_depth`: explanations waiting in the broker queue, read (LLEN) at scrape time."""

    def __init__(self, settings: ExplainerSettings) -> None:
        self.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.queue = settings.queue

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield _queue_depth_family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """No sample while Redis is unreachable: a gap, not a misleading zero."""
        family = _queue_depth_family()
        with contextlib.suppress(redis.RedisError):
            family.add_metric([], self.redis.llen(self.queue))
        yield family


def _queue_depth_family() -> GaugeMetricFamily:
    return GaugeMetricFamily("explainer_queue_depth", "Tasks waiting in the explainer's broker queue")


def serve(settings: ExplainerSettings) -> None:
    """Start the /metrics server of this worker process, unless EXPLAINER_METRICS_PORT is 0."""
    if settings.metrics_port == 0:
        return
    REGISTRY.register(QueueDepth(settings))
    start_http_server(settings.metrics_port, settings.metrics_addr)
