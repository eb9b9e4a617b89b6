"""Parts of the platform going down: features, scoring (scores) or monitoring (outcomes) -> 503 with
Retry-After; the explainer's Redis -> the score still answers (explanation pending, no rate limit) and
the decision reaches the stream, its explanation is claimed and explained once Redis is back."""

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from loopback.platform import Platform
from loopback.processes import free_port
from services.gateway.app import create_app
from tests.gateway.test_scores import APPLICATION, poll


@pytest.fixture
def gateway_without(stack: Platform) -> Iterator[Callable[[str], TestClient]]:
    """`gateway_without("scoring")`: an in-process gateway whose scoring (or features, monitoring) address
    refuses connections, as a dead service's does. The platform's own services keep running: killing and
    restarting one cost the platform's worker ~30 s per test."""
    with ExitStack() as started:

        def make(name: str) -> TestClient:
            dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
            settings = stack.settings(api_key_cache_s=0, **{f"{name}_url": dead})
            return started.enter_context(TestClient(create_app(settings)))

        yield make


@pytest.mark.parametrize("name", ["features", "scoring"])
def test_a_dead_downstream_is_503_with_retry_after(
    name: str, stack: Platform, gateway_without: Callable[[str], TestClient], make_key: Callable[..., str]
) -> None:
    gateway = gateway_without(name)
    response = gateway.post(
        "/v1/scores", json={"client_id": stack.client_ids[2]}, headers={"X-API-Key": make_key()}
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == f"{name}_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert gateway.get("/readyz").status_code == 503


def test_monitoring_down_makes_outcomes_a_503_with_retry_after(
    gateway_without: Callable[[str], TestClient], make_key: Callable[..., str]
) -> None:
    outcomes = {"outcomes": [{"client_id": 1, "defaulted": False}]}
    response = gateway_without("monitoring").post(
        "/v1/outcomes", json=outcomes, headers={"X-API-Key": make_key()}
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "monitoring_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


def test_redis_down_still_scores_and_the_decision_and_its_explanation_follow_later(
    stack: Platform, gateway: TestClient, make_key: Callable[..., str]
) -> None:
    key, poller = make_key(rate_limit="1/minute"), make_key()
    fresh = {**APPLICATION, "SK_ID_CURR": 990_077, "AMT_INCOME_TOTAL": 91_234.5}  # a vector nobody explained
    bodies = [{"client_id": stack.client_ids[3]}, {"application": fresh, "history": {}}]
    stack.redis.stop()
    try:
        statuses, explanations = [], []
        for i, body in enumerate(bodies):  # the second would be over the limit if Redis were counting
            response = gateway.post(
                "/v1/scores", json=body, headers={"X-API-Key": key, "X-Request-ID": f"redis-down-{i}"}
            )
            statuses.append(response.status_code)
            explanations.append(response.json()["explanation"])
        assert statuses == [200, 200]
        for explanation in explanations:  # the claim waits in the gateway: pending, with its poll URL
            assert explanation["status"] == "pending"
            assert explanation["url"] == f"/v1/explanations/{explanation['id']}"
            polled = gateway.get(explanation["url"], headers={"X-API-Key": poller})
            assert (polled.status_code, polled.json()["status"]) == (202, "pending")
    finally:
        stack.redis.start()
    for explanation in explanations:  # claimed in Redis and its task queued once Redis is back: the worker's
        done = poll(gateway, explanation["url"], poller)
        assert (done.status_code, done.json()["status"]) == (200, "done")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        logged = {e["request_id"] for e in stack.stream("decisions")}
        if {"redis-down-0", "redis-down-1"} <= logged:
            return
        time.sleep(0.2)
    pytest.fail("decisions made while Redis was down never reached the stream")
