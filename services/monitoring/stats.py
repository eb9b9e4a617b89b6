"""Everything the dashboards read from Postgres, gathered in one pass: latest drift run, decision window,
realised and estimated performance, fairness and the review queue (vintages, slower to change, are read
on their own)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2.extensions

from services.model.fairness import GroupRate
from services.monitoring import drift_store, reviews
from services.monitoring.approval import APPROVED
from services.monitoring.fairness import approval_by_group
from services.monitoring.performance import Performance, window_performance
from services.monitoring.settings import MonitoringSettings


@dataclass(frozen=True)
class DecisionWindow:
    decisions: int
    approval_rate: float | None
    review_share: float | None  # of the window's decisions, sent to an officer by the model
    mean_pd: float | None


@dataclass(frozen=True)
class Snapshot:
    latest_run: dict[str, Any] | None  # latest drift run with its top features
    latest_ok_run: dict[str, Any] | None
    runs_by_status: dict[str, int]
    window: DecisionWindow
    performance: Performance
    fairness: list[GroupRate]
    reviews: reviews.ReviewFigures


def decision_window(conn: psycopg2.extensions.connection, since: datetime) -> DecisionWindow:
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT count(*), avg({APPROVED}::int), avg((d.decision = 'review')::int), avg(d.pd)"
            " FROM decision_log d WHERE d.decided_at >= %s",
            (since,),
        )
        count, *shares = cur.fetchone()
    approval, review, mean_pd = (None if v is None else float(v) for v in shares)
    return DecisionWindow(int(count), approval, review, mean_pd)


def latest_ok_run(conn: psycopg2.extensions.connection, top: int) -> dict[str, Any] | None:
    with conn.cursor() as cur:
        cur.execute("SELECT max(id) FROM drift_runs WHERE status = 'ok'")
        run_id = cur.fetchone()[0]
    return None if run_id is None else drift_store.get_run(conn, int(run_id), top)


def snapshot(conn: psycopg2.extensions.connection, settings: MonitoringSettings) -> Snapshot:
    now = datetime.now(UTC)
    window_start = now - timedelta(hours=settings.stats_window_hours)
    return Snapshot(
        latest_run=drift_store.get_run(conn, None, settings.top_drift_features),
        latest_ok_run=latest_ok_run(conn, settings.top_drift_features),
        runs_by_status=drift_store.runs_by_status(conn),
        window=decision_window(conn, window_start),
        performance=window_performance(conn, now - timedelta(days=settings.performance_window_days)),
        fairness=approval_by_group(conn, window_start),
        reviews=reviews.figures(conn, window_start),
    )
