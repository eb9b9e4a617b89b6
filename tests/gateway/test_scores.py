"""POST /v1/scores end to end through real features, scoring and explainer processes, and the reads
that follow it (explanation, model, importance)."""

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from loopback.platform import Platform
from services.contracts.applications import REQUIRED_APPLICATION_FIELDS
from services.contracts.explanations import Status
from services.explainer.cache import Record, record_key
from services.gateway.app import create_app
from tests.domain_cases import application_cases

APPLICATION = {
    "SK_ID_CURR": 990_001,
    "AMT_INCOME_TOTAL": 90_000.0,
    "AMT_CREDIT": 300_000.0,
    "AMT_ANNUITY": 15_000.0,
    "DAYS_BIRTH": -14_000,
    "CODE_GENDER": "F",
    "EXT_SOURCE_2": 0.4,
}


def poll(gateway: TestClient, url: str, key: str, seconds: float = 60) -> Any:
    """GET `url` until it stops answering 202."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = gateway.get(url, headers={"X-API-Key": key})
        if response.status_code != 202:
            return response
        assert int(response.headers["Retry-After"]) >= 1
        time.sleep(0.2)
    pytest.fail(f"{url} still pending after {seconds}s")


def test_score_a_known_client_then_read_its_explanation(
    gateway: TestClient, make_key: Callable[..., str], stack: Platform
) -> None:
    key = make_key()
    client_id = stack.client_ids[0]
    response = gateway.post(
        "/v1/scores",
        json={"client_id": client_id},
        headers={"X-API-Key": key, "X-Request-ID": f"known-{client_id}"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["request_id"], body["client_id"], body["source"]) == (
        f"known-{client_id}",
        client_id,
        "client_id",
    )
    assert body["model_version"] == stack.model_version
    assert 0 <= body["pd"] <= 1
    assert body["decision"] == expected_decision(body)
    explanation = body["explanation"]
    assert explanation["status"] in ("pending", "running", "done")
    assert explanation["url"] == f"/v1/explanations/{explanation['id']}"

    done = poll(gateway, explanation["url"], key)
    assert done.status_code == 200
    result = done.json()
    assert result["status"] == "done"
    assert result["result"]["pd"] == pytest.approx(body["pd"])
    assert result["result"]["decision"] == body["decision"]  # review too: the explanation states the score's
    assert result["result"]["contributions"] and result["result"]["principal_reasons"]
    families = result["result"]["families"]
    margin = result["result"]["base_value"] + sum(f["shap_value"] for f in families)
    assert margin == pytest.approx(result["result"]["raw_margin"])


def test_a_scored_decision_is_logged_to_the_stream(
    gateway: TestClient, make_key: Callable[..., str], stack: Platform
) -> None:
    response = gateway.post(
        "/v1/scores",
        json={"client_id": stack.client_ids[1]},
        headers={"X-API-Key": make_key(), "X-Request-ID": "logged-1"},
    )
    assert response.status_code == 200
    entry = _wait_for_decision(stack, "logged-1")
    body = response.json()
    assert set(entry) == {
        "request_id",
        "time",
        "client_id",
        "model_version",
        "features",
        "pd",
        "decision",
        "threshold",
        "review_band",
        "warnings",
        "explanation_id",
        "latency_ms",
        "source",
    }
    assert (entry["client_id"], entry["pd"], entry["decision"]) == (
        body["client_id"],
        body["pd"],
        body["decision"],
    )
    assert entry["source"] == "client_id" and entry["model_version"] == stack.model_version
    served = httpx.get(f"{stack.features.url}/features/{stack.client_ids[1]}").json()["features"]
    assert entry["features"] == served
    assert entry["latency_ms"] > 0


def _wait_for_decision(stack: Platform, request_id: str, seconds: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [e for e in stack.stream("decisions") if e["request_id"] == request_id]
        if found:
            assert len(found) == 1
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"decision {request_id} not in the stream after {seconds}s")


def test_score_a_new_application(gateway: TestClient, make_key: Callable[..., str], stack: Platform) -> None:
    response = gateway.post(
        "/v1/scores",
        json={"application": APPLICATION, "history": {}},
        headers={"X-API-Key": make_key(), "X-Request-ID": "new-app"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["source"], body["client_id"]) == ("application", APPLICATION["SK_ID_CURR"])
    assert _wait_for_decision(stack, "new-app")["source"] == "application"


HISTORY = {
    "bureau": [
        {"SK_ID_CURR": 990_001, "SK_ID_BUREAU": 1, "CREDIT_ACTIVE": "Active", "DAYS_CREDIT": -400},
        {"SK_ID_CURR": 990_001, "SK_ID_BUREAU": 2, "CREDIT_ACTIVE": "Closed", "DAYS_CREDIT": -900},
    ],
}


@pytest.mark.parametrize(
    ("request_id", "body", "encoded"),
    [
        # validated from its bytes and sent on as received
        ("as-received", {"application": APPLICATION, "history": HISTORY}, lambda b: json.dumps(b).encode()),
        # the features service refuses a client_id, even null: the application is encoded for it instead
        (
            "null-client-id",
            {"client_id": None, "application": APPLICATION, "history": HISTORY},
            lambda b: json.dumps(b).encode(),
        ),
        # JSON the standard library reads but pydantic's parser does not: validated as before, then encoded
        (
            "utf-16",
            {"application": APPLICATION, "history": HISTORY},
            lambda b: json.dumps(b).encode("utf-16"),
        ),
    ],
)
def test_a_new_application_is_scored_on_the_vector_of_its_fields_however_its_body_is_sent(
    gateway: TestClient,
    make_key: Callable[..., str],
    stack: Platform,
    request_id: str,
    body: dict[str, Any],
    encoded: Callable[[dict[str, Any]], bytes],
) -> None:
    headers = {"X-API-Key": make_key(), "X-Request-ID": request_id, "Content-Type": "application/json"}
    response = gateway.post("/v1/scores", content=encoded(body), headers=headers)
    assert response.status_code == 200, response.text
    assert (response.json()["source"], response.json()["client_id"]) == ("application", 990_001)
    fields = {"application": APPLICATION, "history": HISTORY}
    computed = httpx.post(f"{stack.features.url}/features/compute", json=fields).json()["features"]
    assert _wait_for_decision(stack, request_id)["features"] == computed


def test_a_score_says_how_long_the_services_behind_it_took(
    gateway: TestClient, make_key: Callable[..., str], stack: Platform
) -> None:
    started = time.perf_counter()
    response = gateway.post(
        "/v1/scores", json={"client_id": stack.client_ids[2]}, headers={"X-API-Key": make_key()}
    )
    elapsed_ms = 1000 * (time.perf_counter() - started)
    assert response.status_code == 200
    timings = dict(part.split(";dur=") for part in response.headers["Server-Timing"].split(", "))
    assert set(timings) == {"features", "scoring"}
    assert all(float(ms) > 0 for ms in timings.values())
    assert sum(float(ms) for ms in timings.values()) < elapsed_ms


def expected_decision(body: dict[str, Any]) -> str:
    band = body["review_band"]
    if body["warnings"] or band["low"] <= body["pd"] < band["high"]:
        return "review"
    return "refused" if body["pd"] >= body["threshold"] else "approved"


@pytest.mark.parametrize(
    ("change", "field", "unusual"),
    [
        ({"AMT_INCOME_TOTAL": 90_000_000.0}, "app_amt_income_total", "outside the training range"),
        ({"CODE_GENDER": "XNA"}, "app_code_gender_code", "never saw in training"),
        ({"EXT_SOURCE_2": None}, "inputs", "no external score and no history"),
    ],
)
def test_an_unusual_application_is_scored_with_warnings_and_goes_to_review(
    gateway: TestClient,
    make_key: Callable[..., str],
    stack: Platform,
    change: dict[str, Any],
    field: str,
    unusual: str,
) -> None:
    request_id = f"unusual-{field}"
    response = gateway.post(
        "/v1/scores",
        json={"application": {**APPLICATION, **change}, "history": {}},
        headers={"X-API-Key": make_key(), "X-Request-ID": request_id},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "review"
    assert 0 < body["pd"] < 1 and body["grade"] in "ABCDEFG"
    [warning] = body["warnings"]
    assert warning["field"] == field and unusual in warning["unusual"]
    logged = _wait_for_decision(stack, request_id)
    assert (logged["decision"], logged["warnings"]) == ("review", body["warnings"])
    assert logged["review_band"] == body["review_band"]


def test_unknown_client_is_404(gateway: TestClient, make_key: Callable[..., str]) -> None:
    response = gateway.post("/v1/scores", json={"client_id": 42}, headers={"X-API-Key": make_key()})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "client_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"client_id": 1, "application": APPLICATION}, "body"),
        ({}, "body"),
        ({"client_id": "abc"}, "client_id"),
        ({"application": {**APPLICATION, "AMT_CREDIT": "lots"}}, "application.AMT_CREDIT"),
        ({"application": {**APPLICATION, "NOT_A_COLUMN": 1}}, "application.NOT_A_COLUMN"),
        ({"application": {"SK_ID_CURR": 1}}, f"application.{REQUIRED_APPLICATION_FIELDS[0]}"),
        ({"application": {**APPLICATION, "SK_ID_CURR": 2**64}}, "application.SK_ID_CURR"),  # beyond bigint
    ],
)
def test_bad_input_is_422_naming_the_field(
    gateway: TestClient, make_key: Callable[..., str], body: dict[str, Any], field: str
) -> None:
    response = gateway.post("/v1/scores", json=body, headers={"X-API-Key": make_key()})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in {d["field"] or "body" for d in error["details"]}


@pytest.mark.parametrize(("field", "application"), application_cases())
def test_each_impossible_application_value_is_422_naming_field_value_and_rule(
    gateway: TestClient, make_key: Callable[..., str], field: str, application: dict[str, Any]
) -> None:
    body = json.dumps({"application": application})
    headers = {"X-API-Key": make_key(), "content-type": "application/json"}
    response = gateway.post("/v1/scores", content=body, headers=headers)
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == f"application.{field}"
    value = application[field]
    assert detail["value"] == (str(value) if value == float("inf") else value)
    assert detail["reason"].startswith("must ")


def test_model_and_importance(gateway: TestClient, make_key: Callable[..., str], stack: Platform) -> None:
    key = make_key(scopes=["model"])
    described = gateway.get("/v1/model", headers={"X-API-Key": key}).json()
    band = described["review_band"]
    assert band["low"] < described["threshold"] < band["high"]
    assert described["points_scale"]["points_to_double_odds"] == 20.0
    assert [g["grade"] for g in described["master_scale"]] == list("ABCDEFG")
    model = gateway.get("/v1/model", headers={"X-API-Key": key}).json()
    assert (model["version"], model["alias"]) == (stack.model_version, "champion")
    assert 0 < model["threshold"] < 1
    importance = poll(gateway, "/v1/model/importance", key, seconds=120)
    assert importance.status_code == 200
    body = importance.json()
    assert body["model_version"] == stack.model_version
    values = [f["mean_abs_shap"] for f in body["features"]]
    assert values == sorted(values, reverse=True) and values[0] > 0
    families = body["families"]  # by reason family too, in words
    weights = [f["mean_abs_shap"] for f in families]
    assert weights == sorted(weights, reverse=True)
    assert families[0]["title"] and body["features"][0]["label"]
    assert {f["family"] for f in body["features"]} == {f["family"] for f in families}


def test_unknown_explanation_is_404(gateway: TestClient, make_key: Callable[..., str]) -> None:
    headers = {"X-API-Key": make_key(scopes=["explain"])}
    assert gateway.get(f"/v1/explanations/1-{'0' * 24}", headers=headers).status_code == 404
    malformed = gateway.get("/v1/explanations/not-an-id", headers=headers)
    assert malformed.status_code == 422
    assert malformed.json()["error"]["details"][0]["field"] == "path.explanation_id"


def test_the_explanation_url_answers_as_soon_as_the_score_does(
    gateway: TestClient, make_key: Callable[..., str], stack: Platform
) -> None:
    key = make_key()
    score = gateway.post("/v1/scores", json={"client_id": stack.client_ids[4]}, headers={"X-API-Key": key})
    explanation = score.json()["explanation"]
    status = gateway.get(explanation["url"], headers={"X-API-Key": key})
    assert status.status_code in (200, 202)
    assert status.json()["explanation_id"] == explanation["id"]


def test_a_done_explanation_is_reused_and_a_failed_one_queued_again(
    gateway: TestClient, make_key: Callable[..., str], stack: Platform
) -> None:
    key = make_key()

    def explanation() -> dict[str, Any]:
        body = {"client_id": stack.client_ids[5]}
        return gateway.post("/v1/scores", json=body, headers={"X-API-Key": key}).json()["explanation"]

    first = explanation()
    assert poll(gateway, first["url"], key).json()["status"] == "done"
    assert explanation() == {**first, "status": "done"}

    client = redis.Redis.from_url(stack.redis.url)
    client.set(record_key(first["id"]), Record(Status.FAILED, "worker lost").to_json())
    client.close()
    assert gateway.get(first["url"], headers={"X-API-Key": key}).json()["status"] == "failed"
    assert explanation() == {**first, "status": "pending"}
    assert poll(gateway, first["url"], key).json()["status"] == "done"


def test_a_claim_expires_unless_a_worker_takes_it(stack: Platform, make_key: Callable[..., str]) -> None:
    """A claim whose task never reaches a worker (the gateway killed in between) is not left pending for
    the result's lifetime."""
    assert stack.worker is not None
    stack.worker.pause()
    try:
        with TestClient(create_app(stack.settings(explanation_claim_ttl_s=30))) as gateway:
            body = {"application": {**APPLICATION, "SK_ID_CURR": 990_002, "AMT_CREDIT": 123_456.0}}
            response = gateway.post("/v1/scores", json=body, headers={"X-API-Key": make_key()})
        explanation = response.json()["explanation"]
        assert explanation["status"] == "pending"
        client = redis.Redis.from_url(stack.redis.url)
        assert 0 < client.ttl(record_key(explanation["id"])) <= 30
        client.close()
    finally:
        stack.worker.resume()
