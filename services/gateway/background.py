"""Work that must happen but not on the response path (decision log entries, explanation tasks): a bounded
in-memory queue drained in batches by one background task, which outlives a short Redis outage.

An item leaves the queue only once its batch was sent; a failed send is retried with a capped exponential
backoff. A full queue refuses new items, and items still queued when the gateway stops after its grace
period are counted as dropped.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from prometheus_client import Counter, Gauge

from services.common.logging import log_fields

logger = logging.getLogger(__name__)
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 5.0
T = TypeVar("T")


@dataclass(frozen=True)
class Meters:
    pending: Gauge  # items waiting
    failures: Counter  # failed send attempts (retried)
    dropped: Counter  # items lost: queue full, or unsent at shutdown


class BatchSender(Generic[T]):
    """Queue items with `put`; one task hands them to `send` up to `batch` at a time."""

    def __init__(
        self,
        name: str,
        send: Callable[[list[T]], Awaitable[None]],
        errors: tuple[type[Exception], ...],
        capacity: int,
        batch: int,
        meters: Meters,
    ) -> None:
        self.name, self.send, self.errors = name, send, errors
        self.capacity, self.batch, self.meters = capacity, batch, meters
        self.queue: deque[T] = deque()
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._drain_forever(), name=self.name)

    def full(self) -> bool:
        return len(self.queue) >= self.capacity

    def put(self, item: T) -> bool:
        """Queue one item; False (and counted as dropped) when the queue is full. Never waits."""
        if self.full():
            self.meters.dropped.inc()
            return False
        self.queue.append(item)
        self.meters.pending.set(len(self.queue))
        self.wakeup.set()
        return True

    async def stop(self, grace_s: float) -> list[T]:
        """Give the task `grace_s` to send what is queued, then stop it; what is left is counted and
        returned."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._until_empty(), grace_s)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.queue:
            self.meters.dropped.inc(len(self.queue))
            logger.error(f"{self.name}: unsent at shutdown", extra=log_fields(count=len(self.queue)))
        return list(self.queue)

    async def _until_empty(self) -> None:
        while self.queue:
            await asyncio.sleep(0.02)

    async def _drain_forever(self) -> None:
        backoff = FIRST_BACKOFF_S
        while True:
            if not self.queue:
                self.wakeup.clear()
                await self.wakeup.wait()
            try:
                await self._send_batch()
                backoff = FIRST_BACKOFF_S
            except self.errors as error:
                self.meters.failures.inc()
                logger.warning(f"{self.name}: send failed, will retry", extra=log_fields(error=str(error)))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _send_batch(self) -> None:
        batch = [self.queue[i] for i in range(min(self.batch, len(self.queue)))]
        await self.send(batch)
        for _ in batch:
            self.queue.popleft()
        self.meters.pending.set(len(self.queue))
