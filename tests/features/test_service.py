"""The features service over HTTP (FastAPI TestClient) against real Postgres."""

import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from services.common.db import raw_connection
from services.contracts.applications import MAX_BATCH_APPLICATIONS
from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.feature_store.build import build
from services.feature_store.cli import features_app
from services.feature_store.store import read_materialised
from services.features.app import create_app
from services.features.settings import FeaturesSettings
from tests.domain_cases import application_cases, history_cases

APPLICATION = {
    "SK_ID_CURR": 999_001,
    "AMT_INCOME_TOTAL": 120_000.0,
    "AMT_CREDIT": 400_000.0,
    "DAYS_BIRTH": -12_000,
}


@pytest.fixture(scope="module")
def service(joined_db: tuple[str, list[int]]) -> Iterator[tuple[TestClient, list[int]]]:
    """Client of a service over the built joined rows; the last client's stored vector is removed."""
    url, ids = joined_db
    build(url)
    with raw_connection(url) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM feature_values WHERE sk_id_curr = %s", (ids[-1],))
    with TestClient(create_app(FeaturesSettings(database_url=url, max_body_bytes=20_000))) as client:
        yield client, ids


def _as_vector(features: dict[str, float | None]) -> np.ndarray:
    assert list(features) == list(NAMES)
    return np.array([math.nan if v is None else v for v in features.values()])


def test_get_materialised_vector(
    service: tuple[TestClient, list[int]], joined_db: tuple[str, list[int]]
) -> None:
    client, ids = service
    response = client.get(f"/features/{ids[0]}")
    assert response.status_code == 200
    body = response.json()
    assert (body["client_id"], body["origin"], body["feature_set_hash"]) == (
        ids[0],
        "materialised",
        FEATURE_SET_HASH,
    )
    stored = read_materialised(joined_db[0], [ids[0]])
    np.testing.assert_array_equal(_as_vector(body["features"]), stored.values[0])


def test_get_computes_a_client_that_is_not_materialised(service: tuple[TestClient, list[int]]) -> None:
    client, ids = service
    body = client.get(f"/features/{ids[-1]}").json()
    assert body["origin"] == "computed"
    assert body["features"]["app_amt_credit"] is not None


def test_unknown_client_is_404_with_the_error_shape_and_request_id(
    service: tuple[TestClient, list[int]],
) -> None:
    client, _ = service
    response = client.get("/features/42", headers={"X-Request-ID": "req-123"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "req-123"
    error = response.json()["error"]
    assert (error["code"], error["request_id"]) == ("client_not_found", "req-123")
    assert set(error) == {"code", "message", "details", "request_id"}


def test_request_id_is_created_when_absent(service: tuple[TestClient, list[int]]) -> None:
    client, _ = service
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32


def test_compute_from_raw_application(service: tuple[TestClient, list[int]]) -> None:
    client, _ = service
    payload = {"application": {**APPLICATION, "CODE_GENDER": "XNA"}, "history": {"bureau": []}}
    response = client.post("/features/compute", json=payload)
    assert response.status_code == 200
    features = response.json()["features"]
    assert features["app_credit_to_income"] == pytest.approx(400_000 / 120_000)
    assert features["app_code_gender_code"] == 2.0


@pytest.mark.parametrize(("field", "application"), application_cases())
def test_each_impossible_application_value_is_422_naming_field_value_and_rule(
    service: tuple[TestClient, list[int]], field: str, application: dict[str, Any]
) -> None:
    client, _ = service
    response = client.post(
        "/features/compute",
        content=json.dumps({"application": application, "history": {}}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == f"application.{field}"
    assert detail["value"] == _json_value(application[field])
    assert detail["reason"].startswith("must ")
    assert f"application.{field}" in response.json()["error"]["message"]


@pytest.mark.parametrize(("table", "column", "value"), history_cases()[::7])
def test_an_impossible_history_value_is_422_naming_it(
    service: tuple[TestClient, list[int]], table: str, column: str, value: Any
) -> None:
    client, _ = service
    body = {"application": APPLICATION, "history": {table.lower(): [{column: value}]}}
    response = client.post(
        "/features/compute", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == [
        f"history.{table.lower()}.0.{column}"
    ]


def _json_value(value: Any) -> Any:
    """What a 422 shows of a value: non-finite numbers as text (JSON has no literal for them)."""
    return str(value) if isinstance(value, float) and not math.isfinite(value) else value


def test_compute_without_history_uses_the_stored_history_of_the_id(
    service: tuple[TestClient, list[int]],
) -> None:
    client, ids = service
    stored = client.get(f"/features/{ids[0]}").json()["features"]
    response = client.post("/features/compute", json={"application": {**APPLICATION, "SK_ID_CURR": ids[0]}})
    computed = response.json()["features"]
    history = [name for name in NAMES if not name.startswith("app_")]
    assert computed["bureau_all_count"] is not None
    # computed by the compiled evaluator, stored by the Polars build: sums may differ in the last bits
    np.testing.assert_allclose(
        _values(computed, history), _values(stored, history), rtol=1e-12, atol=0, equal_nan=True
    )


def _values(features: dict[str, float | None], names: list[str]) -> np.ndarray:
    return np.array([math.nan if features[n] is None else features[n] for n in names])


def test_missing_and_ill_typed_fields_are_422_naming_each(service: tuple[TestClient, list[int]]) -> None:
    client, _ = service
    payload = {
        "application": {"AMT_INCOME_TOTAL": "lots", "DAYS_BIRTH": -1, "CODE_GENDER": 3, "COLOUR": "red"},
        "history": {"bureau": [{"DAYS_CREDIT": "yesterday"}]},
    }
    response = client.post("/features/compute", json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert {d["field"] for d in error["details"]} == {
        "application.AMT_INCOME_TOTAL",
        "application.AMT_CREDIT",
        "application.CODE_GENDER",
        "application.DAYS_BIRTH",
        "application.COLOUR",
        "history.bureau.0.DAYS_CREDIT",
    }
    assert "application.AMT_CREDIT" in error["message"]


def test_malformed_json_and_bad_client_id_are_422(service: tuple[TestClient, list[int]]) -> None:
    client, _ = service
    bad_json = client.post("/features/compute", content=b"{", headers={"content-type": "application/json"})
    assert bad_json.status_code == 422
    assert client.get("/features/abc").json()["error"]["details"][0]["field"] == "path.client_id"


def test_oversized_body_is_413(service: tuple[TestClient, list[int]]) -> None:
    client, _ = service
    rows = [{"SK_ID_BUREAU": i, "DAYS_CREDIT": -1.0} for i in range(1000)]
    response = client.post(
        "/features/compute", json={"application": APPLICATION, "history": {"bureau": rows}}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    chunked = client.post(  # no Content-Length: the limit is enforced while the body is read
        "/features/compute", content=iter([b'{"application": {', b" " * 30_000, b"}}"])
    )
    assert chunked.status_code == 413
    assert chunked.json()["error"]["code"] == "payload_too_large"


def test_schema_endpoint_matches_the_cli(service: tuple[TestClient, list[int]]) -> None:
    client, _ = service
    served = client.get("/features/schema").json()
    printed = json.loads(CliRunner().invoke(features_app, ["schema"]).stdout)
    assert served == printed
    assert served["feature_set_hash"] == FEATURE_SET_HASH
    assert [f["name"] for f in served["features"]] == list(NAMES)


def test_health_readiness_and_metrics(service: tuple[TestClient, list[int]]) -> None:
    client, _ = service
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    assert "features_http_requests_total" in client.get("/metrics").text


def test_without_database_not_ready_and_reads_are_503() -> None:
    settings = FeaturesSettings(database_url="postgresql://postgres@127.0.0.1:5432/credit_test_absent_db")
    with TestClient(create_app(settings)) as client:
        ready, vector = client.get("/readyz"), client.get("/features/100002")
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "not_ready"
    assert vector.status_code == 503  # an outage to wait out, not a 500
    assert vector.json()["error"]["code"] == "database_unavailable"
    assert vector.headers["Retry-After"] == "5"


def _batch(applications: list[dict[str, Any]]) -> dict[str, Any]:
    return {"applications": applications}


def test_batch_computes_each_application_in_order_as_one_at_a_time(
    service: tuple[TestClient, list[int]],
) -> None:
    """With history in the body, with none (the stored history of its id), and twice the same id."""
    client, ids = service
    requests = [
        {"application": {**APPLICATION, "SK_ID_CURR": ids[1]}},
        {"application": {**APPLICATION, "CODE_GENDER": "M"}, "history": {"bureau": [{"DAYS_CREDIT": -10.0}]}},
        {"application": {**APPLICATION, "SK_ID_CURR": ids[2], "AMT_CREDIT": 9.0}},
        {"application": {**APPLICATION, "SK_ID_CURR": ids[1], "AMT_CREDIT": 5.0}},
    ]
    response = client.post("/features/compute/batch", json=_batch(requests))
    assert response.status_code == 200
    vectors = response.json()["vectors"]
    assert [v["client_id"] for v in vectors] == [ids[1], APPLICATION["SK_ID_CURR"], ids[2], ids[1]]
    assert {v["origin"] for v in vectors} == {"payload"}
    assert {v["feature_set_hash"] for v in vectors} == {FEATURE_SET_HASH}
    for request, vector in zip(requests, vectors, strict=True):
        alone = client.post("/features/compute", json=request).json()["features"]
        np.testing.assert_allclose(
            _as_vector(vector["features"]), _as_vector(alone), rtol=1e-12, atol=0, equal_nan=True
        )
    assert vectors[1]["features"]["bureau_all_count"] == 1.0
    assert (
        vectors[0]["features"]["bureau_all_count"] == vectors[3]["features"]["bureau_all_count"] is not None
    )


@pytest.mark.parametrize(("field", "application"), application_cases()[::5])
def test_an_impossible_value_in_a_batch_is_422_naming_its_application_field_value_and_rule(
    service: tuple[TestClient, list[int]], field: str, application: dict[str, Any]
) -> None:
    client, _ = service
    body = _batch([{"application": APPLICATION}, {"application": application, "history": {}}])
    response = client.post(
        "/features/compute/batch", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == f"applications.1.application.{field}"
    assert detail["value"] == _json_value(application[field])
    assert detail["reason"].startswith("must ")


def test_a_batch_of_none_or_too_many_applications_is_422_naming_the_limit(
    joined_db: tuple[str, list[int]],
) -> None:
    with TestClient(create_app(FeaturesSettings(database_url=joined_db[0]))) as client:
        empty = client.post("/features/compute/batch", json=_batch([]))
        many = client.post(
            "/features/compute/batch",
            json=_batch([{"application": APPLICATION}] * (MAX_BATCH_APPLICATIONS + 1)),
        )
    for response, rule in ((empty, "at least 1"), (many, f"at most {MAX_BATCH_APPLICATIONS}")):
        assert response.status_code == 422
        [detail] = response.json()["error"]["details"]
        assert detail["field"] == "applications"
        assert rule in detail["reason"]
