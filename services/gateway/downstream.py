"""Calls to the features and scoring services: one pooled async client each, timeouts, careful retries.

Only GETs are retried (with exponential backoff) on timeouts, connection errors and 5xx answers; a POST is
retried only when its connection could not even be opened (the transport's `retries`), since then the
request never left. Any other failure becomes a 503 with Retry-After: the caller may try again later.
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from services.common.http import ApiError
from services.common.logging import request_id_var
from services.gateway.metrics import DOWNSTREAM_LATENCY
from services.gateway.settings import GatewaySettings


@dataclass(frozen=True)
class Reply:
    """A downstream answer the caller must interpret (2xx, or a 4xx that means something to the client)."""

    status: int
    body: Any


class Downstream:
    """One service behind the gateway, reached through its own keep-alive connection pool."""

    def __init__(self, name: str, base_url: str, settings: GatewaySettings) -> None:
        self.name = name
        self.settings = settings
        timeout = httpx.Timeout(settings.downstream_timeout_s, connect=settings.downstream_connect_timeout_s)
        limits = httpx.Limits(
            max_connections=settings.downstream_pool_size,
            max_keepalive_connections=settings.downstream_pool_size,
        )
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, limits=limits, transport=httpx.AsyncHTTPTransport(retries=1)
        )

    async def get(self, path: str) -> Reply:
        attempts = self.settings.idempotent_attempts
        for attempt in range(attempts):
            try:
                return await self._call("GET", path, None)
            except ApiError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(self.settings.retry_backoff_s * 2**attempt)
        raise AssertionError("unreachable: the loop returns or raises")

    async def post(self, path: str, body: dict[str, Any]) -> Reply:
        return await self._call("POST", path, body)

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Reply:
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await self.client.request(
                method, path, json=body, headers={"X-Request-ID": request_id_var.get()}
            )
            outcome = str(response.status_code)
        except httpx.HTTPError as error:
            raise self._unavailable(type(error).__name__) from error
        finally:
            DOWNSTREAM_LATENCY.labels(self.name, outcome).observe(time.perf_counter() - started)
        if response.status_code >= 500:
            raise self._unavailable(f"status {response.status_code}", response.headers.get("retry-after"))
        try:
            return Reply(response.status_code, response.json())
        except ValueError as error:
            raise self._unavailable("answer is not JSON") from error

    def _unavailable(self, reason: str, retry_after: str | None = None) -> ApiError:
        seconds = int(retry_after) if retry_after and retry_after.isdigit() else self.settings.retry_after_s
        return ApiError(
            503,
            f"{self.name}_unavailable",
            f"the {self.name} service is unavailable; retry later",
            {"reason": reason},
            headers={"Retry-After": str(seconds)},
        )
