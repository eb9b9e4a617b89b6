"""The explainer seen from the gateway: its policy around the explainer's client (explainer/client.py).

A score only *claims* its explanation on the response path (one pipelined Redis round trip), so the status
URL answers as soon as the score does. Sending the Celery task (kombu's blocking client: ~1-2 ms of CPU per
task) happens off the path: tasks queue in memory and a background task sends them in batches, retrying
while Redis is down. A batch cut off by a send failure is sent again whole: a task may be queued twice, and
the worker skips what is already done.

When the claim cannot be made now (Redis down or slow), the score still points to its explanation: the id
depends on the version and the vector only, so the answer gives it as "pending" and the claim is *deferred*:
queued with its task, it is made by the background task once Redis answers, and the task is then sent
unless the explanation is done or a worker has it (a pending record may be this gateway's own claim whose
reply was lost when Redis failed). After a Redis failure claims are deferred without trying Redis for a few
seconds, so an outage costs one timeout, not one per request. Until its task is sent, a deferred id's
status is answered "pending" from memory, also while Redis is down. Only a full send queue makes a
score's explanation "unavailable". Reads (status, global importance) have a time budget and answer 503
beyond it.
"""

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from services.common.http import ApiError
from services.common.logging import log_fields
from services.contracts.explanations import ExplanationStatus, ImportanceStatus, Status
from services.explainer.client import Claim, ExplainerClient, ExplainerUnavailable, RawApplication, task_of
from services.explainer.schemas import Job
from services.gateway.background import BatchSender
from services.gateway.metrics import EXPLANATION_QUEUE, EXPLANATIONS_UNAVAILABLE
from services.gateway.settings import GatewaySettings

logger = logging.getLogger(__name__)
PAUSE_AFTER_FAILURE_S = 5.0
SEND_BATCH = 100
T = TypeVar("T")


@dataclass(frozen=True)
class Task:
    """A task in the send queue; `deferred`: its claim is not made yet, the sender makes it first."""

    job: Job
    deferred: bool


class Explanations:
    def __init__(self, client: ExplainerClient, settings: GatewaySettings) -> None:
        self.client = client
        self.timeout_s, self.retry_after_s = settings.explainer_timeout_s, settings.retry_after_s
        capacity = settings.explanation_queue
        self.sender = BatchSender(
            "explanation queue", self._send, (ExplainerUnavailable,), capacity, SEND_BATCH, EXPLANATION_QUEUE
        )
        self.deferred: Counter[str] = Counter()  # ids of deferred claims not sent yet: status says pending
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
        """The explanation of this score, its task queued unless one exists; its claim deferred when Redis
        cannot be reached now; None when the send queue is full. `features` must be the vector the scoring
        service accepted (finite numbers or null); `raw` the new applicant's application it was computed
        from (the worker's recourse offers recompute it)."""
        if self.sender.full():
            _note_unavailable("send queue full")
            return None
        job = task_of(version, features, client_id, raw)
        if time.monotonic() < self._paused_until:
            return self._defer(job)
        try:
            claim = await self.client.claim_task(job)
        except ExplainerUnavailable as error:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
            logger.warning(
                "explanation claims deferred",
                extra=log_fields(reason=str(error), for_s=PAUSE_AFTER_FAILURE_S),
            )
            return self._defer(job)
        if claim.job is not None and not self.sender.put(Task(claim.job, deferred=False)):
            await self.client.release(claim.explanation_id)
            _note_unavailable("send queue full")
            return None
        return claim

    def _defer(self, job: Job) -> Claim | None:
        """Queue the task with its claim to make; the score answers its id as pending."""
        if not self.sender.put(Task(job, deferred=True)):
            _note_unavailable("send queue full")
            return None
        self.deferred[job.explanation_id] += 1
        return Claim(job.explanation_id, Status.PENDING, job=None)

    async def _send(self, batch: list[Task]) -> None:
        """Make the batch's deferred claims, then send the tasks this gateway owns. A deferred claim that
        finds its explanation pending sends the task too: the pending record may be this gateway's own
        claim, made by Redis while its reply was lost (a timeout, a dropped connection, or a batch sent
        again after a failure), and a second task of it costs the worker at most one more computation."""
        jobs = []
        for task in batch:
            if task.deferred:
                claim = await self.client.claim_task(task.job)
                if claim.job is None and claim.status != Status.PENDING:
                    continue  # done, or a worker has its task
            jobs.append(task.job)
        await self.client.queue(jobs)
        for task in batch:
            if task.deferred:
                self._forget_deferred(task.job.explanation_id)

    def _forget_deferred(self, explanation_id: str) -> None:
        self.deferred[explanation_id] -= 1
        if not self.deferred[explanation_id]:
            del self.deferred[explanation_id]

    async def warm_up(self, budget_s: float) -> None:
        """Open the Redis and broker connections before the first score needs them; an outage here is only
        logged."""
        try:
            await asyncio.wait_for(self.client.connect(), budget_s)
        except (TimeoutError, ExplainerUnavailable) as error:
            logger.warning("explainer not reachable at start-up", extra=log_fields(error=str(error)))

    async def status(self, explanation_id: str) -> ExplanationStatus | None:
        """None for an unknown id. One whose claim is deferred is pending, answered without Redis: it is not
        in Redis yet, and Redis may be down."""
        if explanation_id in self.deferred:
            return ExplanationStatus(explanation_id=explanation_id, status=Status.PENDING)
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
        their vector claims them again) rather than left pending with no task behind them. Deferred claims are
        left alone: one may be another caller's. The sender counts both kinds dropped."""
        for task in await self.sender.stop(grace_s):
            if not task.deferred:
                await self.client.release(task.job.explanation_id)
        self.client.close()


def _note_unavailable(reason: object) -> None:
    EXPLANATIONS_UNAVAILABLE.inc()
    logger.warning("explanation unavailable", extra=log_fields(reason=reason))
