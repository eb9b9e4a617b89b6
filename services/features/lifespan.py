"""What the features service opens at start-up and closes at shutdown, and when it is ready."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import psycopg2
import psycopg2.extensions
from fastapi import Depends
from starlette.concurrency import run_in_threadpool

from services.common.db import ReadPool
from services.common.http import ApiError
from services.common.service import service_state
from services.feature_definitions.catalog import for_few_rows
from services.features.distribution import DistributionCache
from services.features.settings import FeaturesSettings


@dataclass(frozen=True)
class FeaturesState:
    db: ReadPool
    distributions: DistributionCache


FeaturesStateDep = Annotated[FeaturesState, Depends(service_state)]


@asynccontextmanager
async def open_state(settings: FeaturesSettings) -> AsyncIterator[FeaturesState]:
    for_few_rows()  # one client or one application per request
    state = FeaturesState(db=ReadPool(settings.database_url), distributions=DistributionCache())
    try:
        yield state
    finally:
        state.db.close()


async def ready(state: FeaturesState) -> str:
    """Ready once the database answers and the feature tables exist."""
    try:
        await run_in_threadpool(state.db.run, _feature_tables)
    except psycopg2.Error as exc:
        raise ApiError(503, "not_ready", "database or feature tables unavailable", str(exc).strip()) from exc
    return "ready"


def _feature_tables(conn: psycopg2.extensions.connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM feature_sets LIMIT 1")
