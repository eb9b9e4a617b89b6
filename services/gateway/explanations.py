"""The explainer seen from the gateway: its policy around the explainer's client (explainer/client.py).

A score only *claims* its explanation on the response path (one pipelined Redis round trip), so the status
URL answers as soon as the score does. Sending the Celery task (kombu's blocking client: ~1-2 ms of CPU per
task) happens off the path: claimed explanations queue in memory and a background task sends them in
batches, retrying while Redis is down. A batch cut off by a send failure is sent again whole: a task may be
queued twice, and the worker skips what is already done.

When the claim fails (Redis down or slow) or the send queue is full, the score says "explanation
unavailable"; after a Redis failure claims are not tried again for a few seconds, so an outage costs one
timeout, not one per request. Reads (status, global importance) have a time budget and answer 503 beyond it.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TypeVar

from services.common.http import ApiError
from services.common.logging import log_fields
from services.contracts.explanations import ExplanationStatus, ImportanceStatus
from services.explainer.client import Claim, ExplainerClient, ExplainerUnavailable, RawApplication
from services.gateway.background import BatchSender
from services.gateway.metrics import EXPLANATION_QUEUE, EXPLANATIONS_UNAVAILABLE
from services.gateway.settings import GatewaySettings

logger = logging.getLogger(__name__)
PAUSE_AFTER_FAILURE_S = 5.0
SEND_BATCH = 100
T = TypeVar("T")


class Explanations:
    def __init__(self, client: ExplainerClient, settings: GatewaySettings) -> None:
        self.client = client
        self.timeout_s, self.retry_after_s = settings.explainer_timeout_s, settings.retry_after_s
        capacity = settings.explanation_queue
        self.sender = BatchSender(
            "explanation queue",
            client.queue,
            (ExplainerUnavailable,),
            capacity,
            SEND_BATCH,
            EXPLANATION_QUEUE,
        )
        self._paused_until = 0.0

    def start(self) -> None:
        self.sender.start()

    async def claim(
        self,
        version: str,
        features: dict[str, float | None],
        client_id: int | None,
        raw: RawApplication | None = None,
    ) -> Claim | None:
        """The explanation of this score, its task queued unless one exists; None when unavailable now.
        `features` must be the vector the scoring service accepted (finite numbers or null); `raw` the new
        applicant's application it was computed from (the worker's recourse offers recompute it)."""
        if time.monotonic() < self._paused_until:
            _note_unavailable("paused after a recent failure")
            return None
        if self.sender.full():
            _note_unavailable("send queue full")
            return None
        try:
            claim = await self.client.claim(version, features, client_id, raw)
        except ExplainerUnavailable as error:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
            _note_unavailable(str(error))
            return None
        if claim.job is not None and not self.sender.put(claim.job):
            await self.client.release(claim.explanation_id)
            _note_unavailable("send queue full")
            return None
        return claim

    async def warm_up(self, budget_s: float) -> None:
        """Open the Redis and broker connections before the first score needs them; an outage here is only
        logged."""
        try:
            await asyncio.wait_for(self.client.connect(), budget_s)
        except (TimeoutError, ExplainerUnavailable) as error:
            logger.warning("explainer not reachable at start-up", extra=log_fields(error=str(error)))

    async def status(self, explanation_id: str) -> ExplanationStatus | None:
        return await self._within_budget(self.client.status(explanation_id))

    async def importance(self, version: str) -> ImportanceStatus:
        return await self._within_budget(self.client.importance(version))

    async def _within_budget(self, read: Awaitable[T]) -> T:
        """A timeout or a Redis outage becomes a 503 with Retry-After."""
        try:
            return await asyncio.wait_for(read, self.timeout_s)
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
        for job in await self.sender.stop(grace_s):
            await self.client.release(job.explanation_id)
        self.client.close()


def _note_unavailable(reason: object) -> None:
    EXPLANATIONS_UNAVAILABLE.inc()
    logger.warning("explanation unavailable", extra=log_fields(reason=reason))
