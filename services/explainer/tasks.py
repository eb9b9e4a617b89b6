"""Celery tasks: explain scored rows in batches; compute a version's global importance.

An explanation task explains its own message's row together with up to EXPLAINER_BATCH_SIZE - 1 more
taken from the queue in one round trip (drain.py): Celery's per-message work, the Redis round trips for
the records and the TreeSHAP call are paid once per batch. Both tasks are idempotent (a finished record
is kept as is, the computation is deterministic), retry transient outages (Redis, MLflow) with
exponential backoff, and end as `failed` with a reason otherwise. A message is acknowledged only once
its record is written or its retry queued: Celery acks the task's own message when the task returns,
the task acks those it took.
"""

import logging
import time
from collections.abc import Sequence
from functools import cache

import redis
from celery import Task
from celery.signals import worker_init

from services.common.logging import log_fields
from services.contracts.events import DECISION_FIELD, RecourseEvent
from services.contracts.explanations import Status
from services.explainer import importance, metrics
from services.explainer.cache import Record, RecordStore, importance_id
from services.explainer.celery_app import EXPLAIN_TASK, IMPORTANCE_TASK, app
from services.explainer.drain import Drain, Taken
from services.explainer.jobs import TRANSIENT, Outcome, explain_jobs, failure
from services.explainer.models import VersionCache
from services.explainer.schemas import Job
from services.explainer.settings import ExplainerSettings

logger = logging.getLogger(__name__)


@cache
def settings() -> ExplainerSettings:
    return ExplainerSettings()


@cache
def store() -> RecordStore:
    return RecordStore(redis.Redis.from_url(settings().redis_url))


@cache
def versions() -> VersionCache:
    return VersionCache(settings().mlflow_tracking_uri, settings().model_cache_size)


@cache
def drain() -> Drain:
    return Drain(store().client, settings().queue)


@worker_init.connect
def serve_metrics(**_: object) -> None:
    """/metrics of the worker's main process: the one running the tasks with `--pool solo` (as deployed)."""
    metrics.serve(settings())


@app.task(name=EXPLAIN_TASK, bind=True)
def explain(
    self: Task,
    explanation_id: str,
    version: str,
    features: dict[str, float | None],
    client_id: int | None,
    application: dict[str, object] | None = None,
    history: dict[str, list[dict[str, object]]] | None = None,
) -> None:
    """`application` and `history` default to None: messages queued before they existed still run."""
    first = Job(explanation_id, version, features, client_id, self.request.retries, application, history)
    taken = _take_waiting()
    run_batch([first, *(t.job for t in taken)])
    drain().ack(taken)


def _take_waiting() -> list[Taken]:
    """More waiting explanations; none while Redis fails (this task's own job then meets the error and is
    retried)."""
    try:
        return drain().take(settings().batch_size - 1)
    except TRANSIENT:
        return []


def run_batch(jobs: Sequence[Job]) -> None:
    """Each job ends with its record written (done/failed) or its retry queued. Raises only if Redis is
    unreachable even for that: its messages then stay unacknowledged, to be delivered again."""
    started = time.perf_counter()
    ttl = settings().result_ttl_s
    try:
        outcome = _explain(jobs, ttl)
    except TRANSIENT as error:
        outcome = Outcome(transient=[(job, error) for job in jobs])
    gave_up = {
        job.explanation_id: _gave_up(job.retries, error)
        for job, error in outcome.transient
        if not _retry_later(EXPLAIN_TASK, job.args(), job.explanation_id, job.retries, error)
    }
    store().put_many(gave_up, ttl)
    _count_batch(jobs, outcome, gave_up, time.perf_counter() - started)


def _explain(jobs: Sequence[Job], ttl: int) -> Outcome:
    """Mark the jobs running (skipping those already done), compute them, write their records."""
    existing = store().get_many([job.explanation_id for job in jobs])
    todo = {
        job.explanation_id: job
        for job, record in zip(jobs, existing, strict=True)
        if record is None or record.status != Status.DONE
    }
    store().put_many({record_id: Record(Status.RUNNING) for record_id in todo}, ttl)
    time.sleep(settings().task_delay_s)
    outcome = explain_jobs(list(todo.values()), versions(), settings().top_k, settings().database_url)
    _publish_recourse(outcome.records)
    store().put_many(outcome.records, ttl)
    return outcome


def _publish_recourse(records: dict[str, Record]) -> None:
    """Each explanation's offers to RECOURSE_STREAM for the decision record, before its record is written:
    a failure in between retries the job, which publishes again, and monitoring stores it once."""
    offers = {
        record_id: record.result
        for record_id, record in records.items()
        if record.result is not None and record.result.get("recourse") is not None
    }
    if not offers:
        return
    with store().client.pipeline(transaction=False) as pipe:
        for record_id, result in offers.items():
            event = RecourseEvent(
                explanation_id=record_id, model_version=result["model_version"], recourse=result["recourse"]
            )
            pipe.xadd(settings().recourse_stream, {DECISION_FIELD: event.model_dump_json()})
        pipe.execute()


def _count_batch(jobs: Sequence[Job], outcome: Outcome, gave_up: dict[str, Record], seconds: float) -> None:
    """Every job counts once: done, failed, retried, or cached (already done, or twice in the batch)."""
    ended = [record.status.value for record in (outcome.records | gave_up).values()]
    outcomes = {
        Status.DONE.value: ended.count(Status.DONE.value),
        Status.FAILED.value: ended.count(Status.FAILED.value),
        "retried": len(outcome.transient) - len(gave_up),
        "cached": len(jobs) - len(outcome.records) - len(outcome.transient),
    }
    for name, count in outcomes.items():
        metrics.TASKS.labels("explain", name).inc(count)
    metrics.BATCH_SIZE.observe(len(jobs))
    for _ in jobs:
        metrics.TASK_SECONDS.labels("explain").observe(seconds)
    logger.info(
        "explained a batch of %d in %.1f ms: %s",
        len(jobs),
        1000 * seconds,
        outcomes,
        extra=log_fields(size=len(jobs), seconds=round(seconds, 4), **outcomes),
    )


@app.task(name=IMPORTANCE_TASK, bind=True)
def version_importance(self: Task, version: str) -> None:
    started = time.perf_counter()
    record_id = importance_id(version)
    try:
        outcome = _importance_once(version, record_id)
    except TRANSIENT as error:
        outcome = "retried"
        if not _retry_later(IMPORTANCE_TASK, [version], record_id, self.request.retries, error):
            outcome = Status.FAILED.value
            store().put(record_id, _gave_up(self.request.retries, error), None)
    metrics.TASKS.labels("importance", outcome).inc()
    metrics.TASK_SECONDS.labels("importance").observe(time.perf_counter() - started)


def _importance_once(version: str, record_id: str) -> str:
    """Record running -> done/failed around the computation (kept for good: a version never changes);
    its outcome for the metrics."""
    existing = store().get(record_id)
    if existing is not None and existing.status == Status.DONE:
        return "cached"  # a redelivered or repeated task: the result is already there
    store().put(record_id, Record(Status.RUNNING), None)
    time.sleep(settings().task_delay_s)
    final = _importance_record(version)
    store().put(record_id, final, None)
    return final.status.value


def _importance_record(version: str) -> Record:
    try:
        model = versions().get(version).model
        result = importance.version_importance(model, version, versions().reference(version))
        store().put_png(version, importance.importance_png(result))
    except TRANSIENT:
        raise
    except Exception as error:
        return failure(error)
    return Record(Status.DONE, result=result.model_dump())


def _retry_later(task: str, args: list[object], task_id: str, retries: int, error: Exception) -> bool:
    """Queue the task again after an exponential backoff, as Celery's retry does (same id, retries + 1);
    False when it is out of retries."""
    if retries >= settings().max_retries:
        return False
    countdown = settings().retry_backoff_s * 2**retries
    logger.warning("transient error, retrying", extra=log_fields(task_id=task_id, error=str(error)))
    queue = settings().queue
    app.send_task(task, args=args, task_id=task_id, countdown=countdown, retries=retries + 1, queue=queue)
    return True


def _gave_up(retries: int, error: Exception) -> Record:
    return Record(Status.FAILED, reason=f"gave up after {retries} retries: {error}")
