"""Settings of the features service, from environment variables
(FEATURES_..., see services.common.settings)."""

from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class FeaturesSettings(ServiceSettings):
    """Connection URLs plus the service's own limits (a raw application with a long history fits well
    below the default body limit)."""

    model_config = SettingsConfigDict(env_prefix="FEATURES_")
