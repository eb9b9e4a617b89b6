"""Settings of the features service, from environment variables."""

from services.common.settings import CommonSettings


class FeaturesSettings(CommonSettings):
    """Connection URLs plus the service's own limits."""

    max_body_bytes: int = 1_000_000  # a raw application with a long history fits well below this
