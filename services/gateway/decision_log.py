"""Decisions and outcomes for monitoring, as JSON entries on durable Redis streams.

Decisions leave the hot path: `record()` only appends to an in-memory buffer and a background task XADDs
them in pipelined batches. While Redis is down the task keeps the batch and retries with a capped backoff;
the buffer holds up to `capacity` decisions, beyond which new ones are dropped and counted
(`gateway_decision_log_dropped_total`), and decisions still unsent when the gateway stops after the drain
grace period are counted the same way. Outcomes are written synchronously instead: the caller is told
(503) when they could not be stored, so it can send them again.
"""

import asyncio
import contextlib
import json
import logging
from collections import deque
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.common.http import ApiError
from services.common.logging import log_fields
from services.gateway.metrics import DECISION_LOG_DROPPED, DECISION_LOG_FAILURES, DECISION_LOG_PENDING

logger = logging.getLogger(__name__)
DECISIONS_STREAM = "decisions"
OUTCOMES_STREAM = "outcomes"
BATCH = 500
MAX_BACKOFF_S = 5.0


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


class DecisionLog:
    """A bounded in-memory buffer drained to the `decisions` stream by one background task."""

    def __init__(self, redis: Redis, capacity: int) -> None:
        self.redis = redis
        self.capacity = capacity
        self.buffer: deque[str] = deque()
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._drain_forever(), name="decision-log")

    def record(self, decision: dict[str, Any]) -> None:
        """Queue one decision; never raises and never waits."""
        if len(self.buffer) >= self.capacity:
            DECISION_LOG_DROPPED.inc()
            logger.error(
                "decision dropped: log buffer full", extra=log_fields(request_id=decision["request_id"])
            )
            return
        self.buffer.append(json.dumps(decision))
        DECISION_LOG_PENDING.set(len(self.buffer))
        self.wakeup.set()

    async def stop(self, grace_s: float) -> None:
        """Give the task `grace_s` to send what is buffered, then stop it and count what is left."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._until_empty(), grace_s)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.buffer:
            DECISION_LOG_DROPPED.inc(len(self.buffer))
            logger.error("decisions unsent at shutdown", extra=log_fields(count=len(self.buffer)))

    async def _until_empty(self) -> None:
        while self.buffer:
            await asyncio.sleep(0.02)

    async def _drain_forever(self) -> None:
        backoff = 0.05
        while True:
            if not self.buffer:
                self.wakeup.clear()
                await self.wakeup.wait()
            try:
                await self._send_batch()
                backoff = 0.05
            except RedisError as error:
                DECISION_LOG_FAILURES.inc()
                logger.warning(
                    "decision log: redis unavailable, will retry", extra=log_fields(error=str(error))
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _send_batch(self) -> None:
        """XADD up to BATCH buffered decisions in one round trip; they leave the buffer only once sent."""
        batch = [self.buffer[i] for i in range(min(BATCH, len(self.buffer)))]
        async with self.redis.pipeline(transaction=False) as pipe:
            for data in batch:
                pipe.xadd(DECISIONS_STREAM, {"data": data})
            await pipe.execute()
        for _ in batch:
            self.buffer.popleft()
        DECISION_LOG_PENDING.set(len(self.buffer))


async def publish_outcomes(redis: Redis, outcomes: list[dict[str, Any]], retry_after_s: int) -> None:
    """XADD every outcome in one round trip, or a 503 telling the caller to send them again."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for outcome in outcomes:
                pipe.xadd(OUTCOMES_STREAM, {"data": json.dumps(outcome)})
            await pipe.execute()
    except RedisError as error:
        raise ApiError(
            503,
            "outcomes_unavailable",
            "outcomes cannot be stored now; send them again later",
            headers={"Retry-After": str(retry_after_s)},
        ) from error
