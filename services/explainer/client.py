"""The Python API the gateway calls: submit explanations, read their status, get global importance.

It talks to Redis only (records + Celery's queue); it never imports the worker's model code. A finished
explanation of the same (version, vector) is answered from Redis without enqueueing a task.
"""

import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import redis
from kombu.exceptions import OperationalError

from services.explainer.cache import Record, RecordStore, explanation_id, importance_id
from services.explainer.celery_app import EXPLAIN_TASK, IMPORTANCE_TASK, create_app
from services.explainer.schemas import ExplanationStatus, ImportanceStatus, Job, Status
from services.explainer.settings import ExplainerSettings

_VERSION = re.compile(r"^[1-9][0-9]*$")


class InvalidExplanationRequest(ValueError):
    """Bad input (version, features); the message names it. The gateway answers 422."""


class ExplainerUnavailable(RuntimeError):
    """Redis cannot be reached; the gateway answers 503."""


class ExplainerClient:
    def __init__(self, settings: ExplainerSettings | None = None) -> None:
        self.settings = settings or ExplainerSettings()
        self.redis = redis.Redis.from_url(
            self.settings.redis_url, socket_timeout=5.0, socket_connect_timeout=5.0
        )
        self.store = RecordStore(self.redis)
        self.celery = create_app(self.settings)

    def submit(
        self, version: str, features: Mapping[str, float | None], client_id: int | None = None
    ) -> ExplanationStatus:
        """Queue an explanation unless one for the same (version, vector) exists; its id and status."""
        _check_request(version, features)
        record_id = explanation_id(version, features)
        ttl = self.settings.result_ttl_s
        args = Job(record_id, version, dict(features), client_id).args()
        return _explanation_status(record_id, self._submit_once(record_id, ttl, EXPLAIN_TASK, args))

    def queue_claimed(self, job: Job) -> None:
        """Queue the task of an explanation the caller has already marked pending (the gateway claims the
        record on its event loop so the id answers at once, and queues off its response path). When the
        broker refuses it the record is removed, so the next submit of the same vector tries again."""
        with _redis_errors():
            self._send(EXPLAIN_TASK, job.args(), job.explanation_id)

    def status(self, explanation_id: str) -> ExplanationStatus | None:
        """None for an unknown (or expired) id: the gateway answers 404."""
        record = self._get(explanation_id)
        return None if record is None else _explanation_status(explanation_id, record)

    def importance(self, version: str) -> ImportanceStatus:
        """The version's global importance; the first call queues its computation (done once per version)."""
        _check_version(version)
        record = self._submit_once(importance_id(version), None, IMPORTANCE_TASK, [version])
        return ImportanceStatus(model_version=version, status=record.status, reason=record.reason,
                                result=record.result)  # fmt: skip

    def importance_png(self, version: str) -> bytes | None:
        """The importance bar chart once computed, else None."""
        with _redis_errors():
            return self.store.get_png(version)

    def _submit_once(self, record_id: str, ttl: int | None, task: str, args: list[object]) -> Record:
        """Enqueue only when no record exists or the last attempt failed (an outage may be over)."""
        with _redis_errors():
            existing = self.store.get(record_id)
            if existing is not None and existing.status != Status.FAILED:
                return existing
            if existing is None:
                if not self.store.claim(record_id, ttl):  # a concurrent submit won the race
                    return self.store.get(record_id) or Record(Status.PENDING)
            else:
                self.store.put(record_id, Record(Status.PENDING), ttl)
            self._send(task, args, record_id)
            return Record(Status.PENDING)

    def _send(self, task: str, args: list[object], record_id: str) -> None:
        try:
            self.celery.send_task(task, args=args, task_id=record_id, queue=self.settings.queue)
        except OperationalError:
            self.store.delete(record_id)  # nothing queued: let the next submit try again
            raise

    def _get(self, record_id: str) -> Record | None:
        with _redis_errors():
            return self.store.get(record_id)

    def close(self) -> None:
        self.redis.close()
        self.celery.close()


def _explanation_status(explanation_id: str, record: Record) -> ExplanationStatus:
    return ExplanationStatus(
        explanation_id=explanation_id, status=record.status, reason=record.reason, result=record.result
    )


@contextmanager
def _redis_errors() -> Iterator[None]:
    """Redis/broker outages as one ExplainerUnavailable (the cause names host and port)."""
    try:
        yield
    except (redis.RedisError, OperationalError) as error:
        raise ExplainerUnavailable(f"the explainer's Redis is unreachable ({error})") from error


def _check_version(version: str) -> None:
    if not _VERSION.match(version):
        raise InvalidExplanationRequest(f"model version must be a positive integer, got {version!r}")


def _check_request(version: str, features: Mapping[str, float | None]) -> None:
    _check_version(version)
    if not features:
        raise InvalidExplanationRequest("features: empty; give feature name -> value (null = missing)")
    for name, value in features.items():
        if value is not None and (not isinstance(value, int | float) or not math.isfinite(value)):
            raise InvalidExplanationRequest(f"features.{name}: {value!r} is not a finite number or null")
