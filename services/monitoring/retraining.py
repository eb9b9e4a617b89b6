"""Retraining triggers of the scheduled drift job: dataset drift (MONITORING_RETRAIN_ON_DRIFT) and an
estimated AUC below the serving version's validation AUC by more than MONITORING_ESTIMATED_AUC_MARGIN
(MONITORING_RETRAIN_ON_ESTIMATED_AUC, the EstimatedAucBelowValidation alert's rule). Either queues one
retraining request for the training worker (services/training/tasks.py); what it trains is a challenger
that waits for a person's approval."""

import logging
from contextlib import closing
from typing import Any

import psycopg2
from celery import Celery

from services.contracts.training import RetrainRequest, Trigger
from services.monitoring import drift_store, queries
from services.monitoring.settings import MonitoringSettings
from services.training.queue import enqueue

logger = logging.getLogger(__name__)


def drift_reason(run: dict[str, Any], settings: MonitoringSettings) -> str | None:
    if not (settings.retrain_on_drift and run.get("dataset_drift")):
        return None
    return (
        f"drift run {run['id']}: {run['drifted_features']} of {run['features_tested']} features drifted "
        f"(share {run['drift_share']:.2f}, dataset drift at {settings.drift_share_threshold:g})"
    )


def estimated_auc_reason(
    run: dict[str, Any], estimated_auc: float | None, settings: MonitoringSettings
) -> str | None:
    validation = run.get("validation_auc")
    if not settings.retrain_on_estimated_auc or estimated_auc is None or validation is None:
        return None
    if estimated_auc >= validation - settings.estimated_auc_margin:
        return None
    return (
        f"estimated AUC {estimated_auc:.4f} over {settings.performance_window_days:g} days is below the"
        f" validation AUC {validation:.4f} by more than {settings.estimated_auc_margin:g}"
        f" (drift run {run['id']})"
    )


def retrain_request(
    run: dict[str, Any], estimated_auc: float | None, settings: MonitoringSettings
) -> RetrainRequest | None:
    """One request for whichever triggers fire (drift first), or None."""
    reasons = {
        Trigger.DRIFT: drift_reason(run, settings),
        Trigger.ESTIMATED_PERFORMANCE: estimated_auc_reason(run, estimated_auc, settings),
    }
    fired = {trigger: reason for trigger, reason in reasons.items() if reason is not None}
    if not fired:
        return None
    return RetrainRequest(trigger=next(iter(fired)), reason="; ".join(fired.values()))


def after_drift_run(app: Celery, settings: MonitoringSettings, run_id: int) -> str | None:
    """Queue a retraining if the stored run `run_id` fires a trigger; returns the job id, or None."""
    if not (settings.retrain_on_drift or settings.retrain_on_estimated_auc):
        return None
    with closing(psycopg2.connect(settings.database_url)) as conn:
        run = drift_store.get_run(conn, run_id, top=0)
    if run is None or run["status"] != "ok":
        return None
    estimated = None
    if settings.retrain_on_estimated_auc:
        estimated = queries.performance(settings.database_url, settings.performance_window_days).estimated.auc
    request = retrain_request(run, estimated, settings)
    if request is None:
        return None
    job = enqueue(app, request)
    logger.info("retraining queued (job %s): %s", job, request.reason)
    return job
