"""Per-service HTTP metrics, named by the platform's one metric rule.

Every metric of a service starts with the service's name: its HTTP requests are
`<service>_http_requests_total{route,status}` and `<service>_http_request_duration_seconds{route[,status]}`,
its own metrics `<service>_<what>` (`gateway_decisions_total`, `explainer_queue_depth`, ...). Every FastAPI
service makes one RequestMetrics at import and the service skeleton (services.common.service) hands its
`observe` to services.common.http's middleware, so the services count requests the same way.
"""

from collections.abc import Sequence

from prometheus_client import Counter, Histogram


class RequestMetrics:
    """The request counter and latency histogram of one service."""

    def __init__(self, service: str, buckets: Sequence[float], latency_by_status: bool = False) -> None:
        self.requests = Counter(
            f"{service}_http_requests_total", "HTTP requests by route and status", ["route", "status"]
        )
        latency_labels = ["route", "status"] if latency_by_status else ["route"]
        self.latency = Histogram(
            f"{service}_http_request_duration_seconds",
            "HTTP request latency by route",
            latency_labels,
            buckets=buckets,
        )
        self.latency_by_status = latency_by_status

    def observe(self, route: str, status: int, seconds: float) -> None:
        """The middleware's per-request hook."""
        self.requests.labels(route, str(status)).inc()
        labels = (route, str(status)) if self.latency_by_status else (route,)
        self.latency.labels(*labels).observe(seconds)
