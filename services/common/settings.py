"""Settings shared by every service and the CLI, read from environment variables.

One naming rule for every setting, field and environment variable alike:
- Units are in the name, one suffix each: durations `_s` (or `_ms`, `_hours`, `_days` where that is the
  natural unit), sizes `_bytes`, counts and rows plain (`max_batch`, `drift_window_rows`).
- Names several processes must agree on are platform-wide and unprefixed: the connection URLs
  (DATABASE_URL, REDIS_URL, MLFLOW_TRACKING_URI), LOG_LEVEL, the URL of another service (FEATURES_URL,
  SCORING_URL, MONITORING_URL), the registry aliases (MODEL_ALIAS, CHALLENGER_ALIAS) and the stream names
  (DECISIONS_STREAM, SHADOW_STREAM). Each is declared with `platform(...)`, which pins its variable name.
- Everything else belongs to one service and carries its prefix, set once by the class's `env_prefix`:
  the field `ScoringSettings.reload_interval_s` is read from SCORING_RELOAD_INTERVAL_S, GATEWAY_...,
  FEATURES_..., MONITORING_..., EXPLAINER_..., TRAINING_... likewise. Batch jobs' own knobs follow the
  same rule (SPARK_MASTER, SPARK_PARTITIONS).
Code and tests build settings by field name (`ScoringSettings(reload_interval_s=0.2)`).
"""

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def platform(default: Any, variable: str, **constraints: Any) -> Any:
    """A platform-wide setting: read from `variable` whatever the class's prefix."""
    return Field(default, validation_alias=variable, **constraints)


class CommonSettings(BaseSettings):
    """Connection URLs with local defaults; each service subclasses this for its own knobs."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    database_url: str = platform("postgresql://postgres@127.0.0.1:5432/credit", "DATABASE_URL")
    redis_url: str = platform("redis://127.0.0.1:6379/0", "REDIS_URL")
    mlflow_tracking_uri: str = platform("http://127.0.0.1:5000", "MLFLOW_TRACKING_URI")
    log_level: str = platform("INFO", "LOG_LEVEL")

    @classmethod
    def variables(cls) -> set[str]:
        """The environment variable names this class reads: deployment files are checked against them."""
        prefix = cls.model_config.get("env_prefix", "")
        fields = cls.model_fields.items()
        return {str(field.validation_alias or f"{prefix}{name}").upper() for name, field in fields}


class ServiceSettings(CommonSettings):
    """What the service skeleton (services.common.service) reads of every HTTP service."""

    max_body_bytes: int = Field(1_000_000, ge=1_000, description="larger request bodies get a 413")
