"""The training worker: retraining jobs from the `training` queue (Redis, REDIS_URL), and with
TRAINING_RETRAIN_INTERVAL_S a beat schedule that requests one. Continuous training, never continuous
promotion: a job only ever makes a challenger awaiting a person's approval (retrain.py).

Worker and beat in one process:
    celery -A services.training.tasks worker --beat -Q training --concurrency 1 --loglevel INFO
acks_late + reject_on_worker_lost: a job is acknowledged once finished, so a killed worker's job stays in
Redis and is redelivered after TRAINING_VISIBILITY_TIMEOUT_S, then redone.
"""

import logging
from pathlib import Path

from celery import Celery, Task

from services.contracts.training import RETRAIN_TASK, TRAINING_QUEUE, RetrainRequest, Trigger
from services.training.queue import enqueue
from services.training.settings import TrainingSettings

SCHEDULE_TASK = "training.scheduled_retrain"
logger = logging.getLogger(__name__)


def _schedule(settings: TrainingSettings) -> dict:
    if settings.retrain_interval_s <= 0:
        return {}
    every = settings.retrain_interval_s
    return {"retrain": {"task": SCHEDULE_TASK, "schedule": every, "options": {"expires": every}}}


def create_app(settings: TrainingSettings) -> Celery:
    schedule_file = Path(settings.beat_schedule_file)
    schedule_file.parent.mkdir(parents=True, exist_ok=True)
    app = Celery("training", broker=settings.redis_url)
    app.conf.update(
        task_default_queue=TRAINING_QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            "unacked_restore_interval": max(1, min(settings.visibility_timeout_s // 2, 300)),
        },
        worker_hijack_root_logger=False,
        beat_schedule_filename=str(schedule_file),
        beat_schedule=_schedule(settings),
    )
    return app


app = create_app(TrainingSettings())


@app.task(name=RETRAIN_TASK, bind=True)
def retrain(self: Task, request: dict) -> str | None:
    """One retraining; returns the new version, or None when another job runs or has served it."""
    from services.training import retrain as job  # LightGBM and MLflow: imported in the worker only

    parsed = RetrainRequest.model_validate(request)
    try:
        return job.run_retraining(TrainingSettings(), parsed, self.request.id).version
    except (job.RetrainingRunning, job.AlreadyServed) as skipped:
        logger.info("retraining skipped: %s", skipped)
        return None


@app.task(name=SCHEDULE_TASK)
def scheduled_retrain() -> str:
    """A beat tick: request a retraining now (stamped with the tick's time, so it can be coalesced)."""
    every = TrainingSettings().retrain_interval_s
    request = RetrainRequest(trigger=Trigger.SCHEDULE, reason=f"scheduled every {every:g} s")
    return enqueue(app, request)
