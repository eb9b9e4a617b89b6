"""HTTP to the services behind the gateway: one pooled async session each, timeouts, careful retries.

Only GETs are retried (with exponential backoff) on timeouts, connection errors and 5xx answers; a POST is
tried once more only when its connection could not even be opened, since then the request never left.
Any other failure becomes a 503 with Retry-After: the caller may try again later.

Two calls per score make the client's own cost count: aiohttp spends about a third of httpx's CPU per
request. Answers are handed over as raw bytes: clients.py parses each into its contract model in one
pass. Idle connections are dropped before the services' keep-alive timeout closes them.

A request can have its calls timed (`timed_calls`) for its `Server-Timing` header, so a caller (and the
benchmark) can tell the gateway's own time from the services' behind it.
"""

import asyncio
import time
from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass

import aiohttp

from services.common.http import ApiError
from services.common.logging import request_id_var
from services.gateway.metrics import DOWNSTREAM_LATENCY
from services.gateway.settings import GatewaySettings

_CALLS: ContextVar[list[tuple[str, float]] | None] = ContextVar("downstream_calls", default=None)


def timed_calls() -> list[tuple[str, float]]:
    """From now on in this request, each downstream call appends (service, seconds) to the list returned."""
    calls: list[tuple[str, float]] = []
    _CALLS.set(calls)
    return calls


def server_timing(calls: list[tuple[str, float]]) -> str:
    """A Server-Timing header value: milliseconds per service, retries added up (`features;dur=3.1`)."""
    per_service: defaultdict[str, float] = defaultdict(float)
    for service, seconds in calls:
        per_service[service] += seconds
    return ", ".join(f"{service};dur={1000 * seconds:.2f}" for service, seconds in per_service.items())


@dataclass(frozen=True)
class Reply:
    """A downstream answer below 500, its body unparsed: the caller knows which contract it follows."""

    status: int
    content: bytes


@dataclass(frozen=True)
class _Raw:
    status: int
    retry_after: str | None
    content: bytes


class Downstream:
    """One service behind the gateway, reached through its own keep-alive connection pool. Create it in
    the running event loop (the lifespan), where its session lives."""

    def __init__(self, name: str, base_url: str, settings: GatewaySettings) -> None:
        self.name = name
        self.settings = settings
        connector = aiohttp.TCPConnector(
            limit=settings.downstream_pool_size, keepalive_timeout=settings.downstream_keepalive_s
        )
        self.timeout = aiohttp.ClientTimeout(
            total=settings.downstream_timeout_s, connect=settings.downstream_connect_timeout_s
        )
        self.session = aiohttp.ClientSession(base_url=base_url, connector=connector, timeout=self.timeout)

    async def get(self, path: str, timeout_s: float | None = None) -> Reply:
        """GET with retries; `timeout_s` replaces the whole-call budget for slow reads (a first scan)."""
        attempts = self.settings.idempotent_attempts
        for attempt in range(attempts):
            try:
                return await self._call("GET", path, None, timeout_s)
            except ApiError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(self.settings.retry_backoff_s * 2**attempt)
        raise AssertionError("unreachable: the loop returns or raises")

    async def post(self, path: str, content: bytes) -> Reply:
        """POST a JSON body already serialised by the caller."""
        return await self._call("POST", path, content)

    async def close(self) -> None:
        await self.session.close()

    async def _call(
        self, method: str, path: str, content: bytes | None, timeout_s: float | None = None
    ) -> Reply:
        started = time.perf_counter()
        outcome = "error"
        try:
            raw = await self._send(method, path, content, timeout_s)
            outcome = str(raw.status)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise self._unavailable(type(error).__name__) from error
        finally:
            seconds = time.perf_counter() - started
            DOWNSTREAM_LATENCY.labels(self.name, outcome).observe(seconds)
            calls = _CALLS.get()
            if calls is not None:
                calls.append((self.name, seconds))
        if raw.status >= 500:
            raise self._unavailable(f"status {raw.status}", raw.retry_after)
        return Reply(raw.status, raw.content)

    async def _send(self, method: str, path: str, content: bytes | None, timeout_s: float | None) -> _Raw:
        """One exchange; tried a second time only if the connection could not be opened."""
        headers = {"X-Request-ID": request_id_var.get()}
        if content is not None:
            headers["Content-Type"] = "application/json"
        timeout = (
            self.timeout
            if timeout_s is None
            else aiohttp.ClientTimeout(total=timeout_s, connect=self.settings.downstream_connect_timeout_s)
        )
        for attempt in (1, 2):
            try:
                request = self.session.request(method, path, data=content, headers=headers, timeout=timeout)
                async with request as response:
                    return _Raw(response.status, response.headers.get("Retry-After"), await response.read())
            except aiohttp.ClientConnectorError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable: the loop returns or raises")

    def _unavailable(self, reason: str, retry_after: str | None = None) -> ApiError:
        seconds = int(retry_after) if retry_after and retry_after.isdigit() else self.settings.retry_after_s
        return ApiError(
            503,
            f"{self.name}_unavailable",
            f"the {self.name} service is unavailable; retry later",
            {"reason": reason},
            headers={"Retry-After": str(seconds)},
        )
