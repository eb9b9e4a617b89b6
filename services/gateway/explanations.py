"""The explainer seen from the gateway.

A score only *claims* its explanation on the response path: the id is the explainer's content hash of
(model version, vector), computed here, and one pipelined Redis round trip (SET NX + GET) marks the record
pending unless it exists already, so the status URL answers as soon as the score does. Sending the Celery
task (kombu's blocking client: ~1-2 ms of CPU per task) happens off the path: claimed explanations queue
in memory and a background task sends them in batches from a worker thread, retrying while Redis is down.

A claim lives `GATEWAY_EXPLANATION_CLAIM_TTL_S` until the worker takes the task and writes the record for the
result's lifetime, so a claim whose task never left (the gateway killed in between) expires and the next
score of that vector claims it again. A batch cut off by a send failure is sent again whole: a task may be
queued twice, and the worker skips what is already done.

When the claim fails (Redis down or slow) or the send queue is full, the score says "explanation
unavailable"; after a Redis failure claims are not tried again for a few seconds, so an outage costs one
timeout, not one per request. Reads (status, global importance) use the explainer's client in worker
threads with a time budget.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kombu.exceptions import OperationalError as KombuOperationalError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from services.common.http import ApiError
from services.common.logging import log_fields
from services.explainer.cache import Record, explanation_id, record_key
from services.explainer.client import ExplainerClient, ExplainerUnavailable
from services.explainer.schemas import ExplanationStatus, ImportanceStatus, Job, Status
from services.gateway.background import BatchSender
from services.gateway.metrics import EXPLANATION_QUEUE, EXPLANATIONS_UNAVAILABLE
from services.gateway.settings import GatewaySettings

logger = logging.getLogger(__name__)
PAUSE_AFTER_FAILURE_S = 5.0
SEND_BATCH = 100
PENDING = Record(Status.PENDING).to_json()
T = TypeVar("T")


@dataclass(frozen=True)
class Claimed:
    """An explanation a score can point to: its id and its status when the score was answered."""

    explanation_id: str
    status: Status


class Explanations:
    def __init__(self, client: ExplainerClient, redis: Redis, settings: GatewaySettings) -> None:
        self.client, self.redis = client, redis
        self.timeout_s, self.retry_after_s = settings.explainer_timeout_s, settings.retry_after_s
        self.claim_ttl_s = settings.explanation_claim_ttl_s
        capacity = settings.explanation_queue
        self.sender = BatchSender(
            "explanation queue", self._send, (ExplainerUnavailable,), capacity, SEND_BATCH, EXPLANATION_QUEUE
        )
        self._paused_until = 0.0

    def start(self) -> None:
        self.sender.start()

    async def claim(
        self, version: str, features: dict[str, float | None], client_id: int | None
    ) -> Claimed | None:
        """The explanation of this score, its task queued unless one exists; None when unavailable now.
        `features` must be the vector the scoring service accepted (finite numbers or null)."""
        if time.monotonic() < self._paused_until:
            _note_unavailable("paused after a recent failure")
            return None
        if self.sender.full():
            _note_unavailable("send queue full")
            return None
        record_id = explanation_id(version, features)
        try:
            status, needs_task = await self._claim_record(record_id)
        except RedisError as error:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
            _note_unavailable(str(error) or type(error).__name__)
            return None
        if needs_task and not self.sender.put(Job(record_id, version, features, client_id)):
            await self._release(record_id)
            _note_unavailable("send queue full")
            return None
        return Claimed(record_id, status)

    async def _claim_record(self, record_id: str) -> tuple[Status, bool]:
        """(the record's status, whether this caller must queue its task), in one round trip unless the
        record had failed (or vanished in between): then it is marked pending again and retried."""
        key = record_key(record_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(key, PENDING, ex=self.claim_ttl_s, nx=True)
            pipe.get(key)
            claimed, raw = await pipe.execute()
        if claimed:
            return Status.PENDING, True
        status = Status.FAILED if raw is None else Record.from_json(raw).status
        if status != Status.FAILED:
            return status, False
        await self.redis.set(key, PENDING, ex=self.claim_ttl_s)
        return Status.PENDING, True

    async def _release(self, record_id: str) -> None:
        """Undo a claim whose task could not be queued, so the next score of the vector claims it again."""
        with contextlib.suppress(RedisError):
            await self.redis.delete(record_key(record_id))

    async def _send(self, jobs: list[Job]) -> None:
        await run_in_threadpool(self._send_blocking, jobs)

    def _send_blocking(self, jobs: list[Job]) -> None:
        for job in jobs:
            self.client.queue_claimed(job)

    async def warm_up(self, budget_s: float) -> None:
        """Open the Redis and broker connections before the first score needs them (on a busy machine the
        first connect alone can exceed a request's budget); an outage here is only logged."""
        try:
            await asyncio.wait_for(run_in_threadpool(self._connect), budget_s)
        except (TimeoutError, ExplainerUnavailable, OSError, KombuOperationalError) as error:
            logger.warning("explainer not reachable at start-up", extra=log_fields(error=str(error)))

    def _connect(self) -> None:
        self.client.status("warm-up")
        connection = self.client.celery.pool.acquire(block=True)
        try:
            connection.ensure_connection(max_retries=1)
        finally:
            connection.release()

    async def status(self, explanation_id: str) -> ExplanationStatus | None:
        return await self._call(lambda: self.client.status(explanation_id))

    async def importance(self, version: str) -> ImportanceStatus:
        return await self._call(lambda: self.client.importance(version))

    async def _call(self, work: Callable[[], T]) -> T:
        """Run one client call in a thread; a timeout or Redis outage becomes a 503 with Retry-After."""
        try:
            return await asyncio.wait_for(run_in_threadpool(work), self.timeout_s)
        except (TimeoutError, ExplainerUnavailable) as error:
            raise ApiError(
                503,
                "explainer_unavailable",
                "explanations are unavailable now; retry later",
                {"reason": str(error) or "timeout"},
                headers={"Retry-After": str(self.retry_after_s)},
            ) from error

    async def stop(self, grace_s: float) -> None:
        """Send what is queued within `grace_s`; claims left unsent are released (the next score of
        their vector claims them again) rather than left pending with no task behind them."""
        for task in await self.sender.stop(grace_s):
            await self._release(task.explanation_id)
        self.client.close()


def _note_unavailable(reason: object) -> None:
    EXPLANATIONS_UNAVAILABLE.inc()
    logger.warning("explanation unavailable", extra=log_fields(reason=reason))
