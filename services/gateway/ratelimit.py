"""Per-key rate limits in Redis (the `limits` library, fixed windows): 429 with Retry-After when spent.

The limit protects the platform, it is not what the platform is for: when Redis cannot be reached the
request goes through (fail open), the skip is counted, and Redis is not tried again for a few seconds so a
hung Redis does not add its timeout to every request.
"""

import logging
import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool

from services.common.http import ApiError
from services.common.logging import log_fields
from services.gateway.metrics import RATE_LIMIT_SKIPPED, RATE_LIMITED

logger = logging.getLogger(__name__)
PAUSE_AFTER_FAILURE_S = 5.0


class RateLimiter:
    """One limiter for all keys; each key is counted under its own id."""

    def __init__(self, redis_url: str, pool: ConnectionPool, default_limit: str) -> None:
        self.default = parse(default_limit)
        self.storage = RedisStorage(
            f"async+{redis_url}",
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix="gateway:ratelimit",
            connection_pool=pool,
        )
        self.limiter = FixedWindowRateLimiter(self.storage)
        self._paused_until = 0.0

    async def check(self, key_id: str, limit: str | None) -> None:
        """Count one request for `key_id`; raise a 429 when its window is spent."""
        if time.monotonic() < self._paused_until:
            RATE_LIMIT_SKIPPED.inc()
            return
        item = self.default if limit is None else _parsed(limit)
        try:
            if not await self.limiter.hit(item, key_id):
                stats = await self.limiter.get_window_stats(item, key_id)
                raise _too_many(item, stats.reset_time)
        except StorageError as error:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
            RATE_LIMIT_SKIPPED.inc()
            logger.warning("rate limit skipped: redis unavailable", extra=log_fields(error=str(error)))


@lru_cache(maxsize=1024)
def _parsed(limit: str) -> RateLimitItem:
    """Keys carry their limit as text; parse each distinct one once, not on every request."""
    return parse(limit)


def _too_many(item: RateLimitItem, reset_time: float) -> ApiError:
    RATE_LIMITED.inc()
    retry_after = max(1, math.ceil(reset_time - time.time()))
    return ApiError(
        429,
        "rate_limited",
        f"rate limit of {item} exceeded for this API key",
        headers={"Retry-After": str(retry_after)},
    )
