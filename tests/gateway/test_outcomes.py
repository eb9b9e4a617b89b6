"""POST /v1/outcomes through the real platform: each outcome settles one logged decision, once, however
often it is sent; outcomes that settle nothing come back rejected with the reason."""

import time
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from loopback.platform import Platform

LOGGED_WITHIN_S = 20.0


def post_outcomes(gateway: TestClient, key: str, outcomes: list[dict[str, object]]) -> dict:
    response = gateway.post("/v1/outcomes", json={"outcomes": outcomes}, headers={"X-API-Key": key})
    assert response.status_code == 202, response.text
    return response.json()


def settle_once_logged(gateway: TestClient, key: str, outcomes: list[dict[str, object]]) -> dict:
    """A decision reaches the log a moment after its score: until then its outcome is rejected."""
    deadline = time.monotonic() + LOGGED_WITHIN_S
    while time.monotonic() < deadline:
        answer = post_outcomes(gateway, key, outcomes)
        if answer["accepted"]:
            return answer
        time.sleep(0.2)
    pytest.fail(f"no outcome settled within {LOGGED_WITHIN_S} s: {answer['rejected']}")


def test_an_outcome_settles_its_decision_once_however_often_it_is_sent(
    gateway: TestClient, make_key: Callable[..., str], stack: Platform
) -> None:
    key = make_key()
    client_id = stack.client_ids[200]
    score = gateway.post("/v1/scores", json={"client_id": client_id}, headers={"X-API-Key": key}).json()
    named = {"client_id": client_id, "defaulted": True, "request_id": score["request_id"]}
    first = settle_once_logged(gateway, key, [named])
    assert first["accepted"] == [
        {
            "item": 0,
            "client_id": client_id,
            "request_id": score["request_id"],
            "result": "recorded",
            "revision": 1,
        }
    ]
    unnamed = {"client_id": client_id, "defaulted": True}  # the client's latest decision: the same one
    never_scored = {"client_id": 1, "defaulted": False}
    again = post_outcomes(gateway, key, [named, unnamed, never_scored])
    assert [(a["request_id"], a["result"]) for a in again["accepted"]] == [
        (score["request_id"], "unchanged")
    ] * 2
    assert again["rejected"][0]["item"] == 2
    assert again["rejected"][0]["reason"].startswith("client 1 has no decision at or before")
    record = httpx.get(f"{stack.monitoring.url}/outcomes/{score['request_id']}").json()
    assert record["current"]["revision"] == 1 and record["history"] == []
    assert record["current"]["source_request_id"] == first["request_id"]


def test_an_outcome_from_the_future_or_with_a_control_character_is_a_422_naming_the_field(
    gateway: TestClient, make_key: Callable[..., str]
) -> None:
    body = {"outcomes": [{"client_id": 5, "defaulted": True, "time": "2999-01-01T00:00:00Z"},
                         {"client_id": 5, "defaulted": True, "request_id": "a\u0000b"}]}  # fmt: skip
    response = gateway.post("/v1/outcomes", json=body, headers={"X-API-Key": make_key()})
    assert response.status_code == 422
    detail, control = response.json()["error"]["details"]
    assert control["field"] == "outcomes.1.request_id"
    assert (
        detail["field"] == "outcomes.0.time"
        and "2999-01-01T00:00:00+00:00 is in the future" in detail["reason"]
    )
