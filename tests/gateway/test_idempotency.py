"""Idempotency-Key on POST /v1/scores and on reviews: a retry is the first answer, never a second decision
or a second review; another body under the same key is a 409; the key lives a configurable time."""

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from loopback.platform import Platform
from services.gateway.app import create_app
from tests.gateway.test_reviews import UNUSUAL, logged_record
from tests.gateway.test_scores import APPLICATION


def decisions_logged(stack: Platform, request_id: str) -> int:
    time.sleep(1.0)  # the decision entry is sent after the response, by a background task
    return sum(1 for e in stack.stream("decisions") if e["request_id"] == request_id)


def test_a_retried_score_with_the_same_key_logs_one_decision(
    gateway: TestClient, make_key: Callable[..., str], stack: Platform
) -> None:
    key = make_key()
    body = {"application": APPLICATION, "history": {}}
    first = gateway.post(
        "/v1/scores",
        json=body,
        headers={"X-API-Key": key, "X-Request-ID": "idem-1", "Idempotency-Key": "k-1"},
    )
    retry = gateway.post(
        "/v1/scores",
        json=body,
        headers={"X-API-Key": key, "X-Request-ID": "idem-2", "Idempotency-Key": "k-1"},
    )
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.json()["request_id"] == "idem-1"
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert (decisions_logged(stack, "idem-1"), decisions_logged(stack, "idem-2")) == (1, 0)

    other = {"application": {**APPLICATION, "AMT_CREDIT": 310_000.0}, "history": {}}
    reused = gateway.post("/v1/scores", json=other, headers={"X-API-Key": key, "Idempotency-Key": "k-1"})
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    another_caller = make_key()  # keys are per API key: the same Idempotency-Key is a new request there
    fresh = gateway.post(
        "/v1/scores", json=other, headers={"X-API-Key": another_caller, "Idempotency-Key": "k-1"}
    )
    assert fresh.status_code == 200 and fresh.json()["request_id"] != "idem-1"


def test_a_retried_review_is_the_first_answer_and_stored_once(
    gateway: TestClient, make_key: Callable[..., str]
) -> None:
    key = make_key()
    scored = gateway.post(
        "/v1/scores",
        json={"application": UNUSUAL, "history": {}},
        headers={"X-API-Key": key, "X-Request-ID": "idem-review"},
    )
    assert scored.json()["decision"] == "review"
    logged_record(gateway, key, "idem-review")
    body = {"decision": "approved", "reason": "income_verified", "note": "payslips seen"}
    headers = {"X-API-Key": key, "Idempotency-Key": "review-k"}
    first = gateway.post("/v1/decisions/idem-review/review", json=body, headers=headers)
    retry = gateway.post("/v1/decisions/idem-review/review", json=body, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    unkeyed = gateway.post("/v1/decisions/idem-review/review", json=body, headers={"X-API-Key": key})
    assert unkeyed.status_code == 409  # a second review, not a retry


@pytest.fixture
def short_lived(stack: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(stack.settings(api_key_cache_s=0, idempotency_ttl_s=1))) as client:
        yield client


def test_the_key_expires_after_its_ttl(short_lived: TestClient, make_key: Callable[..., str]) -> None:
    headers = {"X-API-Key": make_key(), "Idempotency-Key": "k-ttl"}
    body = {"application": APPLICATION, "history": {}}
    first = short_lived.post("/v1/scores", json=body, headers=headers).json()
    time.sleep(1.5)
    later = short_lived.post("/v1/scores", json=body, headers=headers).json()
    assert later["request_id"] != first["request_id"]
