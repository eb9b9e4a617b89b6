"""Explanations (services/gateway/explanations.py) on a real redis-server and the real explainer client:
a claim Redis cannot take now is deferred, answered pending from memory, then made and its task queued on
Celery's queue once Redis answers, unless the explanation is done or a worker has it; deferred claims left
at shutdown are counted dropped. The whole path with a worker is tests/gateway/test_resilience.py's."""

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from loopback.processes import RedisServer
from services.common.http import ApiError
from services.contracts.explanations import ExplanationStatus, Status
from services.explainer.cache import Record, record_key
from services.explainer.client import Claim, ExplainerClient, task_of
from services.explainer.settings import ExplainerSettings
from services.gateway.explanations import Explanations
from services.gateway.metrics import EXPLANATION_QUEUE
from services.gateway.settings import GatewaySettings
from tests.gateway.test_background import value

VERSION = "3"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    started = RedisServer(tmp_path)
    started.start()
    yield started
    started.stop()


def explanations(server: RedisServer) -> Explanations:
    """The gateway's Explanations as its lifespan builds them, with short Redis timeouts."""
    redis_client = Redis.from_url(server.url, socket_timeout=1.0, socket_connect_timeout=1.0)
    settings = ExplainerSettings(redis_url=server.url)
    return Explanations(
        ExplainerClient(redis_client, settings, 600), GatewaySettings(explainer_timeout_s=2.0)
    )


def queued_task_ids(server: RedisServer) -> list[str]:
    """Task ids waiting on Celery's explanations queue, oldest first (kombu pushes on the left)."""
    messages = redis.Redis.from_url(server.url).lrange(ExplainerSettings().queue, 0, -1)
    return [json.loads(message)["headers"]["id"] for message in reversed(messages)]


def record_status(server: RedisServer, explanation_id: str) -> Status | None:
    raw = redis.Redis.from_url(server.url).get(record_key(explanation_id))
    return None if raw is None else Record.from_json(raw).status


async def until_sent(tested: Explanations, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while tested.deferred or tested.sender.queue:
        assert time.monotonic() < deadline, "deferred claims were never sent"
        await asyncio.sleep(0.05)


def ids(*features: float) -> list[str]:
    return [task_of(VERSION, {"a": a}).explanation_id for a in features]


def test_a_claim_redis_cannot_take_is_pending_then_made_and_queued_once_redis_answers(
    server: RedisServer,
) -> None:
    first, second = ids(1.0, 2.0)

    async def scenario() -> tuple[list[Claim | None], ExplanationStatus | None, int]:
        tested = explanations(server)
        tested.start()
        server.stop()
        claims = [await tested.claim(VERSION, {"a": 1.0}, 7), await tested.claim(VERSION, {"a": 2.0}, 8)]
        while_down = await tested.status(first)  # from memory: Redis is down
        with pytest.raises(ApiError) as unknown:
            await tested.status(ids(9.0)[0])  # any other id needs Redis
        server.start()
        await until_sent(tested)
        await tested.stop(grace_s=5)
        return claims, while_down, unknown.value.status

    claims, while_down, unknown_status = asyncio.run(scenario())
    assert claims == [Claim(first, Status.PENDING, job=None), Claim(second, Status.PENDING, job=None)]
    assert while_down == ExplanationStatus(explanation_id=first, status=Status.PENDING)
    assert unknown_status == 503
    assert queued_task_ids(server) == [first, second]
    assert record_status(server, first) == record_status(server, second) == Status.PENDING


def test_a_deferred_claim_queues_the_task_unless_the_explanation_is_done_or_running(
    server: RedisServer,
) -> None:
    lost_reply, done, running, new = ids(1.0, 2.0, 3.0, 4.0)
    records = redis.Redis.from_url(server.url)
    # pending: a claim Redis made while its reply to the gateway was lost
    for explanation_id, status in (
        (lost_reply, Status.PENDING),
        (done, Status.DONE),
        (running, Status.RUNNING),
    ):
        records.set(record_key(explanation_id), Record(status).to_json())

    async def scenario() -> None:
        tested = explanations(server)
        tested.start()
        server.stop()
        for features in (1.0, 2.0, 3.0, 4.0):
            await tested.claim(VERSION, {"a": features}, None)
        server.start()
        await until_sent(tested)
        await tested.stop(grace_s=5)

    asyncio.run(scenario())
    assert queued_task_ids(server) == [lost_reply, new]
    assert record_status(server, done) == Status.DONE and record_status(server, running) == Status.RUNNING


def test_deferred_claims_left_at_shutdown_are_counted_dropped_and_never_made(server: RedisServer) -> None:
    [deferred] = ids(1.0)

    async def scenario() -> None:
        tested = explanations(server)
        tested.start()
        server.stop()
        await tested.claim(VERSION, {"a": 1.0}, 7)
        await tested.stop(grace_s=0.2)

    dropped = value(EXPLANATION_QUEUE.dropped)
    asyncio.run(scenario())
    assert value(EXPLANATION_QUEUE.dropped) - dropped == 1
    server.start()
    assert record_status(server, deferred) is None and queued_task_ids(server) == []
