"""Redis layout of the explainer: one JSON record (status, reason, result) per explanation or importance
job, so the gateway polls plain keys and never Celery's result API.

    explainer:record:{explanation id}          explanation status + result, TTL = result TTL
    explainer:record:importance-{version}      global importance status + result, no TTL (a version's
    explainer:importance-png:{version}         importance never changes), and its PNG plot
"""

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis

from services.explainer.schemas import Status

PREFIX = "explainer"


@dataclass(frozen=True)
class Record:
    status: Status
    reason: str | None = None
    result: dict[str, Any] | None = None

    def to_json(self) -> str:
        return json.dumps({"status": self.status, "reason": self.reason, "result": self.result})

    @classmethod
    def from_json(cls, raw: bytes) -> "Record":
        data = json.loads(raw)
        return cls(Status(data["status"]), data["reason"], data["result"])


def explanation_id(version: str, features: Mapping[str, float | None]) -> str:
    """Same version and same values -> same id, whatever the key order or int/float spelling: the id is
    the cache key, so a repeated request finds the finished explanation."""
    canonical = json.dumps(
        sorted(
            (name, None if value is None or math.isnan(value) else float(value))
            for name, value in features.items()
        )
    )
    return f"{version}-{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"


def importance_id(version: str) -> str:
    return f"importance-{version}"


class RecordStore:
    """Status records under `explainer:record:{id}`; `ttl` None keeps a record for good."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def get(self, record_id: str) -> Record | None:
        raw = self.client.get(_record_key(record_id))
        return None if raw is None else Record.from_json(raw)

    def claim(self, record_id: str, ttl: int | None) -> bool:
        """Write `pending` only if no record exists: of concurrent submitters exactly one enqueues."""
        return bool(
            self.client.set(_record_key(record_id), Record(Status.PENDING).to_json(), ex=ttl, nx=True)
        )

    def put(self, record_id: str, record: Record, ttl: int | None) -> None:
        self.client.set(_record_key(record_id), record.to_json(), ex=ttl)

    def delete(self, record_id: str) -> None:
        self.client.delete(_record_key(record_id))

    def put_png(self, version: str, png: bytes) -> None:
        self.client.set(_png_key(version), png)

    def get_png(self, version: str) -> bytes | None:
        return self.client.get(_png_key(version))


def _record_key(record_id: str) -> str:
    return f"{PREFIX}:record:{record_id}"


def _png_key(version: str) -> str:
    return f"{PREFIX}:importance-png:{version}"
