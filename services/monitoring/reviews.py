"""Officers' final say on decisions in review, stored on the decision itself, exactly once.

A review locks its decision row, checks it is a `review` decision without a final decision, then
updates it, so two officers, or a retried request, cannot both record one: the second gets
ReviewConflict. The queue and its
figures (length, oldest age, override rate) are read from the same rows.
"""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg2.extensions
from psycopg2.extras import RealDictCursor

from services.contracts.reviews import ReviewRecordIn

_PENDING = "d.decision = 'review' AND d.final_decision IS NULL"
_MODEL_SIDE = "CASE WHEN d.pd >= d.threshold THEN 'refused' ELSE 'approved' END"


class DecisionNotFound(LookupError):
    """No logged decision has this request id (unknown, or not consumed into the log yet)."""


class ReviewConflict(Exception):
    """The decision is not open for review: reviewed already, or not a `review` decision."""


@dataclass(frozen=True)
class ReviewFigures:
    pending: int
    oldest_age_s: float | None
    reviewed: int  # reviews recorded in the window
    overrides: int  # of which the officer decided against the model's side of the threshold

    @property
    def override_rate(self) -> float | None:
        return None if self.reviewed == 0 else self.overrides / self.reviewed


def pending(conn: psycopg2.extensions.connection, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """(how many wait, the oldest `limit` of them)."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(f"SELECT count(*) AS n FROM decision_log d WHERE {_PENDING}")
        count = cur.fetchone()["n"]
        cur.execute(
            "SELECT request_id, decided_at, client_id, model_version, pd, threshold, review_low, review_high,"
            f" warnings, explanation_id FROM decision_log d WHERE {_PENDING}"
            " ORDER BY decided_at, request_id LIMIT %s",
            (limit,),
        )
        return int(count), [_with_band(row) for row in cur.fetchall()]


def record(conn: psycopg2.extensions.connection, request_id: str, review: ReviewRecordIn) -> None:
    """Read the decision under a row lock, then update it: a concurrent review waits for the lock and then
    sees the first one, and a decision consumed into the log between two statements cannot be misread."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT decision, final_decision, reviewed_by FROM decision_log WHERE request_id = %s FOR UPDATE",
            (request_id,),
        )
        found = cur.fetchone()
        if found is None:
            raise DecisionNotFound(f"no decision {request_id!r} in the decision log")
        decision, final_decision, reviewed_by = found
        if final_decision is not None:
            raise ReviewConflict(f"decision {request_id!r} was reviewed already, by {reviewed_by}")
        if decision != "review":
            raise ReviewConflict(f"decision {request_id!r} is {decision}, not in review")
        cur.execute(
            "UPDATE decision_log SET final_decision = %s, review_reason = %s, review_note = %s,"
            " reviewed_by = %s, reviewed_at = now() WHERE request_id = %s",
            (review.decision, review.reason, review.note, review.actor, request_id),
        )


def decision_record(conn: psycopg2.extensions.connection, request_id: str) -> dict[str, Any] | None:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(
            f"SELECT d.*, n.names, r.recourse, {_MODEL_SIDE} AS model_side FROM decision_log d"
            " JOIN feature_name_sets n ON n.names_hash = d.names_hash"
            " LEFT JOIN decision_recourse r ON r.explanation_id = d.explanation_id WHERE d.request_id = %s",
            (request_id,),
        )
        row = cur.fetchone()
    if row is None:
        return None
    values = [None if math.isnan(v) else v for v in row["feature_values"]]
    review = None
    if row["final_decision"] is not None:
        review = {
            "decision": row["final_decision"],
            "reason": row["review_reason"],
            "note": row["review_note"],
            "actor": row["reviewed_by"],
            "reviewed_at": row["reviewed_at"],
        }
    return {
        **_with_band(row),
        "inputs": dict(zip(row["names"], values, strict=True)),
        "automated_decision": row["decision"],
        "review": review,
        "final_decision": row["final_decision"] or row["decision"],
    }


def figures(conn: psycopg2.extensions.connection, since: datetime) -> ReviewFigures:
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT count(*) FILTER (WHERE {_PENDING}),"
            f" extract(epoch FROM now() - min(d.decided_at) FILTER (WHERE {_PENDING})),"
            " count(*) FILTER (WHERE d.reviewed_at >= %s),"
            f" count(*) FILTER (WHERE d.reviewed_at >= %s AND d.final_decision <> {_MODEL_SIDE})"
            " FROM decision_log d WHERE d.decision = 'review'",
            (since, since),
        )
        waiting, oldest, reviewed, overrides = cur.fetchone()
    return ReviewFigures(
        int(waiting), None if oldest is None else float(oldest), int(reviewed), int(overrides)
    )


def _with_band(row: dict[str, Any]) -> dict[str, Any]:
    low, high = row.pop("review_low"), row.pop("review_high")
    return {**row, "review_band": None if low is None else {"low": low, "high": high}}
