"""Settings of the explainer (Celery worker and the client the gateway uses), from environment variables."""

from pydantic import Field

from services.common.settings import CommonSettings


class ExplainerSettings(CommonSettings):
    """Redis and MLflow URLs come from CommonSettings; the rest are the explainer's own knobs."""

    explainer_queue: str = "explanations"
    # Explanations are kept this long; a repeated request within it is served from Redis.
    explainer_result_ttl_seconds: int = 86_400
    # A task taken by a worker that dies is redelivered after this many seconds; keep it above the
    # longest task (importance of a big reference sample takes seconds) so live tasks are not run twice.
    explainer_visibility_timeout_seconds: int = 120
    explainer_top_k: int = 10
    explainer_model_cache_size: int = 4
    explainer_max_retries: int = 5
    explainer_retry_backoff_seconds: float = 1.0
    # A task also takes up to this many - 1 explanations waiting in the queue and computes them together
    # (tasks.py): per-task costs are paid once per batch. 1 = one explanation per task.
    explainer_batch_size: int = Field(default=32, ge=1)
    # Prometheus /metrics of this worker process on this port; 0 = no metrics server. One port per
    # worker process: give each worker its own.
    explainer_metrics_port: int = Field(default=0, ge=0, le=65_535)
    explainer_metrics_addr: str = "127.0.0.1"
    # Test-only: sleep this long inside every task so a test can kill a worker mid-task.
    explainer_task_delay_seconds: float = 0.0
