"""Per-service HTTP metrics: request count by route and status, latency histogram by route.

Every FastAPI service makes one RequestMetrics at import and hands `observe` to services.common.http's
middleware, so the four services count requests the same way under their own metric names.
"""

from collections.abc import Sequence

from prometheus_client import Counter, Histogram


class RequestMetrics:
    """`{prefix}_requests_total{route,status}` and `{prefix}_request_seconds{route[,status]}`."""

    def __init__(self, prefix: str, buckets: Sequence[float], latency_by_status: bool = False) -> None:
        self.requests = Counter(
            f"{prefix}_requests_total", "HTTP requests by route and status", ["route", "status"]
        )
        latency_labels = ["route", "status"] if latency_by_status else ["route"]
        self.latency = Histogram(
            f"{prefix}_request_seconds", "HTTP request latency by route", latency_labels, buckets=buckets
        )
        self.latency_by_status = latency_by_status

    def observe(self, route: str, status: int, seconds: float) -> None:
        """The middleware's per-request hook."""
        self.requests.labels(route, str(status)).inc()
        labels = (route, str(status)) if self.latency_by_status else (route,)
        self.latency.labels(*labels).observe(seconds)
