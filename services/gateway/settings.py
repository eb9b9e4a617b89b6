"""Settings of the gateway, from environment variables (GATEWAY_..., see services.common.settings)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings, platform
from services.contracts.events import DECISIONS_STREAM


class GatewaySettings(ServiceSettings):
    """Downstream addresses, resilience knobs and the public-facing limits."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_")

    features_url: str = platform("http://127.0.0.1:8001", "FEATURES_URL")
    scoring_url: str = platform("http://127.0.0.1:8002", "SCORING_URL")
    monitoring_url: str = platform("http://127.0.0.1:8003", "MONITORING_URL")
    decisions_stream: str = platform(DECISIONS_STREAM, "DECISIONS_STREAM")
    downstream_timeout_s: float = Field(2.0, gt=0, description="whole-call budget for one downstream request")
    downstream_connect_timeout_s: float = Field(0.5, gt=0)
    distribution_timeout_s: float = Field(
        15.0, gt=0, description="budget of a feature distribution: its first scan reads every labelled client"
    )
    downstream_pool_size: int = Field(64, ge=1, description="keep-alive connections per downstream")
    downstream_keepalive_s: float = Field(
        4.0, gt=0, description="idle connections closed after this; below uvicorn's 5 s keep-alive timeout"
    )
    idempotent_attempts: int = Field(3, ge=1, description="tries for GETs before giving up")
    retry_backoff_s: float = Field(0.05, ge=0, description="first retry delay; doubles on each retry")
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with a 503 when a downstream is down")
    redis_timeout_s: float = Field(0.25, gt=0, description="socket timeout of the gateway's Redis calls")
    rate_limit: str = Field("100/second", description="per-key limit when the key sets none")
    cors_origins: list[str] = Field(default_factory=list, description="empty = CORS off")
    api_key_cache_s: float = Field(30.0, ge=0, description="how long a looked-up key is trusted")
    decision_buffer: int = Field(100_000, ge=1, description="decisions held in memory while Redis is down")
    explanation_queue: int = Field(10_000, ge=1, description="explanation tasks to claim or send")
    explanation_claim_ttl_s: int = Field(
        600, ge=1, description="a pending claim expires after this unless a worker has taken its task"
    )
    idempotency_ttl_s: int = Field(
        86_400, ge=1, description="how long an Idempotency-Key's first answer is given to its retries"
    )
    explainer_timeout_s: float = Field(
        0.5, gt=0, description="budget of an explanation status or importance read"
    )
