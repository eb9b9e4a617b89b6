"""API-key authentication and scopes for /v1: 401 for a missing or unknown key, 403 for a missing scope.

Looked-up keys are cached in memory for a few seconds, so the hot path does not query Postgres on every
request; a revoked key therefore stops working within `api_key_cache_s`. While Postgres is down, keys
seen before keep working and others get a 503.
"""

import time
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from services.common.http import ApiError
from services.gateway.key_store import ApiKey, find_key, key_id_of, matches

UNAUTHORIZED = "send a valid API key in the X-API-Key header (create one with `credit keys create`)"


@dataclass
class KeyCache:
    """Active key records by key id, each trusted for `ttl_s` seconds after it was read."""

    engine: Engine
    ttl_s: float
    _entries: dict[str, tuple[ApiKey, float]] = field(default_factory=dict)

    async def lookup(self, key_id: str) -> ApiKey | None:
        cached = self._entries.get(key_id)
        if cached is not None and time.monotonic() - cached[1] < self.ttl_s:
            return cached[0]
        try:
            record = await run_in_threadpool(find_key, self.engine, key_id)
        except SQLAlchemyError as error:
            if cached is not None:  # Postgres down: a key seen before keeps working
                return cached[0]
            raise ApiError(
                503, "auth_unavailable", "API keys cannot be checked now", headers={"Retry-After": "5"}
            ) from error
        if record is not None:
            self._entries[key_id] = (record, time.monotonic())
        return record


async def authenticate(cache: KeyCache, presented: str | None) -> ApiKey:
    """The active key record behind the presented key, or a 401."""
    key_id = key_id_of(presented or "")
    record = None if key_id is None else await cache.lookup(key_id)
    if record is None or record.revoked_at is not None or not matches(record, presented or ""):
        raise ApiError(401, "unauthorized", UNAUTHORIZED)
    return record


def require_scope(record: ApiKey, scope: str) -> None:
    if scope not in record.scopes:
        raise ApiError(
            403, "forbidden", f"this API key lacks the {scope!r} scope", {"scopes": list(record.scopes)}
        )
