"""One drift job: window of logged decisions vs the serving version's reference sample, stored as a run.

Every job leaves a run row, so failures are counted and visible: `ok` (tested), `skipped` (nothing to
compare yet: no serving version or too few decisions), `failed` (the serving version's registry entry or
reference sample, MLflow or the data could not be read).
A Postgres advisory lock keeps the scheduled job, the CLI and the API from running two jobs at once.
"""

import logging
import time
from contextlib import closing
from datetime import UTC, datetime

import polars as pl
import psycopg2
import psycopg2.extensions

from services.common.db import advisory_lock
from services.model.reference import (
    ReferenceUnavailable,
    feature_columns,
    reference_sample,
    serving_version,
    validation_auc,
)
from services.monitoring import drift_store
from services.monitoring.drift_store import RunRecord
from services.monitoring.settings import MonitoringSettings
from services.monitoring.window import PD_COLUMN, load_window

logger = logging.getLogger(__name__)
LOCK_KEY = "monitoring:drift_job"  # advisory lock of the drift job (services/common/db.py)


class JobAlreadyRunning(RuntimeError):
    """Another drift job holds the lock."""


class NotEnoughData(RuntimeError):
    """Nothing to compare yet; the run is recorded as skipped."""


def run_job(settings: MonitoringSettings) -> int:
    """Run one job for the version behind `settings.model_alias`; returns the run id (any status)."""
    with (
        closing(psycopg2.connect(settings.database_url)) as conn,
        advisory_lock(conn, LOCK_KEY, wait=False) as held,
    ):
        if not held:
            raise JobAlreadyRunning("a drift job is already running")
        return _run_locked(conn, settings)


def compare_version(
    conn: psycopg2.extensions.connection,
    settings: MonitoringSettings,
    version: str,
    reference: pl.DataFrame,
    version_auc: float | None = None,
) -> int:
    """Test the window of `version` against `reference` and store the run (the job minus MLflow);
    `version_auc` is the version's validation AUC, stored with the run.

    Evidently is imported here, on the first run: it takes seconds to import, and the monitoring
    service and its scheduler would otherwise pay for it at every start."""
    from services.monitoring import report
    from services.monitoring.drift import compare

    started, clock = datetime.now(UTC), time.perf_counter()
    features = feature_columns(reference)
    window = load_window(settings.database_url, version, features, settings.drift_window_rows)
    if window.rows < settings.drift_min_rows:
        raise NotEnoughData(
            f"{window.rows} decisions of version {version} logged;"
            f" a drift job needs {settings.drift_min_rows}"
        )
    result = compare(
        reference, window.frame, features, settings.drift_share_threshold,
        reference["PD"].to_numpy(), window.frame[PD_COLUMN].to_numpy(),
    )  # fmt: skip
    html = report.render(
        reference, window.frame, result, settings.drift_report_features, settings.drift_share_threshold
    )
    record = RunRecord(
        status="ok", started_at=started, finished_at=datetime.now(UTC),
        duration_s=time.perf_counter() - clock, model_version=version, window_start=window.start,
        window_end=window.end, current_rows=window.rows, reference_rows=reference.height,
        validation_auc=version_auc,
    )  # fmt: skip
    return drift_store.save_run(conn, record, result, html)


def _run_locked(conn: psycopg2.extensions.connection, settings: MonitoringSettings) -> int:
    started, clock = datetime.now(UTC), time.perf_counter()
    version = None
    try:
        version = serving_version(settings.mlflow_tracking_uri, settings.model_alias)
        reference = reference_sample(settings.mlflow_tracking_uri, version)
        version_auc = validation_auc(settings.mlflow_tracking_uri, version)
        run_id = compare_version(conn, settings, version, reference, version_auc)
        status, error = "ok", None
    except (NotEnoughData, ReferenceUnavailable) as reason:
        status, error = "skipped", str(reason)
    except Exception as reason:  # recorded as a failed run, counted and alerted on, never lost
        conn.rollback()
        status, error = "failed", f"{type(reason).__name__}: {reason}"
        logger.exception("drift job failed")
    if status == "ok":
        return run_id
    record = RunRecord(
        status=status, started_at=started, finished_at=datetime.now(UTC),
        duration_s=time.perf_counter() - clock, error=error, model_version=version,
    )  # fmt: skip
    return drift_store.save_run(conn, record)
