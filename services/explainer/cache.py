"""Redis layout of the explainer: one JSON record (status, reason, result) per explanation or importance
job, so the client (client.py) polls plain keys and never Celery's result API. Only this package knows
the layout:

    explainer:v3:record:{explanation id}          explanation status + result, TTL = result TTL
    explainer:v3:record:importance-{version}      global importance status + result, no TTL (a version's
    explainer:v3:importance-png:{version}         importance never changes), and its PNG plot

The `v3` is the layout of the result: it changes with the result's schema, so a platform upgraded in
place never reads an older worker's record as a new one (it computes the explanation again).
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from services.contracts.explanations import Status

PREFIX = "explainer:v3"  # v3: recourse offers of refusals; v2: reasons by family


@dataclass(frozen=True)
class Record:
    status: Status
    reason: str | None = None
    result: dict[str, Any] | None = None

    def to_json(self) -> str:
        """orjson: a worker writes a record per explanation and the gateway reads them on every poll."""
        return orjson.dumps({"status": self.status, "reason": self.reason, "result": self.result}).decode()

    @classmethod
    def from_json(cls, raw: bytes) -> "Record":
        data = orjson.loads(raw)
        return cls(Status(data["status"]), data["reason"], data["result"])


def explanation_id(version: str, features: Mapping[str, float | None]) -> str:
    """Same version and same values -> same id, whatever the key order or int/float spelling: the id is
    the cache key, so a repeated request finds the finished explanation. orjson sorts the keys and writes
    NaN as null in C: the gateway computes this id on every score (a Python sort of the pairs took 5x)."""
    if any(type(value) is int for value in features.values()):
        features = {name: None if value is None else float(value) for name, value in features.items()}
    canonical = orjson.dumps(features, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return f"{version}-{hashlib.sha256(canonical).hexdigest()[:24]}"


def importance_id(version: str) -> str:
    return f"importance-{version}"


class RecordStore:
    """The worker's side of the records (a Celery task is synchronous); `ttl` None keeps a record for good."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def get(self, record_id: str) -> Record | None:
        raw = self.client.get(record_key(record_id))
        return None if raw is None else Record.from_json(raw)

    def put(self, record_id: str, record: Record, ttl: int | None) -> None:
        self.client.set(record_key(record_id), record.to_json(), ex=ttl)

    def get_many(self, record_ids: Sequence[str]) -> list[Record | None]:
        """One round trip (MGET) for a batch's records, in the order asked."""
        raws = self.client.mget([record_key(record_id) for record_id in record_ids])
        return [None if raw is None else Record.from_json(raw) for raw in raws]

    def put_many(self, records: Mapping[str, Record], ttl: int | None) -> None:
        """One round trip (a pipeline of SETs) for a batch's records."""
        if not records:
            return
        with self.client.pipeline(transaction=False) as pipe:
            for record_id, record in records.items():
                pipe.set(record_key(record_id), record.to_json(), ex=ttl)
            pipe.execute()

    def put_png(self, version: str, png: bytes) -> None:
        self.client.set(png_key(version), png)


def record_key(record_id: str) -> str:
    return f"{PREFIX}:record:{record_id}"


def png_key(version: str) -> str:
    return f"{PREFIX}:importance-png:{version}"
