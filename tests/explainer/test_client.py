"""The async explainer client (services/explainer/client.py) against a real redis-server, no worker: what
a claim writes, which caller queues the task, and what the broker then holds."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis
from kombu.serialization import loads
from redis.asyncio import Redis

from loopback.processes import RedisServer, free_port
from services.contracts.explanations import Status
from services.explainer.cache import Record, RecordStore, explanation_id, record_key
from services.explainer.celery_app import EXPLAIN_TASK, IMPORTANCE_TASK
from services.explainer.client import Claim, ExplainerClient, ExplainerUnavailable, RawApplication
from services.explainer.drain import Drain
from services.explainer.schemas import Job
from services.explainer.settings import ExplainerSettings

CLAIM_TTL_SECONDS = 60
FEATURES: dict[str, float | None] = {
    "app_ext_source_3": 0.4,
    "app_days_birth": -12_000.0,
    "app_flag_email": None,
}
T = TypeVar("T")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    own = RedisServer(tmp_path_factory.mktemp("client-redis"))
    own.start()
    yield own
    own.stop()


@pytest.fixture
def broker(server: RedisServer) -> Iterator[redis.Redis]:
    """The server, emptied for each test, read synchronously: the records and the queue as they are."""
    client = redis.Redis.from_url(server.url)
    client.flushdb()
    yield client
    client.close()


def with_client(
    server: RedisServer, work: Callable[[ExplainerClient], Awaitable[T]], broker_url: str | None = None
) -> T:
    """Run `work` with a client on its own event loop and Redis connection, as the gateway holds one;
    `broker_url` sends its tasks elsewhere (a broker that does not answer)."""
    settings = ExplainerSettings(redis_url=broker_url or server.url)

    async def scenario() -> T:
        client = ExplainerClient(Redis.from_url(server.url), settings, CLAIM_TTL_SECONDS)
        try:
            return await work(client)
        finally:
            client.close()
            await client.redis.aclose()

    return asyncio.run(scenario())


def queued(broker: redis.Redis) -> list[tuple[str, str]]:
    """(task name, task id) of the messages waiting in the explainer's queue, oldest first."""
    messages = [json.loads(raw)["headers"] for raw in reversed(broker.lrange("explanations", 0, -1))]
    return [(headers["task"], headers["id"]) for headers in messages]


def test_of_two_claims_of_one_vector_only_the_first_queues_a_task(
    server: RedisServer, broker: redis.Redis
) -> None:
    async def work(client: ExplainerClient) -> tuple[Claim, Claim]:
        first = await client.claim("3", FEATURES, client_id=7)
        second = await client.claim("3", dict(reversed(FEATURES.items())), client_id=7)
        assert first.job is not None
        await client.queue([first.job])
        return first, second

    first, second = with_client(server, work)
    assert first.explanation_id == explanation_id("3", FEATURES) and first.explanation_id.startswith("3-")
    assert first == Claim(first.explanation_id, Status.PENDING, Job(first.explanation_id, "3", FEATURES, 7))
    assert second == Claim(first.explanation_id, Status.PENDING, job=None)
    assert queued(broker) == [(EXPLAIN_TASK, first.explanation_id)]
    assert 0 < broker.ttl(record_key(first.explanation_id)) <= CLAIM_TTL_SECONDS


def test_a_task_is_json_that_celery_and_the_batch_drain_read_back_as_its_job(
    server: RedisServer, broker: redis.Redis
) -> None:
    """The gateway encodes task bodies itself (orjson): Celery's own decoder and the worker's drain must
    read the same arguments back."""
    application = {"SK_ID_CURR": 7, "AMT_CREDIT": 300_000.0, "NAME_CONTRACT_TYPE": "Cash loans"}
    history = {"bureau": [{"SK_ID_CURR": 7, "SK_ID_BUREAU": 1, "DAYS_CREDIT": -400}], "pos_cash_balance": []}
    raw = RawApplication(application, history)

    async def work(client: ExplainerClient) -> Job:
        claim = await client.claim("3", FEATURES, client_id=7, raw=raw)
        assert claim.job is not None
        await client.queue([claim.job])
        return claim.job

    job = with_client(server, work)
    [message] = broker.lrange("explanations", 0, -1)
    envelope = json.loads(message)
    assert envelope["content-type"] == "application/json"
    args, kwargs, _ = loads(envelope["body"], envelope["content-type"], envelope["content-encoding"])
    assert (args, kwargs) == (job.args(), {})
    assert envelope["headers"]["argsrepr"] == f"[{job.explanation_id!r}, ...]"
    [taken] = Drain(broker, "explanations").take(10)
    assert taken.job == job == Job(job.explanation_id, "3", FEATURES, 7, 0, application, history)


def test_a_done_explanation_is_not_claimed_and_a_failed_one_is_claimed_again(
    server: RedisServer, broker: redis.Redis
) -> None:
    done_id, failed_id = explanation_id("3", FEATURES), explanation_id("4", FEATURES)
    worker_side = RecordStore(broker)
    worker_side.put(done_id, Record(Status.DONE, result={"pd": 0.1}), ttl=None)
    worker_side.put(failed_id, Record(Status.FAILED, reason="worker lost"), ttl=None)

    async def work(client: ExplainerClient) -> tuple[Claim, Claim]:
        return await client.claim("3", FEATURES), await client.claim("4", FEATURES)

    done, failed = with_client(server, work)
    assert done == Claim(done_id, Status.DONE, job=None)
    assert failed == Claim(failed_id, Status.PENDING, Job(failed_id, "4", FEATURES, None))
    assert worker_side.get(failed_id) == Record(Status.PENDING)
    assert 0 < broker.ttl(record_key(failed_id)) <= CLAIM_TTL_SECONDS  # a claim again, not a result


def test_a_released_claim_is_gone_and_claimed_anew(server: RedisServer, broker: redis.Redis) -> None:
    async def work(client: ExplainerClient) -> tuple[object, Claim]:
        claim = await client.claim("3", FEATURES)
        await client.release(claim.explanation_id)
        return await client.status(claim.explanation_id), await client.claim("3", FEATURES)

    after_release, again = with_client(server, work)
    assert after_release is None
    assert again.status == Status.PENDING and again.job is not None
    assert queued(broker) == []  # claims alone send nothing


def test_status_reads_the_record_and_an_unknown_id_is_none(server: RedisServer, broker: redis.Redis) -> None:
    known = explanation_id("3", FEATURES)
    RecordStore(broker).put(known, Record(Status.FAILED, reason="no version 3"), ttl=None)

    async def work(client: ExplainerClient) -> tuple[object, object]:
        return await client.status(known), await client.status(f"3-{'0' * 24}")

    status, unknown = with_client(server, work)
    assert unknown is None
    assert status is not None and (status.explanation_id, status.status, status.reason) == (
        known,
        Status.FAILED,
        "no version 3",
    )


def test_importance_is_queued_once_per_version_and_its_png_read_back(
    server: RedisServer, broker: redis.Redis
) -> None:
    async def work(client: ExplainerClient) -> tuple[object, object, bytes | None, bytes | None]:
        first, second = await client.importance("5"), await client.importance("5")
        RecordStore(broker).put_png("5", b"\x89PNG-plot")
        return first, second, await client.importance_png("5"), await client.importance_png("6")

    first, second, png, missing = with_client(server, work)
    assert first == second and first.status == Status.PENDING  # type: ignore[attr-defined]
    assert queued(broker) == [(IMPORTANCE_TASK, "importance-5")]
    assert broker.ttl(record_key("importance-5")) == -1  # kept for good
    assert (png, missing) == (b"\x89PNG-plot", None)


def test_a_task_the_broker_refuses_releases_its_claim(server: RedisServer, broker: redis.Redis) -> None:
    async def work(client: ExplainerClient) -> Claim:
        claim = await client.claim("3", FEATURES)
        assert claim.job is not None
        with pytest.raises(ExplainerUnavailable, match="broker is unreachable"):
            await client.queue([claim.job])
        return claim

    claim = with_client(server, work, broker_url=f"redis://127.0.0.1:{free_port()}/0")
    assert broker.get(record_key(claim.explanation_id)) is None  # the next claim of the vector queues it


def test_redis_down_is_explainer_unavailable(tmp_path: Path) -> None:
    stopped = RedisServer(tmp_path)

    async def work(client: ExplainerClient) -> None:
        with pytest.raises(ExplainerUnavailable, match="unreachable"):
            await client.claim("3", FEATURES)
        with pytest.raises(ExplainerUnavailable, match="unreachable"):
            await client.status(explanation_id("3", FEATURES))
        await client.release(explanation_id("3", FEATURES))  # nothing to undo: no error either

    with_client(stopped, work)
