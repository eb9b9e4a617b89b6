"""A score's body, validated straight from the bytes received and forwarded as received.

FastAPI reads a JSON body with the standard library's `json.loads` and validates the dict it gives; a new
application's body (the application and ~130 history rows, ~30 KB) is worth doing better for. Here
pydantic validates the bytes in one pass (its own JSON parser, no dict in between) and FastAPI is handed the
model, which it takes as it is. A body that fails is handed back as `json.loads` reads it, so FastAPI
finds exactly the errors (and writes exactly the 422) it did before; valid bodies are valid either way.

A new application's body validated from its bytes is already what the features service's
`POST /features/compute` takes (the same application and history models), so it goes there as received
instead of being dumped and encoded again.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

from services.gateway.schemas import ScoreRequest


class ScoreBodyRequest(Request):
    """`json()` is what FastAPI calls for a JSON body: the validated model when the bytes are valid."""

    validated: ScoreRequest | None = None  # the body, when it validated from its bytes

    async def json(self) -> Any:
        try:
            self.validated = ScoreRequest.model_validate_json(await self.body())
        except ValidationError:
            return await super().json()  # FastAPI validates this again and reports what is wrong
        return self.validated


class ScoreBodyRoute(APIRoute):
    """The route class of `POST /v1/scores` (FastAPI's pattern for a custom request class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_score_body(request: Request) -> Response:
            return await handler(ScoreBodyRequest(request.scope, request.receive))

        return with_score_body


async def forwardable(request: Request, body: ScoreRequest) -> bytes | None:
    """The received bytes when they are a valid `ComputeRequest` as they are: a new application whose body
    validated from its bytes and names no `client_id` (not even null, which the features service refuses)."""
    if not isinstance(request, ScoreBodyRequest) or request.validated is not body:
        return None
    if body.application is None or "client_id" in body.model_fields_set:
        return None
    return await request.body()
