"""The lifecycle audit trail: who did what to which model version, when (Postgres `model_audit`,
append-only: migration 0009). Later lifecycle steps (replay, imports, scheduled retraining) add events
here by adding a member to `Event`; the table needs no change."""

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg2.extras import Json

from services.common.db import advisory_lock, raw_connection
from services.model.registry import MODEL_NAME

ACTOR_VARIABLE = "CREDIT_ACTOR"


def current_actor() -> str:
    """Who is acting when no name is given: $CREDIT_ACTOR, else the OS user."""
    return os.environ.get(ACTOR_VARIABLE) or getpass.getuser()


class Event(StrEnum):
    TRAINED = "trained"
    RETRAINED = "retrained"  # by a trigger (drift, estimated performance, schedule, manual): a challenger
    IMPORTED = "imported"  # a model trained outside the platform (a notebook), brought in by its author
    APPROVED = "approved"
    PROMOTED = "promoted"
    FORCED = "forced"  # a promotion whose gates failed, with a written justification
    ROLLED_BACK = "rolled_back"


CHAMPION_CHANGES = (Event.PROMOTED, Event.FORCED, Event.ROLLED_BACK)


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    event: str
    version: str
    actor: str
    detail: dict[str, Any]


@contextmanager
def champion_lock(database_url: str) -> Iterator[None]:
    """Held while a promotion or rollback reads the champion and moves it: two people acting at once
    run one after the other, each seeing the other's result (a session advisory lock, released with its
    connection if the process dies)."""
    with raw_connection(database_url) as conn, advisory_lock(conn, f"model_audit:champion:{MODEL_NAME}"):
        yield


def record(database_url: str, event: Event, version: str, actor: str, detail: dict[str, Any]) -> AuditRow:
    """Append one event; the database sets the time."""
    with raw_connection(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO model_audit (event, model_name, version, actor, detail) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING id, at",
            (event.value, MODEL_NAME, version, actor, Json(detail)),
        )
        row_id, at = cur.fetchone()
    return AuditRow(row_id, at, event.value, version, actor, detail)


def history(database_url: str, version: str | None = None) -> list[AuditRow]:
    """Every event in the order it happened, optionally for one version."""
    query = "SELECT id, at, event, version, actor, detail FROM model_audit WHERE model_name = %s"
    params: tuple[str, ...] = (MODEL_NAME,)
    if version is not None:
        query, params = f"{query} AND version = %s", (MODEL_NAME, version)
    with raw_connection(database_url) as conn, conn.cursor() as cur:
        cur.execute(f"{query} ORDER BY id", params)
        return [AuditRow(*row) for row in cur.fetchall()]


def champion_line(rows: list[AuditRow]) -> list[str]:
    """The champions in force, oldest first, replayed from promotions and rollbacks: a rollback returns
    to the one before, so the last two entries are the current champion and the one a rollback restores."""
    line: list[str] = []
    for row in rows:
        if row.event == Event.ROLLED_BACK:
            line.pop()
        elif row.event in CHAMPION_CHANGES:
            line.append(row.version)
    return line
