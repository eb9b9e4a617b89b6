"""Decisions for monitoring: DecisionEvent JSON (services.contracts.events) on a durable Redis stream.

Decisions leave the hot path: `record()` only queues the entry and a background task XADDs them in
pipelined batches (background.py). While Redis is down the task keeps the batch and retries with a capped
backoff; the queue holds up to `capacity` decisions, beyond which new ones are dropped and counted
(`gateway_decision_log_dropped_total`), and decisions still unsent when the gateway stops after the drain
grace period are counted the same way. (Outcomes go to monitoring synchronously instead: outcomes.py.)
"""

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.common.logging import log_fields
from services.contracts.events import DECISION_FIELD, DecisionEvent
from services.gateway.background import BatchSender
from services.gateway.clients import hot_json
from services.gateway.metrics import DECISION_LOG

logger = logging.getLogger(__name__)
BATCH = 500


class DecisionLog:
    """Decisions on their way to the decisions stream, XADDed in pipelined batches off the hot path."""

    def __init__(self, redis: Redis, stream: str, capacity: int) -> None:
        self.redis, self.stream = redis, stream
        self.sender = BatchSender("decision log", self._xadd, (RedisError,), capacity, BATCH, DECISION_LOG)

    def start(self) -> None:
        self.sender.start()

    def record(self, decision: DecisionEvent) -> None:
        """Queue one decision, serialised now (once); never raises and never waits."""
        if not self.sender.put(hot_json(decision)):
            logger.error(
                "decision dropped: log buffer full", extra=log_fields(request_id=decision.request_id)
            )

    async def stop(self, grace_s: float) -> None:
        await self.sender.stop(grace_s)  # unsent decisions are counted as dropped and logged

    async def _xadd(self, batch: list[bytes]) -> None:
        """One round trip for the whole batch."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for data in batch:
                pipe.xadd(self.stream, {DECISION_FIELD: data})
            await pipe.execute()
