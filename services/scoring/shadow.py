"""Champion/challenger shadow scoring, off the response path.

A request that was scored while a challenger is loaded leaves a job on a bounded in-memory queue; one
background task drains it, scores the challenger in a worker thread and appends one record per row to the
Redis stream (XADD, MAXLEN ~ bounded). A full queue drops jobs and Redis errors are counted and logged:
neither ever reaches a request.
"""

import asyncio
import logging
from dataclasses import dataclass

import numpy as np
import redis.asyncio as redis
from starlette.concurrency import run_in_threadpool

from services.common.logging import log_fields
from services.scoring.metrics import SHADOW
from services.scoring.serving import LoadedModel
from services.scoring.settings import ScoringSettings

logger = logging.getLogger("services.scoring.shadow")
DRAIN_JOBS = 256  # jobs scored and published together
REDIS_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class ShadowJob:
    request_id: str
    champion: LoadedModel
    challenger: LoadedModel
    values: np.ndarray  # rows in the champion's feature order
    champion_pd: np.ndarray
    time: float


class ShadowPublisher:
    """Queue of shadow jobs and the task that turns them into stream records."""

    def __init__(self, settings: ScoringSettings) -> None:
        self.stream, self.maxlen = settings.shadow_stream, settings.shadow_stream_maxlen
        self.queue: asyncio.Queue[ShadowJob] = asyncio.Queue(maxsize=settings.shadow_queue_size)
        self.redis = redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self.healthy = True

    def submit(self, job: ShadowJob) -> None:
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            SHADOW.labels("dropped").inc(len(job.values))

    async def run(self) -> None:
        """Drain forever; cancelled at shutdown."""
        while True:
            jobs = [await self.queue.get()]
            while len(jobs) < DRAIN_JOBS and not self.queue.empty():
                jobs.append(self.queue.get_nowait())
            records = await run_in_threadpool(shadow_records, jobs)
            await self._publish(records)

    async def close(self) -> None:
        await self.redis.aclose()

    async def _publish(self, records: list[dict[str, str]]) -> None:
        if not records:
            return
        pipe = self.redis.pipeline(transaction=False)
        for record in records:
            pipe.xadd(self.stream, record, maxlen=self.maxlen, approximate=True)
        try:
            await pipe.execute()
        except (redis.RedisError, OSError) as error:
            SHADOW.labels("failed").inc(len(records))
            if self.healthy:
                logger.warning(
                    "shadow records not published to Redis: %s", error, extra=log_fields(error=str(error))
                )
            self.healthy = False
            return
        SHADOW.labels("published").inc(len(records))
        if not self.healthy:
            logger.info("shadow records reach Redis again")
        self.healthy = True


def shadow_records(jobs: list[ShadowJob]) -> list[dict[str, str]]:
    """Score each job's rows with its challenger; one stream record per row (blocking: worker thread)."""
    records = []
    for job in jobs:
        columns = job.champion.columns_for(job.challenger)
        if columns is None:
            SHADOW.labels("skipped").inc(len(job.values))
            continue
        challenger_pd = job.challenger.predict_pd(job.values[:, columns])
        for row, (champion_pd, other_pd) in enumerate(zip(job.champion_pd, challenger_pd, strict=True)):
            records.append(
                {
                    "request_id": job.request_id,
                    "row": str(row),
                    "champion_version": job.champion.version,
                    "champion_pd": repr(float(champion_pd)),
                    "challenger_version": job.challenger.version,
                    "challenger_pd": repr(float(other_pd)),
                    "time": repr(job.time),
                }
            )
    return records
