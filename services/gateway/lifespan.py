"""What the gateway opens at start-up and closes at shutdown (pools, clients and the background senders),
and when it is ready.

One Redis client stack per process: the redis.asyncio pool below serves rate limits, idempotency, the
decision log and the explainer's client. Only the Celery broker connection is kombu's own (the explainer
client sends tasks through it: Celery's message format is kombu's).
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from redis.asyncio import ConnectionPool, Redis

from services.common.db import make_engine
from services.common.service import service_state
from services.explainer.client import ExplainerClient
from services.explainer.settings import ExplainerSettings
from services.gateway.auth import KeyCache
from services.gateway.clients import FeaturesClient, MonitoringClient, ScoringClient
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


GatewayStateDep = Annotated[GatewayState, Depends(service_state)]


@asynccontextmanager
async def open_state(settings: GatewaySettings) -> AsyncIterator[GatewayState]:
    pool = ConnectionPool.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
    )
    redis = Redis(connection_pool=pool)
    engine = make_engine(settings.database_url)
    backends = Backends(
        features=FeaturesClient(Downstream("features", settings.features_url, settings)),
        scoring=ScoringClient(Downstream("scoring", settings.scoring_url, settings)),
        monitoring=MonitoringClient(Downstream("monitoring", settings.monitoring_url, settings)),
        explanations=Explanations(
            ExplainerClient(
                redis, ExplainerSettings(redis_url=settings.redis_url), settings.explanation_claim_ttl_s
            ),
            settings,
        ),
        decisions=DecisionLog(redis, settings.decisions_stream, settings.decision_buffer),
    )
    state = GatewayState(
        settings=settings,
        keys=KeyCache(engine, settings.api_key_cache_s),
        limiter=RateLimiter(settings.redis_url, pool, settings.rate_limit),
        redis=redis,
        backends=backends,
        idempotency=IdempotencyStore(redis, settings.idempotency_ttl_s),
    )
    backends.decisions.start()
    backends.explanations.start()
    await backends.explanations.warm_up(WARM_UP_BUDGET_S)
    try:
        yield state
    finally:
        await asyncio.gather(
            backends.decisions.stop(DRAIN_GRACE_S), backends.explanations.stop(DRAIN_GRACE_S)
        )
        for client in (backends.features, backends.scoring, backends.monitoring):
            await client.downstream.close()
        await redis.aclose()
        await pool.aclose()
        engine.dispose()


async def ready(state: GatewayState) -> str:
    """Ready when the features and scoring services are (the explainer and Redis only degrade answers)."""
    for client in (state.backends.features, state.backends.scoring):
        await client.downstream.get("/readyz")
    return "ready"
