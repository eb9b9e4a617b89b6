"""Parts of the platform going down: features, scoring (scores) or monitoring (outcomes) -> 503 with
Retry-After; the explainer's Redis -> the score still answers (explanation unavailable, no rate limit) and
the decision reaches the stream once Redis is back."""

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from loopback.platform import Platform
from loopback.processes import Service


@pytest.fixture
def brought_back(stack: Platform) -> Iterator[list[Service]]:
    """Services a test kills; restarted after it whatever happened."""
    killed: list[Service] = []
    yield killed
    for service in killed:
        service.start()


@pytest.mark.parametrize("name", ["features", "scoring"])
def test_a_dead_downstream_is_503_with_retry_after(
    name: str, stack: Platform, gateway: TestClient, make_key: Callable[..., str], brought_back: list[Service]
) -> None:
    service: Service = getattr(stack, name)
    service.kill()
    brought_back.append(service)
    response = gateway.post(
        "/v1/scores", json={"client_id": stack.client_ids[2]}, headers={"X-API-Key": make_key()}
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == f"{name}_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert gateway.get("/readyz").status_code == 503


def test_monitoring_down_makes_outcomes_a_503_with_retry_after(
    stack: Platform, gateway: TestClient, make_key: Callable[..., str], brought_back: list[Service]
) -> None:
    stack.monitoring.kill()
    brought_back.append(stack.monitoring)
    outcomes = {"outcomes": [{"client_id": 1, "defaulted": False}]}
    response = gateway.post("/v1/outcomes", json=outcomes, headers={"X-API-Key": make_key()})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "monitoring_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


def test_redis_down_still_scores_and_the_decision_follows_later(
    stack: Platform, gateway: TestClient, make_key: Callable[..., str]
) -> None:
    key = make_key(rate_limit="1/minute")
    stack.redis.stop()
    try:
        statuses, bodies = [], []
        for i in range(2):  # the second would be over the limit if Redis were counting
            response = gateway.post(
                "/v1/scores",
                json={"client_id": stack.client_ids[3]},
                headers={"X-API-Key": key, "X-Request-ID": f"redis-down-{i}"},
            )
            statuses.append(response.status_code)
            bodies.append(response.json())
        assert statuses == [200, 200]
        assert all(b["explanation"] == {"id": None, "status": "unavailable", "url": None} for b in bodies)
    finally:
        stack.redis.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        logged = {e["request_id"] for e in stack.stream("decisions")}
        if {"redis-down-0", "redis-down-1"} <= logged:
            return
        time.sleep(0.2)
    pytest.fail("decisions made while Redis was down never reached the stream")
