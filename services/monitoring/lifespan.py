"""What the monitoring service opens at start-up (migrations, the stream consumer thread) and closes at
shutdown, and when it is ready."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import psycopg2
import redis
from fastapi import Depends
from starlette.concurrency import run_in_threadpool

from services.common.http import ApiError
from services.common.migrations import migrate
from services.common.service import service_state
from services.monitoring import queries
from services.monitoring.consumer import run_in_thread
from services.monitoring.settings import MonitoringSettings

CONSUMER_STOP_S = 10.0


@dataclass(frozen=True)
class MonitoringState:
    settings: MonitoringSettings


MonitoringStateDep = Annotated[MonitoringState, Depends(service_state)]


@asynccontextmanager
async def open_state(settings: MonitoringSettings) -> AsyncIterator[MonitoringState]:
    await run_in_threadpool(migrate, settings.database_url)
    consumer = run_in_thread(settings) if settings.run_consumer else None
    try:
        yield MonitoringState(settings=settings)
    finally:
        if consumer is not None:
            thread, stop = consumer
            stop.set()
            thread.join(timeout=CONSUMER_STOP_S)


async def ready(state: MonitoringState) -> str:
    """Ready when Postgres (with the monitoring tables) and Redis answer."""
    try:
        await run_in_threadpool(queries.ping, state.settings.database_url, state.settings.redis_url)
    except (psycopg2.Error, redis.RedisError) as error:
        raise ApiError(503, "not_ready", "Postgres or Redis unavailable", str(error).strip()) from error
    return "ready"
