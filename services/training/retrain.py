"""One retraining job: `credit train` on the latest labelled data, the new version registered as the
challenger (never the champion), its promotion report computed and logged on its run, and a `retrained`
audit event naming the trigger. The version's author is `retrain:<trigger>`, so four eyes still need a
person to approve it (services/model/lifecycle.py) before anyone may promote it.

Exactly once: the job holds a Postgres advisory lock, so two never train at once (a session lock, released
with its connection if the worker dies), and a request that a retraining finished after is already served
(skipped), so triggers that arrive while one runs start no second one.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime

import psycopg2.extensions

from services.common.db import advisory_lock, raw_connection
from services.common.migrations import migrate
from services.contracts.training import RetrainRequest
from services.model import audit, lifecycle, registry
from services.model.audit import Event
from services.model.gates import GateSettings
from services.model.mlflow_uri import connect
from services.training.cli import train_and_register
from services.training.cross_validation import TrainingConfig
from services.training.dataset import load_training_set
from services.training.settings import TrainingSettings

logger = logging.getLogger(__name__)
LOCK_KEY = f"training:retrain:{registry.MODEL_NAME}"
_SERVED = (
    "SELECT version, at FROM model_audit WHERE model_name = %s AND event = %s AND at >= %s"
    " ORDER BY id DESC LIMIT 1"
)


class RetrainingRunning(RuntimeError):
    """Another retraining holds the lock (e.g. a job redelivered while its first worker still runs)."""


class AlreadyServed(RuntimeError):
    """A retraining finished after this request was made: it used data at least as recent."""


@dataclass(frozen=True)
class Retrained:
    version: str
    run_id: str
    report: str | None  # the report's artifact path on the version's run; None if it failed
    failed_gates: list[str]


def run_retraining(settings: TrainingSettings, request: RetrainRequest, job_id: str | None) -> Retrained:
    """Retrain for `request` unless one runs (RetrainingRunning) or has served it (AlreadyServed)."""
    migrate(settings.database_url)
    with raw_connection(settings.database_url) as conn:
        conn.autocommit = True
        with advisory_lock(conn, LOCK_KEY, wait=False) as held:
            if not held:
                raise RetrainingRunning(f"a retraining is running; {request.trigger} request left to it")
            served = _served_by(conn, request.requested_at)
            if served is not None:
                raise AlreadyServed(
                    f"{request.trigger} request of {request.requested_at:%Y-%m-%d %H:%M:%S%z} already served"
                    f" by version {served[0]} (retrained {served[1]:%Y-%m-%d %H:%M:%S%z})"
                )
            logger.info("retraining started: %s (%s), job %s", request.trigger, request.reason, job_id)
            time.sleep(settings.task_delay_s)
            return _retrain(settings, request, job_id)


def _retrain(settings: TrainingSettings, request: RetrainRequest, job_id: str | None) -> Retrained:
    connect(settings.mlflow_tracking_uri)
    data = load_training_set(settings.database_url)
    config = TrainingConfig(
        trials=settings.trials, folds=settings.folds, seed=settings.seed, threads=settings.threads
    )
    trained = train_and_register(data, config, settings.experiment, request.author)
    version = trained.version
    registry.set_tags(version, {"trigger": request.trigger.value, "trigger_reason": request.reason[:500]})
    artifact, failed = _report(settings, version)
    detail = {
        "trigger": request.trigger.value,
        "reason": request.reason,
        "requested_at": request.requested_at.isoformat(),
        "requested_by": request.requested_by,
        "job_id": job_id,
        "run_id": trained.run_id,
        "report": artifact,
        "failed_gates": failed,
    }
    audit.record(settings.database_url, Event.RETRAINED, version, request.author, detail)
    logger.info("retrained: version %s is the challenger (report %s), awaiting approval", version, artifact)
    return Retrained(version, trained.run_id, artifact, failed)


def _report(settings: TrainingSettings, version: str) -> tuple[str | None, list[str]]:
    """The promotion report against the current champion, logged on the version's run. A report that
    cannot be computed does not undo the version: `credit model report VERSION` computes it later."""
    try:
        result, artifact = lifecycle.report(
            version, GateSettings(), settings.database_url, settings.mlflow_tracking_uri
        )
    except Exception:
        logger.exception("promotion report of retrained version %s failed", version)
        return None, []
    return artifact, result.failed


def _served_by(conn: psycopg2.extensions.connection, since: datetime) -> tuple[str, datetime] | None:
    with conn.cursor() as cur:
        cur.execute(_SERVED, (registry.MODEL_NAME, Event.RETRAINED.value, since))
        row = cur.fetchone()
    return None if row is None else (str(row[0]), row[1])
