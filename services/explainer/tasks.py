"""Celery tasks: explain one scored row; compute a version's global importance.

Both are idempotent (a finished record is returned as is, the computation is deterministic), retry
transient outages (Redis, MLflow) with exponential backoff, and end as `failed` with a reason otherwise.
"""

import logging
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import redis
from celery import Task

from services.common.logging import log_fields
from services.explainer import explanation, importance
from services.explainer.cache import Record, RecordStore, importance_id
from services.explainer.celery_app import app
from services.explainer.models import TrackingUnreachable, VersionCache
from services.explainer.schemas import Status
from services.explainer.settings import ExplainerSettings
from services.explainer.shap_values import VectorMismatch
from services.scoring.model_store import ModelVersionNotFound

logger = logging.getLogger(__name__)
TRANSIENT = (redis.ConnectionError, redis.TimeoutError, TrackingUnreachable)
PERMANENT = (ModelVersionNotFound, VectorMismatch)


@cache
def settings() -> ExplainerSettings:
    return ExplainerSettings()


@cache
def store() -> RecordStore:
    return RecordStore(redis.Redis.from_url(settings().redis_url))


@cache
def versions() -> VersionCache:
    return VersionCache(settings().mlflow_tracking_uri, settings().explainer_model_cache_size)


@app.task(name="explainer.explain", bind=True)
def explain(
    self: Task, explanation_id: str, version: str, features: dict[str, float | None], client_id: int | None
) -> str:
    def compute() -> dict[str, Any]:
        loaded = versions().get(version)
        result = explanation.explain(loaded, version, features, client_id, settings().explainer_top_k)
        return result.model_dump()

    return run_once(self, explanation_id, settings().explainer_result_ttl_seconds, compute)


@app.task(name="explainer.importance", bind=True)
def version_importance(self: Task, version: str) -> str:
    def compute() -> dict[str, Any]:
        model = versions().get(version).model
        result = importance.version_importance(model, version, versions().reference(version))
        store().put_png(version, importance.importance_png(result))
        return result.model_dump()

    return run_once(self, importance_id(version), None, compute)


def run_once(task: Task, record_id: str, ttl: int | None, compute: Callable[[], dict[str, Any]]) -> str:
    """Record running -> done/failed around `compute`; returns the final status."""
    try:
        existing = store().get(record_id)
        if existing is not None and existing.status == Status.DONE:
            return Status.DONE  # a redelivered or repeated task: the result is already there
        store().put(record_id, Record(Status.RUNNING), ttl)
        time.sleep(settings().explainer_task_delay_seconds)
        final = _outcome(compute)
        store().put(record_id, final, ttl)
    except TRANSIENT as error:
        return _retry_or_fail(task, record_id, ttl, error)
    logger.info("explainer task finished", extra=log_fields(record_id=record_id, status=final.status))
    return final.status


def _outcome(compute: Callable[[], dict[str, Any]]) -> Record:
    try:
        return Record(Status.DONE, result=compute())
    except TRANSIENT:
        raise
    except PERMANENT as error:
        return Record(Status.FAILED, reason=str(error))
    except Exception as error:  # a bug must still end the wait of whoever polls, with the cause
        logger.exception("explainer task failed")
        return Record(Status.FAILED, reason=f"internal error ({type(error).__name__}): {error}")


def _retry_or_fail(task: Task, record_id: str, ttl: int | None, error: Exception) -> str:
    if task.request.retries < settings().explainer_max_retries:
        countdown = settings().explainer_retry_backoff_seconds * 2**task.request.retries
        logger.warning("transient error, retrying", extra=log_fields(record_id=record_id, error=str(error)))
        raise task.retry(exc=error, countdown=countdown, max_retries=settings().explainer_max_retries)
    reason = f"gave up after {task.request.retries} retries: {error}"
    store().put(record_id, Record(Status.FAILED, reason=reason), ttl)
    return Status.FAILED
