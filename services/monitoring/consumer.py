"""Consume the `decisions` and `scoring:shadow` streams into Postgres, exactly once.

A consumer group remembers what was delivered; an entry is acknowledged (XACK) only after the batch that
holds it is committed, and rows are keyed by their producer's id (ON CONFLICT DO NOTHING), so a crash
between commit and XACK replays entries harmlessly. While monitoring is down the streams keep growing;
when it returns the backlog drains. Entries a dead consumer read but never acknowledged are claimed
after `claim_idle_ms` (XAUTOCLAIM).
"""

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions
import redis
from pydantic import BaseModel, ValidationError

from services.contracts.events import DECISION_FIELD, DecisionEvent, RecourseEvent, ShadowEvent
from services.monitoring import events, recourse
from services.monitoring.metrics import CONSUMER_ERRORS, DECISIONS_LOGGED, STREAM_ENTRIES
from services.monitoring.replay import DigestRecorder
from services.monitoring.settings import MonitoringSettings

logger = logging.getLogger(__name__)
RETRY_SECONDS = 2.0
Entry = tuple[str, dict[str, str]]


@dataclass(frozen=True)
class StreamKind:
    """How one stream's entries become rows: the model that parses them and the insert that writes them."""

    model: type[BaseModel]
    packed: bool  # the event is JSON in the single field `data` (gateway) rather than flat fields
    write: Callable[[psycopg2.extensions.cursor, list[Any]], int]


def _write_decisions(cur: psycopg2.extensions.cursor, parsed: list[Any]) -> int:
    decisions = events.insert_decisions(cur, parsed)
    for decision in decisions:
        DECISIONS_LOGGED.labels(decision).inc()
    return len(decisions)


def stream_kinds(settings: MonitoringSettings) -> dict[str, StreamKind]:
    return {
        settings.decisions_stream: StreamKind(DecisionEvent, True, _write_decisions),
        settings.shadow_stream: StreamKind(ShadowEvent, False, events.insert_shadows),
        settings.recourse_stream: StreamKind(RecourseEvent, True, recourse.insert_recourse),
    }


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def parse(kind: StreamKind, fields: dict[str, str]) -> BaseModel:
    """The event inside an entry; raises ValueError naming what is wrong."""
    if not kind.packed:
        return kind.model.model_validate(fields)
    if DECISION_FIELD not in fields:
        raise ValueError(f"entry has no `{DECISION_FIELD}` field")
    return kind.model.model_validate_json(fields[DECISION_FIELD])


class StreamConsumer:
    """One member of the consumer group; `run` loops until `stop` is set, surviving Redis/Postgres outages."""

    def __init__(
        self, settings: MonitoringSettings, name: str | None = None, digests: DigestRecorder | None = None
    ) -> None:
        self.settings = settings
        self.digests = digests  # the service's consumer digests each new model version (replay.py)
        self.name = name or settings.consumer_name or default_consumer_name()
        self.kinds = stream_kinds(settings)
        self.redis = redis.Redis.from_url(settings.redis_url, decode_responses=True)
        self._conn: psycopg2.extensions.connection | None = None
        self._backlog = True  # entries delivered to this name earlier and not yet acknowledged

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.step()
            except (redis.RedisError, psycopg2.Error) as error:
                self._retry_after(stop, f"stream consumer retrying after error: {error}")
            except Exception:  # a bug must not end the thread silently: log it, keep the entries pending
                logger.exception("stream consumer failed")
                self._retry_after(stop, "stream consumer retrying after an unexpected error")

    def _retry_after(self, stop: threading.Event, message: str) -> None:
        CONSUMER_ERRORS.inc()
        logger.warning(message)
        self._reset()
        stop.wait(RETRY_SECONDS)

    def step(self, block: bool = True) -> int:
        """Claim stale entries, then handle one batch: this consumer's backlog first, then new entries."""
        if self._backlog:
            self.ensure_groups()
        handled = self.claim_stale()
        start = "0" if self._backlog else ">"
        replies = self.redis.xreadgroup(
            self.settings.consumer_group,
            self.name,
            dict.fromkeys(self.kinds, start),
            count=self.settings.consumer_batch,
            block=self.settings.consumer_block_ms if block and not self._backlog else None,
        )
        batch = {stream: entries for stream, entries in replies or [] if entries}
        if self._backlog and not batch:
            self._backlog = False
        return handled + sum(self.handle(stream, entries) for stream, entries in batch.items())

    def drain(self) -> int:
        """Handle everything pending and new without blocking; returns entries handled (CLI, tests)."""
        total = 0
        while True:
            reading_backlog = self._backlog
            handled = self.step(block=False)
            total += handled
            if handled == 0 and not reading_backlog:
                return total

    def ensure_groups(self) -> None:
        """Create the group at the start of each stream (MKSTREAM) so no entry predates it."""
        for stream in self.kinds:
            try:
                self.redis.xgroup_create(stream, self.settings.consumer_group, id="0", mkstream=True)
            except redis.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise

    def claim_stale(self) -> int:
        """Take over entries other consumers read but did not acknowledge within `claim_idle_ms`."""
        handled = 0
        for stream in self.kinds:
            cursor = "0-0"
            while True:
                cursor, entries, *_ = self.redis.xautoclaim(
                    stream, self.settings.consumer_group, self.name,
                    min_idle_time=self.settings.claim_idle_ms, start_id=cursor,
                    count=self.settings.consumer_batch,
                )  # fmt: skip
                live = [entry for entry in entries if entry[1] is not None]
                if live:
                    handled += self.handle(stream, live)
                if cursor == "0-0":
                    break
        return handled

    def handle(self, stream: str, entries: list[Entry]) -> int:
        """Write one stream's batch in one transaction, then acknowledge it."""
        kind = self.kinds[stream]
        parsed, rejected = [], []
        for entry_id, fields in entries:
            try:
                parsed.append(parse(kind, fields))
            except (ValidationError, ValueError) as error:
                rejected.append((entry_id, fields, str(error)[:2000]))
        conn = self._connection()
        with conn.cursor() as cur:
            inserted = kind.write(cur, parsed) if parsed else 0
            if rejected:
                events.insert_rejected(cur, stream, rejected)
        conn.commit()
        if self.digests is not None and kind.model is DecisionEvent:
            self.digests.saw({event.model_version for event in parsed})
        self.redis.xack(stream, self.settings.consumer_group, *(entry_id for entry_id, _ in entries))
        STREAM_ENTRIES.labels(stream, "inserted").inc(inserted)
        STREAM_ENTRIES.labels(stream, "duplicate").inc(len(parsed) - inserted)
        STREAM_ENTRIES.labels(stream, "rejected").inc(len(rejected))
        if rejected:
            logger.warning("rejected %d malformed %s entries", len(rejected), stream)
        return len(entries)

    def close(self) -> None:
        self._reset()
        self.redis.close()

    def _connection(self) -> psycopg2.extensions.connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(self.settings.database_url)
        return self._conn

    def _reset(self) -> None:
        """After an error: drop the connection and re-read this consumer's unacknowledged entries."""
        self._backlog = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def run_in_thread(settings: MonitoringSettings) -> tuple[threading.Thread, threading.Event]:
    """The service's background consumer; set the event to stop it."""
    stop = threading.Event()
    digests = (
        DigestRecorder(settings.database_url, settings.mlflow_tracking_uri)
        if settings.model_digests
        else None
    )
    consumer = StreamConsumer(settings, digests=digests)

    def loop() -> None:
        try:
            consumer.run(stop)
        finally:
            consumer.close()

    thread = threading.Thread(target=loop, name="stream-consumer", daemon=True)
    thread.start()
    return thread, stop
