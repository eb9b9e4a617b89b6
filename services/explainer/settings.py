"""Settings of the explainer (Celery worker and the client the gateway uses), from environment variables."""

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
    # Test-only: sleep this long inside every task so a test can kill a worker mid-task.
    explainer_task_delay_seconds: float = 0.0
