"""HTTP plumbing of the gateway: the platform's request-id / body-limit / error-shape middleware
(services.common.http), request metrics, CORS when configured, and the documented error responses."""

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from services.common import http
from services.gateway.metrics import HTTP
from services.gateway.schemas import ErrorResponse
from services.gateway.settings import GatewaySettings

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        401: "missing or unknown API key",
        403: "the key lacks the endpoint's scope",
        413: "request body too large",
        422: "invalid input; `details` names each field and why",
        429: "rate limit exceeded; see Retry-After",
        503: "a service behind the gateway is down; see Retry-After",
    }.items()
}

BAD_GATEWAY = {"model": ErrorResponse, "description": "a service behind the gateway broke its contract"}


def install(app: FastAPI, settings: GatewaySettings) -> None:
    """CORS stays off unless origins are configured; it wraps the rest so preflights answer first."""
    http.install(app, settings.gateway_max_body_bytes, HTTP.observe)
    if settings.gateway_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.gateway_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "X-Request-ID", "Content-Type"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
