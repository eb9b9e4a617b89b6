"""Settings shared by every service and the CLI, read from environment variables."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """Connection URLs with local defaults; each service subclasses this for its own knobs."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:5432/credit"
    redis_url: str = "redis://127.0.0.1:6379/0"
    mlflow_tracking_uri: str = "http://127.0.0.1:5000"
    log_level: str = "INFO"
