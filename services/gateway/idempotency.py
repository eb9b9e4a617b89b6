"""Idempotency-Key on POSTs: a retried request with the same key and body gets the first answer.

The first request claims the key in Redis (SET NX, with the body's fingerprint) before doing anything;
its answer replaces the claim, kept for `idempotency_ttl_s`. A retry with the same key and body is given
that answer (same request id: no second decision logged, no second review); a different body under the
same key, or a retry while the first is still running, is a 409. Keys are per API key and per route, so
two callers cannot collide. If the first request fails, the claim is dropped and a retry runs afresh.
Without Redis no promise can be kept: a request carrying a key is a 503 then.
"""

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.common.http import ApiError

T = TypeVar("T", bound=BaseModel)
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyStore:
    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis, self.ttl_s = redis, ttl_s

    async def run(
        self, scope: str, key: str | None, body: BaseModel, answer: Callable[[], Awaitable[T]]
    ) -> T | JSONResponse:
        """`answer()` once per (scope, key, body) within the TTL; without a key, every time."""
        if key is None:
            return await answer()
        slot = f"idempotency:{scope}:{hashlib.sha256(key.encode()).hexdigest()}"
        fingerprint = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        try:
            claimed = await self.redis.set(
                slot, json.dumps({"fingerprint": fingerprint}), nx=True, ex=self.ttl_s
            )
            if not claimed:
                return await self._replay(slot, fingerprint)
        except RedisError as error:
            raise _unavailable() from error
        try:
            result = await answer()
        except BaseException:
            await self._release(slot)
            raise
        stored = {"fingerprint": fingerprint, "answer": result.model_dump(mode="json")}
        try:
            await self.redis.set(slot, json.dumps(stored), ex=self.ttl_s)
        except RedisError as error:
            raise _unavailable() from error
        return result

    async def _replay(self, slot: str, fingerprint: str) -> JSONResponse:
        raw = await self.redis.get(slot)
        if raw is None:  # expired between the two calls: the caller may retry
            raise ApiError(
                409, "idempotency_key_in_use", "the first request with this key just expired; retry"
            )
        stored = json.loads(raw)
        if stored["fingerprint"] != fingerprint:
            raise ApiError(
                409, "idempotency_key_reused", "this Idempotency-Key was used with a different request body"
            )
        if "answer" not in stored:
            raise ApiError(
                409,
                "idempotency_key_in_use",
                "the first request with this Idempotency-Key is still being answered; retry shortly",
                headers={"Retry-After": "1"},
            )
        return JSONResponse(stored["answer"], headers={REPLAYED_HEADER: "true"})

    async def _release(self, slot: str) -> None:
        with contextlib.suppress(RedisError):  # else the claim expires with its TTL
            await self.redis.delete(slot)


def _unavailable() -> ApiError:
    return ApiError(
        503,
        "idempotency_unavailable",
        "requests with an Idempotency-Key cannot be answered while Redis is down; retry later",
        headers={"Retry-After": "5"},
    )
