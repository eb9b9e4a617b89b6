"""Blocking database work behind the HTTP routes (each call opens and closes one connection)."""

from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import redis

from services.contracts.outcomes import OutcomeIn, RejectedOutcome, SettledOutcome
from services.contracts.reviews import ReviewRecordIn
from services.model.fairness import GroupRate
from services.monitoring import drift_store, reviews
from services.monitoring.fairness import approval_by_group
from services.monitoring.outcomes import outcome_of, settle
from services.monitoring.performance import Performance, window_performance
from services.monitoring.vintages import Vintage, first_of_month, vintages


def drift_run(database_url: str, run_id: int | None, top: int) -> dict[str, Any] | None:
    with closing(psycopg2.connect(database_url)) as conn:
        return drift_store.get_run(conn, run_id, top)


def drift_report(database_url: str, run_id: int) -> str | None:
    with closing(psycopg2.connect(database_url)) as conn:
        return drift_store.get_report(conn, run_id)


def settle_outcomes(
    database_url: str, outcomes: list[OutcomeIn], source_request_id: str
) -> tuple[list[SettledOutcome], list[RejectedOutcome]]:
    with closing(psycopg2.connect(database_url)) as conn:
        with conn.cursor() as cur:
            found = settle(cur, outcomes, source_request_id)
        conn.commit()
    return found


def decision_outcome(database_url: str, request_id: str) -> dict[str, Any] | None:
    with closing(psycopg2.connect(database_url)) as conn, conn.cursor() as cur:
        return outcome_of(cur, request_id)


def performance(database_url: str, days: float) -> Performance:
    with closing(psycopg2.connect(database_url)) as conn:
        return window_performance(conn, datetime.now(UTC) - timedelta(days=days))


def by_vintage(database_url: str, months: int) -> list[Vintage]:
    with closing(psycopg2.connect(database_url)) as conn:
        return vintages(conn, first_of_month(datetime.now(UTC), months))


def fairness(database_url: str, hours: float) -> list[GroupRate]:
    with closing(psycopg2.connect(database_url)) as conn:
        return approval_by_group(conn, datetime.now(UTC) - timedelta(hours=hours))


def pending_reviews(database_url: str, limit: int) -> tuple[int, list[dict[str, Any]]]:
    with closing(psycopg2.connect(database_url)) as conn:
        return reviews.pending(conn, limit)


def review_decision(database_url: str, request_id: str, review: ReviewRecordIn) -> dict[str, Any] | None:
    """Record the review (raises DecisionNotFound or ReviewConflict), then the decision's full record."""
    with closing(psycopg2.connect(database_url)) as conn:
        reviews.record(conn, request_id, review)
        conn.commit()
        return reviews.decision_record(conn, request_id)


def decision_record(database_url: str, request_id: str) -> dict[str, Any] | None:
    with closing(psycopg2.connect(database_url)) as conn:
        return reviews.decision_record(conn, request_id)


def ping(database_url: str, redis_url: str) -> None:
    """Raises when Postgres (with the monitoring tables) or Redis does not answer."""
    with closing(psycopg2.connect(database_url, connect_timeout=3)) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM drift_runs LIMIT 1")
    with redis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3) as client:
        client.ping()
