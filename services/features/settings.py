"""Settings of the features service, from environment variables
(FEATURES_..., see services.common.settings)."""

from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class FeaturesSettings(ServiceSettings):
    """Connection URLs plus the service's own limits: a batch of MAX_BATCH_APPLICATIONS applications
    with long histories (~26 KB each as JSON) fits the body limit."""

    model_config = SettingsConfigDict(env_prefix="FEATURES_")
    max_body_bytes: int = 8_000_000
