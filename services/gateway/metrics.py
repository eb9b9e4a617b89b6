"""Prometheus metrics of the gateway (exposed on /metrics): decisions, degraded paths, downstream calls."""

from prometheus_client import Counter, Gauge, Histogram

from services.common.metrics import RequestMetrics
from services.gateway.background import Meters

DECISIONS = Counter(
    "gateway_decisions_total", "Scores answered, by decision and source", ["decision", "source"]
)
DOWNSTREAM_LATENCY = Histogram(
    "gateway_downstream_seconds",
    "Downstream call time, by service and outcome",
    ["service", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
RATE_LIMITED = Counter("gateway_rate_limited_total", "Requests refused with 429")
RATE_LIMIT_SKIPPED = Counter("gateway_rate_limit_skipped_total", "Requests let through unlimited: Redis down")
EXPLANATIONS_UNAVAILABLE = Counter(
    "gateway_explanations_unavailable_total",
    "Scores answered without an explanation: too many explanations waiting to be sent",
)
DECISION_LOG = Meters(
    pending=Gauge("gateway_decision_log_pending", "Decisions waiting in memory for Redis"),
    failures=Counter("gateway_decision_log_failures_total", "Failed XADD attempts (retried)"),
    dropped=Counter(
        "gateway_decision_log_dropped_total", "Decisions lost: buffer full, or unsent at shutdown"
    ),
)
EXPLANATION_QUEUE = Meters(
    pending=Gauge("gateway_explanation_queue_pending", "Explanation tasks waiting to be claimed or sent"),
    failures=Counter("gateway_explanation_queue_failures_total", "Failed claims or task sends (retried)"),
    dropped=Counter(
        "gateway_explanation_queue_dropped_total", "Explanation tasks not sent: queue full, or at shutdown"
    ),
)
HTTP = RequestMetrics("gateway", buckets=(0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
