"""The error responses the gateway's OpenAPI documents: every /v1 route may answer these, in the one error
shape of services.common.http."""

from typing import Any

from services.contracts.errors import ErrorResponse

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
