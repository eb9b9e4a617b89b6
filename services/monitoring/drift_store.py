"""Drift runs in Postgres: the run's summary, every feature's test result and the HTML report."""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg2.extensions
from psycopg2.extras import RealDictCursor, execute_values

if TYPE_CHECKING:  # only the type: drift.py imports Evidently (seconds), needed by the drift job alone
    from services.monitoring.drift import DriftResult


@dataclass(frozen=True)
class RunRecord:
    """What a finished job knows, whatever its status."""

    status: str
    started_at: datetime
    finished_at: datetime
    duration_s: float
    error: str | None = None
    model_version: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    current_rows: int = 0
    reference_rows: int = 0
    validation_auc: float | None = None  # of the compared version, from the registry


def save_run(
    conn: psycopg2.extensions.connection,
    record: RunRecord,
    result: "DriftResult | None" = None,
    html: str | None = None,
) -> int:
    """Insert the run (and its features and report, if any) in one transaction; returns its id."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO drift_runs (status, started_at, finished_at, duration_s, error, model_version,"
            " window_start, window_end, current_rows, reference_rows, features_tested, drifted_features,"
            " drift_share, dataset_drift, score_psi, validation_auc) VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                record.status, record.started_at, record.finished_at, record.duration_s, record.error,
                record.model_version, record.window_start, record.window_end, record.current_rows,
                record.reference_rows,
                len(result.features) if result else 0,
                len(result.drifted) if result else 0,
                result.drift_share if result else None,
                result.dataset_drift if result else None,
                result.score_psi if result else None,
                record.validation_auc,
            ),
        )  # fmt: skip
        run_id = int(cur.fetchone()[0])
        if result is not None:
            execute_values(
                cur,
                "INSERT INTO drift_features (run_id, feature, stattest, score, threshold, drifted, severity)"
                " VALUES %s",
                [
                    (run_id, f.feature, f.stattest, f.score, f.threshold, f.drifted, f.severity)
                    for f in result.features
                ],
            )
        if html is not None:
            cur.execute("INSERT INTO drift_reports (run_id, html) VALUES (%s, %s)", (run_id, html))
    conn.commit()
    return run_id


def get_run(conn: psycopg2.extensions.connection, run_id: int | None, top: int) -> dict[str, Any] | None:
    """A run with its `top` most drifted features; run_id None = the latest run."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        where = "WHERE r.id = %s" if run_id is not None else ""
        cur.execute(
            "SELECT r.*, EXISTS (SELECT 1 FROM drift_reports p WHERE p.run_id = r.id) AS has_report"
            f" FROM drift_runs r {where} ORDER BY r.id DESC LIMIT 1",
            (run_id,) if run_id is not None else (),
        )
        run = cur.fetchone()
        if run is None:
            return None
        run = dict(run)
        run["top_features"] = top_features(cur, run["id"], top)
        return run


def top_features(cur: psycopg2.extensions.cursor, run_id: int, top: int) -> list[dict[str, Any]]:
    """The most drifted features of a run (highest severity: score relative to its test's threshold)."""
    cur.execute(
        "SELECT feature, stattest, score, threshold, drifted, severity FROM drift_features"
        " WHERE run_id = %s ORDER BY severity DESC LIMIT %s",
        (run_id, top),
    )
    return [dict(row) for row in cur.fetchall()]


def get_report(conn: psycopg2.extensions.connection, run_id: int) -> str | None:
    with conn.cursor() as cur:
        cur.execute("SELECT html FROM drift_reports WHERE run_id = %s", (run_id,))
        row = cur.fetchone()
    return None if row is None else str(row[0])


def runs_by_status(conn: psycopg2.extensions.connection) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT status, count(*) FROM drift_runs GROUP BY status")
        return {status: int(count) for status, count in cur.fetchall()}
