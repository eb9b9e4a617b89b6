"""Settings of the scoring service, from environment variables (FEATURES_URL, MODEL_ALIAS, ...)."""

from services.common.settings import CommonSettings


class ScoringSettings(CommonSettings):
    """Connection URLs plus the service's own knobs."""

    features_url: str = "http://127.0.0.1:8001"
    model_alias: str = "champion"
    challenger_alias: str = "challenger"
    reload_interval_seconds: float = 5.0
    max_batch: int = 1000
    max_body_bytes: int = 20_000_000  # a full batch of 1000 rows x ~800 features as JSON fits
    # Requests with at most this many rows are scored on the event loop, larger ones in a worker thread.
    # Default 1: a single-row predict takes ~0.1-0.4 ms, less than the hop to a thread. Measured on a quiet
    # 2-core machine (bench scoring), inline beat the thread pool on p50, p99 and req/s; 0 = always a thread.
    inline_max_rows: int = 1
    port: int = 8002
    shadow_stream: str = "scoring:shadow"
    shadow_stream_maxlen: int = 100_000
    shadow_queue_size: int = 10_000
