"""Process-local Prometheus metrics of the monitoring service (the consumer thread and HTTP requests).

Figures computed from Postgres (drift, decisions, realised performance, fairness) are exported by
collector.py at scrape time, so they are right whichever process (Celery worker, CLI) wrote them.
"""

from prometheus_client import Counter

from services.common.metrics import RequestMetrics

STREAM_ENTRIES = Counter(
    "monitoring_stream_entries_total",
    "Stream entries consumed, by stream and result (inserted, duplicate, rejected)",
    ["stream", "result"],
)
DECISIONS_LOGGED = Counter(
    "monitoring_decisions_logged_total", "Decisions newly written to the decision log", ["decision"]
)
CONSUMER_ERRORS = Counter(
    "monitoring_consumer_errors_total", "Stream consumer iterations that failed (Redis/Postgres) and retried"
)
HTTP = RequestMetrics("monitoring", buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0))
