"""The explainer seen from the gateway: its (blocking) Python client run in worker threads, with a time
budget, so a slow or dead Redis never holds a score back.

A failed submit makes the score say "explanation unavailable"; after a failure the explainer is not tried
again for a few seconds, so an outage costs one timeout, not one per request.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from kombu.exceptions import OperationalError as KombuOperationalError
from starlette.concurrency import run_in_threadpool

from services.common.http import ApiError
from services.common.logging import log_fields
from services.explainer.client import ExplainerClient, ExplainerUnavailable, InvalidExplanationRequest
from services.explainer.schemas import ExplanationStatus, ImportanceStatus
from services.gateway.metrics import EXPLANATIONS_UNAVAILABLE

logger = logging.getLogger(__name__)
PAUSE_AFTER_FAILURE_S = 5.0
T = TypeVar("T")


class Explanations:
    def __init__(self, client: ExplainerClient, timeout_s: float, retry_after_s: int) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self._paused_until = 0.0

    async def submit(
        self, version: str, features: dict[str, float | None], client_id: int | None
    ) -> ExplanationStatus | None:
        """The queued (or already finished) explanation, or None when the explainer cannot take it now."""
        if time.monotonic() < self._paused_until:
            _note_unavailable("paused after a recent failure")
            return None
        try:
            return await self._call(lambda: self.client.submit(version, features, client_id))
        except ApiError as error:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
            _note_unavailable(error.details)
            return None
        except InvalidExplanationRequest as error:
            _note_unavailable(str(error))
            return None

    async def warm_up(self, budget_s: float) -> None:
        """Open the Redis and broker connections before the first score needs them (on a busy machine the
        first connect alone can exceed the submit budget); an outage here is only logged."""
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

    def close(self) -> None:
        self.client.close()


def _note_unavailable(reason: object) -> None:
    EXPLANATIONS_UNAVAILABLE.inc()
    logger.warning("explanation unavailable", extra=log_fields(reason=reason))
