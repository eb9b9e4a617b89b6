"""HTTP plumbing any FastAPI service can install: request ids, a body size limit, one error shape.

Every error leaves as {"error": {"code", "message", "details", "request_id"}} so callers parse one shape;
a database that cannot be reached is a 503 with Retry-After (an outage to wait out), never a 500;
the request id (accepted from X-Request-ID or created) is echoed in the response header and in every log
line written while the request runs. A pure ASGI middleware, not BaseHTTPMiddleware: it sits on every hot
path and adds no extra task per request.
"""

import gc
import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg2
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.logging import log_fields, request_id_var
from services.contracts.errors import ErrorBody, ErrorResponse

logger = logging.getLogger("services.common.http")

# Called once per request with (route template, status code, seconds): each service feeds its metrics.
RequestObserver = Callable[[str, int, float], None]

DATABASE_RETRY_AFTER_S = 5
# Connection-level failures only: a query bug (ProgrammingError, ...) stays a 500 that someone must fix.
DATABASE_OUTAGES = (
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)
MAX_PROBLEMS_IN_MESSAGE = 10  # the details list carries every problem; the message stays one readable line
_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "invalid_input",
    503: "unavailable",
}


class ApiError(Exception):
    """A domain error with its HTTP status, stable code and optional extra response headers."""

    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error body (services.contracts.errors, which the gateway parses other services' errors
    with); the X-Request-ID header is added by RequestContext to every response."""
    body = ErrorResponse(
        error=ErrorBody(code=code, message=message, details=details, request_id=request_id_var.get())
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


class RequestContext:
    """Request id, body size limit, one access log line and the observer call for each HTTP request."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, observe: RequestObserver | None = None) -> None:
        self.app, self.max_body_bytes, self.observe = app, max_body_bytes, observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:200] or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status: int | None = None  # set once the response has started

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            limited = await self._limited(scope, headers, receive, send_with_id)
            if limited is not None:
                await self.app(scope, limited, send_with_id)
        except Exception:  # the error shape is written here, while the request id is still known
            logger.exception("unhandled error")
            if status is not None:
                raise
            response = error_response(
                500, "internal_error", "internal error; quote the request id when reporting it"
            )
            await response(scope, receive, send_with_id)
        finally:
            self._record(scope, status or 500, time.perf_counter() - started)
            request_id_var.reset(token)

    async def _limited(
        self, scope: Scope, headers: dict[bytes, bytes], receive: Receive, send: Send
    ) -> Receive | None:
        """The receive channel to use, or None once a 413 has been sent for an oversized body.

        A declared Content-Length is trusted; a body sent without one (chunked) is read up to the limit."""
        declared = headers.get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) <= self.max_body_bytes:
                return receive
            await self._reject(scope, receive, send)
            return None
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return receive
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                await self._reject(scope, receive, send)
                return None
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        return replay

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "payload_too_large", f"request body exceeds {self.max_body_bytes} bytes"
        )
        await response(scope, receive, send)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        if self.observe is not None:
            self.observe(route, status, seconds)
        fields = log_fields(method=scope["method"], route=route, status=status, ms=round(seconds * 1000, 3))
        logger.info("request", extra=fields)


def _field(location: tuple[Any, ...]) -> str:
    """("body", "features", "x") -> "features.x"; the whole body (or a JSON syntax error) -> "body"."""
    path = location[1:] if location[:1] == ("body",) and len(location) > 1 else location
    return ".".join(str(part) for part in path) if path and isinstance(path[0], str) else "body"


def _value(value: Any) -> Any:
    """The offending input when it is one value (JSON-safe: a non-finite number is shown as text)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, str | int | float | bool) else None


def _problem(error: Any) -> dict[str, Any]:
    problem = {"field": _field(tuple(error["loc"])), "reason": error["msg"]}
    value = _value(error.get("input"))
    return problem if value is None else {**problem, "value": value}


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [_problem(e) for e in exc.errors()]
    problems = "; ".join(
        f"{d['field']} = {d['value']!r}: {d['reason']}" if "value" in d else f"{d['field']}: {d['reason']}"
        for d in details[:MAX_PROBLEMS_IN_MESSAGE]
    )
    more = (
        f" (and {len(details) - MAX_PROBLEMS_IN_MESSAGE} more)"
        if len(details) > MAX_PROBLEMS_IN_MESSAGE
        else ""
    )
    return error_response(422, "invalid_input", f"invalid request: {problems}{more}", details)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return error_response(exc.status_code, _CODES.get(exc.status_code, "http_error"), str(exc.detail))


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable", extra=log_fields(error=str(exc).strip()))
    return error_response(
        503,
        "database_unavailable",
        "the database cannot be reached; retry later",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def freeze_startup_heap() -> None:
    """Call once start-up is done. The objects imports and pools leave behind (140k-280k per service)
    would be rescanned by every full garbage collection: a 100-250 ms pause every thousand-odd requests.
    Frozen, the collector skips them; start-up garbage is collected first so it is not kept for good."""
    gc.collect()
    gc.freeze()


def install(app: FastAPI, max_body_bytes: int, observe: RequestObserver | None = None) -> None:
    """Wire the middleware and the error handlers into `app`."""
    app.add_middleware(RequestContext, max_body_bytes=max_body_bytes, observe=observe)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for outage in DATABASE_OUTAGES:
        app.add_exception_handler(outage, _database_unavailable)
