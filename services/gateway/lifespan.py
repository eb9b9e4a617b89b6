"""What the gateway opens at start-up and closes at shutdown: pools, clients and the background senders.

One Redis client stack per process: the redis.asyncio pool below serves rate limits, idempotency, the
decision log and the explainer's client. Only the Celery broker connection is kombu's own (the explainer
client sends tasks through it: Celery's message format is kombu's).
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from redis.asyncio import ConnectionPool, Redis

from services.common.db import make_engine
from services.common.http import freeze_startup_heap
from services.common.logging import configure_logging
from services.explainer.client import ExplainerClient
from services.explainer.settings import ExplainerSettings
from services.gateway.auth import KeyCache
from services.gateway.decision_log import DecisionLog
from services.gateway.downstream import Downstream
from services.gateway.explanations import Explanations
from services.gateway.idempotency import IdempotencyStore
from services.gateway.ratelimit import RateLimiter
from services.gateway.scores import Backends
from services.gateway.settings import GatewaySettings

DRAIN_GRACE_S = 5.0
WARM_UP_BUDGET_S = 3.0


@dataclass(frozen=True)
class GatewayState:
    settings: GatewaySettings
    keys: KeyCache
    limiter: RateLimiter
    redis: Redis
    backends: Backends
    idempotency: IdempotencyStore


def state(request: Request) -> GatewayState:
    return request.app.state.gateway


def create_lifespan(settings: GatewaySettings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        pool = ConnectionPool.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
        )
        redis = Redis(connection_pool=pool)
        engine = make_engine(settings.database_url)
        backends = Backends(
            features=Downstream("features", settings.features_url, settings),
            scoring=Downstream("scoring", settings.scoring_url, settings),
            monitoring=Downstream("monitoring", settings.monitoring_url, settings),
            explanations=Explanations(
                ExplainerClient(
                    redis, ExplainerSettings(redis_url=settings.redis_url), settings.explanation_claim_ttl_s
                ),
                settings,
            ),
            decisions=DecisionLog(redis, settings.decision_buffer),
        )
        app.state.gateway = GatewayState(
            settings=settings,
            keys=KeyCache(engine, settings.api_key_cache_s),
            limiter=RateLimiter(settings.redis_url, pool, settings.gateway_rate_limit),
            redis=redis,
            backends=backends,
            idempotency=IdempotencyStore(redis, settings.idempotency_ttl_s),
        )
        backends.decisions.start()
        backends.explanations.start()
        await backends.explanations.warm_up(WARM_UP_BUDGET_S)
        freeze_startup_heap()
        try:
            yield
        finally:
            await asyncio.gather(
                backends.decisions.stop(DRAIN_GRACE_S), backends.explanations.stop(DRAIN_GRACE_S)
            )
            await backends.features.close()
            await backends.scoring.close()
            await backends.monitoring.close()
            await redis.aclose()
            await pool.aclose()
            engine.dispose()

    return lifespan
