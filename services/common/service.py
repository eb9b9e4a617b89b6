"""The one skeleton every FastAPI service of the platform is built on: `create_service`.

A service passes what is its own (routes, how to open and close its state, what "ready" means); the
factory adds what must be the same everywhere: JSON logs, the request-id / body-limit / error-shape
middleware (services.common.http), request metrics, and the probes:
- /healthz: liveness, answers as long as the process serves HTTP;
- /readyz: the service's readiness check; a failure is a 503 in the one error shape;
- /metrics: the process registry of prometheus_client (plus the service's scrape-time registry, if any).
The state the service opens at start-up is a typed object stored on the app; routes receive it through
an `Annotated[TheState, Depends(service_state)]` alias, never through `request.app.state` lookups.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from services.common import http
from services.common.http import ApiError
from services.common.logging import configure_logging, log_fields
from services.common.metrics import RequestMetrics
from services.common.settings import ServiceSettings

logger = logging.getLogger("services.common.service")

State = TypeVar("State")
Settings = TypeVar("Settings", bound=ServiceSettings)


class ProbeStatus(BaseModel):
    """The body of a probe that answers 200."""

    status: str


def service_state(request: Request) -> Any:
    """The state the service's `open_state` yielded; services alias it with their own type:
    `ScoringStateDep = Annotated[ScoringState, Depends(service_state)]`."""
    return request.app.state.service


def create_service(
    *,
    title: str,
    settings: Settings,
    metrics: RequestMetrics,
    open_state: Callable[[Settings], AbstractAsyncContextManager[State]],
    ready: Callable[[State], Awaitable[str]],
    routers: Sequence[APIRouter],
    version: str = "1.0",
    description: str = "",
    scrape_registry: CollectorRegistry | None = None,
) -> FastAPI:
    """A FastAPI app with the platform's middleware, error shape, metrics and probes.

    `open_state(settings)` is entered at start-up (its value becomes the service state) and left at shutdown;
    `ready` returns the /readyz status line or raises: an ApiError keeps its code, anything else is a 503
    `not_ready`. `scrape_registry` holds collectors computed at scrape time (run in a worker thread)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        async with open_state(settings) as state:
            app.state.service = state
            http.freeze_startup_heap()
            yield

    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan)
    http.install(app, settings.max_body_bytes, metrics.observe)
    for router in routers:
        app.include_router(router)
    app.include_router(_probes(ready, scrape_registry))
    return app


def _probes(ready: Callable[[Any], Awaitable[str]], scrape_registry: CollectorRegistry | None) -> APIRouter:
    probes = APIRouter()

    @probes.get("/healthz", response_model=ProbeStatus)
    async def healthz() -> ProbeStatus:
        return ProbeStatus(status="ok")

    @probes.get("/readyz", response_model=ProbeStatus, responses={503: {"description": "not ready: why"}})
    async def readyz(request: Request) -> ProbeStatus:
        try:
            return ProbeStatus(status=await ready(service_state(request)))
        except ApiError:
            raise
        except Exception as error:
            logger.warning("not ready", extra=log_fields(error=str(error).strip()))
            raise ApiError(503, "not_ready", "not ready", str(error).strip()) from error

    @probes.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body = generate_latest(REGISTRY)
        if scrape_registry is not None:
            body += await run_in_threadpool(generate_latest, scrape_registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return probes
