"""Officers' final say through the gateway, on the real platform: the queue, one review per decision (409
on a second), the decision record, the queue metrics, scopes."""

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from loopback.platform import Platform
from tests.gateway.test_scores import APPLICATION

UNUSUAL = {**APPLICATION, "AMT_INCOME_TOTAL": 90_000_000.0}  # outside the champion's training range


def score(gateway: TestClient, key: str, request_id: str, application: dict[str, Any]) -> dict[str, Any]:
    response = gateway.post(
        "/v1/scores",
        json={"application": application, "history": {}},
        headers={"X-API-Key": key, "X-Request-ID": request_id},
    )
    assert response.status_code == 200
    return response.json()


def logged_record(gateway: TestClient, key: str, request_id: str, seconds: float = 20) -> dict[str, Any]:
    """The decision record once monitoring has consumed the decision into its log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = gateway.get(f"/v1/decisions/{request_id}", headers={"X-API-Key": key})
        if response.status_code == 200:
            return response.json()
        assert response.status_code == 404
        time.sleep(0.2)
    pytest.fail(f"decision {request_id} not logged after {seconds}s")


def test_a_review_is_queued_recorded_once_and_part_of_the_decision_record(
    gateway: TestClient, make_key: Callable[..., str], stack: Platform
) -> None:
    key = make_key()
    scored = score(gateway, key, "review-1", UNUSUAL)
    assert scored["decision"] == "review"
    before = logged_record(gateway, key, "review-1")
    assert (before["automated_decision"], before["final_decision"], before["review"]) == (
        "review",
        "review",
        None,
    )
    assert before["model_version"] == scored["model_version"]
    assert before["pd"] == pytest.approx(scored["pd"]) and before["threshold"] == scored["threshold"]
    assert before["review_band"] == {k: scored["review_band"][k] for k in ("low", "high")}
    assert before["warnings"] == scored["warnings"]
    assert before["inputs"]["app_amt_income_total"] == 90_000_000.0
    assert before["model_side"] == ("refused" if scored["pd"] >= scored["threshold"] else "approved")

    queue = gateway.get("/v1/reviews", headers={"X-API-Key": key}).json()
    queued = {r["request_id"]: r for r in queue["reviews"]}
    assert queue["pending"] >= 1 and "review-1" in queued
    assert [r["decided_at"] for r in queue["reviews"]] == sorted(r["decided_at"] for r in queue["reviews"])
    assert queued["review-1"]["warnings"] == scored["warnings"]
    assert queued["review-1"]["explanation_url"] == scored["explanation"]["url"]

    body = {"decision": "refused", "reason": "affordability_insufficient", "note": "income not proven"}
    first = gateway.post("/v1/decisions/review-1/review", json=body, headers={"X-API-Key": key})
    assert first.status_code == 200
    record = first.json()
    assert record["final_decision"] == "refused"
    assert record["review"]["reason"] == "affordability_insufficient"
    assert record["review"]["note"] == "income not proven"
    assert record["review"]["actor"].startswith("test-")
    again = gateway.post(
        "/v1/decisions/review-1/review", json={**body, "decision": "approved"}, headers={"X-API-Key": key}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "review_conflict"
    assert logged_record(gateway, key, "review-1")["review"] == record["review"]  # the first one stays
    queue = gateway.get("/v1/reviews", headers={"X-API-Key": key}).json()
    assert "review-1" not in {r["request_id"] for r in queue["reviews"]}

    metrics = httpx.get(f"{stack.monitoring.url}/metrics").text
    assert _gauge(metrics, "monitoring_reviews") >= 1
    assert "monitoring_review_queue_length " in metrics
    assert "monitoring_review_override_rate " in metrics


def test_only_decisions_in_review_can_be_reviewed_and_unknown_ones_are_404(
    gateway: TestClient, make_key: Callable[..., str]
) -> None:
    key = make_key()
    ordinary = score(gateway, key, "not-review-1", {**APPLICATION, "EXT_SOURCE_2": 0.99})
    logged_record(gateway, key, "not-review-1")
    body = {"decision": "approved", "reason": "income_verified"}
    assert ordinary["decision"] == "approved"  # a safe applicant, outside the review band
    refused = gateway.post("/v1/decisions/not-review-1/review", json=body, headers={"X-API-Key": key})
    assert refused.status_code == 409
    assert "is approved, not in review" in refused.json()["error"]["message"]
    unknown = gateway.get("/v1/decisions/no-such-request", headers={"X-API-Key": key})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "decision_not_found"
    missing = gateway.post("/v1/decisions/no-such-request/review", json=body, headers={"X-API-Key": key})
    assert missing.status_code == 404
    bad_reason = gateway.post(
        "/v1/decisions/not-review-1/review",
        json={**body, "reason": "felt like it"},
        headers={"X-API-Key": key},
    )
    assert bad_reason.status_code == 422
    assert bad_reason.json()["error"]["details"][0]["field"] == "reason"
    nul_note = gateway.post(
        "/v1/decisions/not-review-1/review", json={**body, "note": "a\x00b"}, headers={"X-API-Key": key}
    )
    assert nul_note.status_code == 422
    assert nul_note.json()["error"]["details"][0]["field"] == "note"


def test_review_and_decisions_need_their_scopes(gateway: TestClient, make_key: Callable[..., str]) -> None:
    scorer = make_key(scopes=["score"])
    assert gateway.get("/v1/reviews", headers={"X-API-Key": scorer}).status_code == 403
    assert gateway.get("/v1/decisions/x", headers={"X-API-Key": scorer}).status_code == 403
    body = {"decision": "approved", "reason": "income_verified"}
    assert gateway.post("/v1/decisions/x/review", json=body, headers={"X-API-Key": scorer}).status_code == 403
    reader = make_key(scopes=["decisions"])
    assert gateway.get("/v1/decisions/x", headers={"X-API-Key": reader}).status_code == 404


def _gauge(metrics: str, name: str) -> float:
    [line] = [line for line in metrics.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])
