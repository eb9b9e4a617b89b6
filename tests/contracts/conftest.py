"""Contract tests run against the gateway tests' real platform (features, scoring, monitoring, Redis): each
producer's real output is parsed by the model its consumer reads it with."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from loopback.platform import Platform
from services.gateway.downstream import Downstream

Ask = Callable[[str, Callable[[Downstream], Awaitable[Any]]], Any]


@pytest.fixture
def ask(stack: Platform) -> Ask:
    """`ask("scoring", lambda d: ScoringClient(d).model())`: one call through a gateway client, on its own
    event loop and connection pool (the gateway's own, in-process)."""
    urls = {"features": stack.features.url, "scoring": stack.scoring.url, "monitoring": stack.monitoring.url}

    def run(service: str, call: Callable[[Downstream], Awaitable[Any]]) -> Any:
        async def once() -> Any:
            downstream = Downstream(service, urls[service], stack.settings())
            try:
                return await call(downstream)
            finally:
                await downstream.close()

        return asyncio.run(once())

    return run


@pytest.fixture
def raw(stack: Platform) -> Callable[..., tuple[int, Any]]:
    """`raw("features", "GET", "/features/1")`: a service's real answer as (status, decoded JSON)."""
    urls = {"features": stack.features.url, "scoring": stack.scoring.url, "monitoring": stack.monitoring.url}

    def fetch(service: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = httpx.request(method, f"{urls[service]}{path}", json=body, timeout=30)
        return response.status_code, response.json()

    return fetch
