"""Periodic drift jobs: Celery beat enqueues `run_drift` every MONITORING_DRIFT_INTERVAL_S on its own queue.

Worker and scheduler in one process for a small deployment:
    celery -A services.monitoring.celery_app worker --beat -Q monitoring --loglevel INFO
Two jobs never overlap (the job takes a Postgres advisory lock); a beat tick that finds one running
returns without doing anything. A run that finds drift (or a low estimated AUC) queues a retraining when
MONITORING_RETRAIN_ON_DRIFT (MONITORING_RETRAIN_ON_ESTIMATED_AUC) is on (retraining.py).
"""

import logging
from pathlib import Path

from celery import Celery

from services.monitoring.drift_job import JobAlreadyRunning, run_job
from services.monitoring.retraining import after_drift_run
from services.monitoring.settings import MonitoringSettings

QUEUE = "monitoring"
logger = logging.getLogger(__name__)


def _schedule_file(settings: MonitoringSettings) -> Path:
    """Beat's last-run times are runtime state: under .run/ with the other local processes' files."""
    path = Path(settings.beat_schedule_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def create_app(settings: MonitoringSettings) -> Celery:
    app = Celery("monitoring", broker=settings.redis_url)
    app.conf.update(
        task_default_queue=QUEUE,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule_filename=str(_schedule_file(settings)),
        beat_schedule={
            "drift": {
                "task": "monitoring.run_drift",
                "schedule": settings.drift_interval_s,
                "options": {"expires": settings.drift_interval_s},  # a stale tick is dropped, not queued up
            }
        },
    )
    return app


app = create_app(MonitoringSettings())


@app.task(name="monitoring.run_drift")
def run_drift() -> int | None:
    """One drift job; returns its run id, or None when another job was still running."""
    settings = MonitoringSettings()
    try:
        run_id = run_job(settings)
    except JobAlreadyRunning:
        logger.info("drift job skipped: the previous one is still running")
        return None
    try:
        after_drift_run(app, settings, run_id)
    except Exception:  # the run is stored either way; a broker hiccup must not fail the drift job
        logger.exception("could not queue the retraining drift run %s asked for", run_id)
    return run_id
