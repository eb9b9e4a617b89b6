"""The explainer seen from its callers (the gateway, the benchmark, tests): claim an explanation, queue its
task, read its status and the global importance of a model version.

It owns the explainer's Redis layout (cache.py): callers see ids and status models, never a key or a
record. It is async on the caller's `redis.asyncio.Redis`, so the gateway shares its one pool; it never
imports the worker's model code. Tasks go to Celery's queue through kombu (see `_send`).
"""

import asyncio
import contextlib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
from kombu.exceptions import OperationalError
from kombu.serialization import registry
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.contracts.explanations import ExplanationStatus, ImportanceStatus, Status
from services.explainer.cache import Record, explanation_id, importance_id, png_key, record_key
from services.explainer.celery_app import EXPLAIN_TASK, IMPORTANCE_TASK, create_app
from services.explainer.schemas import Job
from services.explainer.settings import ExplainerSettings

_VERSION = re.compile(r"^[1-9][0-9]*$")
_PENDING = Record(Status.PENDING)
_PENDING_JSON = _PENDING.to_json()
# Task bodies written by orjson: kombu's JSON encoder (the standard library's, with a Python `default`
# hook) took ~0.9 of the 2.4 ms of CPU a new applicant's task cost the gateway (its vector and ~130
# history rows, ~60 KB). Same content type, same JSON: the worker reads them with Celery's usual decoder.
# Only an encoder is registered, so decoding application/json stays kombu's own.
TASK_SERIALIZER = "explainer-orjson"
registry.register(TASK_SERIALIZER, lambda body: orjson.dumps(body).decode(), None, "application/json")
registry.type_to_name["application/json"] = "json"  # register() renames the type; it is still kombu's json


class InvalidExplanationRequest(ValueError):
    """Bad input to `submit` or `importance` (version, features); the message names it."""


class ExplainerUnavailable(RuntimeError):
    """Redis or the broker cannot be reached; the gateway answers 503."""


@dataclass(frozen=True)
class RawApplication:
    """A new applicant's application (Kaggle field names) and its history rows per table; None = the
    history stored for its SK_ID_CURR."""

    application: dict[str, object]
    history: dict[str, list[dict[str, object]]] | None = None


@dataclass(frozen=True)
class Claim:
    """An explanation a score can point to: its id, its status when claimed, and the task this caller must
    queue (None when the explanation exists already or another caller owns its task)."""

    explanation_id: str
    status: Status
    job: Job | None


def task_of(
    version: str,
    features: dict[str, float | None],
    client_id: int | None = None,
    raw: RawApplication | None = None,
) -> Job:
    """The explanation task of a score, without Redis: its id depends on the version and the vector only,
    so a score can point to its explanation before the claim is made."""
    application, history = (None, None) if raw is None else (raw.application, raw.history)
    return Job(explanation_id(version, features), version, features, client_id, 0, application, history)


class _Refused(Exception):
    """The broker refused the task of `record_id` (raised from the sending thread)."""

    def __init__(self, record_id: str) -> None:
        super().__init__(record_id)
        self.record_id = record_id


class ExplainerClient:
    """`redis` belongs to the caller (who closes it); a pending claim lives `claim_ttl_s` until a worker
    takes its task, so a claim whose task never left expires and the next claim of its vector queues it."""

    def __init__(self, redis: Redis, settings: ExplainerSettings, claim_ttl_s: int) -> None:
        self.redis, self.claim_ttl_s = redis, claim_ttl_s
        self.queue_name = settings.queue
        self.celery = create_app(settings)

    async def claim(
        self,
        version: str,
        features: dict[str, float | None],
        client_id: int | None = None,
        raw: RawApplication | None = None,
    ) -> Claim:
        """Mark the explanation of (version, vector) pending unless a record exists, in one round trip
        (SET NX + GET); a failed one (an outage may be over) is marked pending again. `features` must be
        finite numbers or null: the gateway's come from the scoring service, which checked them. `raw`:
        the new applicant's application the vector was computed from, for the recourse offers."""
        return await self.claim_task(task_of(version, features, client_id, raw))

    async def claim_task(self, job: Job) -> Claim:
        """`claim` of a task built by `task_of`: the gateway builds it on the response path and, when Redis
        cannot be reached then, makes its claim later from its background sender."""
        with _unavailable():
            record, claimed = await self._claim(job.explanation_id, self.claim_ttl_s)
        return Claim(job.explanation_id, record.status, job if claimed else None)

    async def queue(self, jobs: Sequence[Job]) -> None:
        """Send the tasks of claimed explanations, in order; ExplainerUnavailable when the broker refuses
        one (its claim is released, so the next claim of its vector queues it again)."""
        await self._send(EXPLAIN_TASK, [(job.explanation_id, job.args()) for job in jobs])

    async def submit(
        self,
        version: str,
        features: dict[str, float | None],
        client_id: int | None = None,
        raw: RawApplication | None = None,
    ) -> Claim:
        """Check the input, claim and queue at once: for callers without a send queue of their own (the
        benchmark, tests)."""
        _check_request(version, features)
        claim = await self.claim(version, features, client_id, raw)
        if claim.job is not None:
            await self.queue([claim.job])
        return claim

    async def release(self, explanation_id: str) -> None:
        """Undo a claim whose task will not be sent; an outage here is ignored (the claim then expires)."""
        with contextlib.suppress(RedisError):
            await self.redis.delete(record_key(explanation_id))

    async def status(self, explanation_id: str) -> ExplanationStatus | None:
        """None for an unknown (or expired) id: the gateway answers 404."""
        with _unavailable():
            raw = await self.redis.get(record_key(explanation_id))
        if raw is None:
            return None
        record = Record.from_json(raw)
        return ExplanationStatus(
            explanation_id=explanation_id, status=record.status, reason=record.reason, result=record.result
        )

    async def importance(self, version: str) -> ImportanceStatus:
        """The version's global importance; the first call queues its computation (done once per version,
        kept for good), as does a call after it failed."""
        _check_version(version)
        record_id = importance_id(version)
        with _unavailable():
            record, claimed = await self._claim(record_id, None)
        if claimed:
            await self._send(IMPORTANCE_TASK, [(record_id, [version])])
        return ImportanceStatus(model_version=version, status=record.status, reason=record.reason,
                                result=record.result)  # fmt: skip

    async def importance_png(self, version: str) -> bytes | None:
        """The importance bar chart once computed, else None."""
        with _unavailable():
            return await self.redis.get(png_key(version))

    async def connect(self) -> None:
        """Open the Redis and broker connections now: on a busy machine the first connect alone can exceed
        a request's budget."""
        with _unavailable():
            await self.redis.ping()
            await asyncio.to_thread(self._connect_broker)

    def close(self) -> None:
        """Close the broker's connections (the Redis pool is the caller's)."""
        self.celery.close()

    async def _claim(self, record_id: str, ttl: int | None) -> tuple[Record, bool]:
        """(the record, whether this caller must queue its task). A record that vanished between the SET
        and the GET is claimed again like a failed one."""
        key = record_key(record_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(key, _PENDING_JSON, ex=ttl, nx=True)
            pipe.get(key)
            claimed, raw = await pipe.execute()
        if claimed:
            return _PENDING, True
        if raw is not None:
            record = Record.from_json(raw)
            if record.status != Status.FAILED:
                return record, False
        await self.redis.set(key, _PENDING_JSON, ex=ttl)
        return _PENDING, True

    async def _send(self, task: str, messages: Sequence[tuple[str, list[object]]]) -> None:
        """kombu's producer blocks (and costs ~1-2 ms of CPU per task), so a batch of (task id, args) is
        sent from a worker thread. kombu stays the broker client: Celery's message format is its own, and a
        second implementation of it on redis.asyncio would have to follow every Celery upgrade."""
        try:
            await asyncio.to_thread(self._send_blocking, task, messages)
        except _Refused as refused:
            await self.release(refused.record_id)
            raise ExplainerUnavailable(
                f"the explainer's broker is unreachable ({refused.__cause__})"
            ) from refused

    def _send_blocking(self, task: str, messages: Sequence[tuple[str, list[object]]]) -> None:
        for record_id, args in messages:
            try:
                self.celery.send_task(
                    task,
                    args=args,
                    task_id=record_id,
                    queue=self.queue_name,
                    serializer=TASK_SERIALIZER,
                    # Celery's default, a safe repr of the arguments for monitoring tools, cost another
                    # ~0.6 ms for a vector and its rows; the record id says which task it is.
                    argsrepr=f"[{record_id!r}, ...]",
                    kwargsrepr="{}",
                )
            except OperationalError as error:
                raise _Refused(record_id) from error

    def _connect_broker(self) -> None:
        connection = self.celery.pool.acquire(block=True)
        try:
            connection.ensure_connection(max_retries=1)
        finally:
            connection.release()


@contextmanager
def _unavailable() -> Iterator[None]:
    """Redis and broker outages as one ExplainerUnavailable (the cause names host and port)."""
    try:
        yield
    except (RedisError, OperationalError, OSError) as error:
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
