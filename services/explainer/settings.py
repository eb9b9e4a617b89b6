"""Settings of the explainer (Celery worker and the client the gateway uses), from environment variables
(EXPLAINER_..., see services.common.settings)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import CommonSettings, platform
from services.contracts.events import RECOURSE_STREAM


class ExplainerSettings(CommonSettings):
    """Redis and MLflow URLs come from CommonSettings; the rest are the explainer's own knobs."""

    model_config = SettingsConfigDict(env_prefix="EXPLAINER_")

    queue: str = "explanations"
    # Where the offers of each refused/review explanation go, for monitoring's decision record.
    recourse_stream: str = platform(RECOURSE_STREAM, "RECOURSE_STREAM")
    # Explanations are kept this long; a repeated request within it is served from Redis.
    result_ttl_s: int = 86_400
    # A task taken by a worker that dies is redelivered after this many seconds; keep it above the
    # longest task (importance of a big reference sample takes seconds) so live tasks are not run twice.
    visibility_timeout_s: int = 120
    top_k: int = 10
    model_cache_size: int = 4
    max_retries: int = 5
    retry_backoff_s: float = 1.0
    # A task also takes up to this many - 1 explanations waiting in the queue and computes them together
    # (tasks.py): per-task costs are paid once per batch. 1 = one explanation per task.
    batch_size: int = Field(default=32, ge=1)
    # Prometheus /metrics of this worker process on this port; 0 = no metrics server. One port per
    # worker process: give each worker its own.
    metrics_port: int = Field(default=0, ge=0, le=65_535)
    metrics_addr: str = "127.0.0.1"
    # Test-only: sleep this long inside every task so a test can kill a worker mid-task.
    task_delay_s: float = 0.0
