"""API keys and scopes on /v1, and per-key rate limits (real Postgres and Redis behind the gateway)."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from loopback.platform import Platform
from services.common.db import make_engine
from services.gateway.app import create_app


def _error(response: object) -> dict[str, object]:
    return response.json()["error"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "ck_0123456789ab_wrong"}, {"X-API-Key": "not-a-key"}])
def test_missing_or_unknown_key_is_401_in_the_error_shape(
    gateway: TestClient, headers: dict[str, str]
) -> None:
    response = gateway.post("/v1/scores", json={"client_id": 1}, headers={**headers, "X-Request-ID": "r-401"})
    assert response.status_code == 401
    assert _error(response)["code"] == "unauthorized"
    assert _error(response)["request_id"] == response.headers["X-Request-ID"] == "r-401"


def test_a_key_differing_only_in_its_secret_is_refused(
    gateway: TestClient, make_key: Callable[..., str]
) -> None:
    key = make_key()
    forged = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    assert gateway.get("/v1/model", headers={"X-API-Key": forged}).status_code == 401


def test_a_key_without_the_scope_is_403(gateway: TestClient, make_key: Callable[..., str]) -> None:
    key = make_key(scopes=["model"])
    response = gateway.post(
        "/v1/outcomes", json={"outcomes": [{"client_id": 1, "defaulted": True}]}, headers={"X-API-Key": key}
    )
    assert response.status_code == 403
    assert _error(response)["code"] == "forbidden"
    assert _error(response)["details"] == {"scopes": ["model"]}


def test_a_revoked_key_is_refused(gateway: TestClient, make_key: Callable[..., str], stack: Platform) -> None:
    key = make_key(scopes=["outcomes"])
    body = {"outcomes": [{"client_id": 5, "defaulted": False}]}
    assert gateway.post("/v1/outcomes", json=body, headers={"X-API-Key": key}).status_code == 202
    engine = make_engine(stack.database_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE key_id = :id"), {"id": key.split("_")[1]}
        )
    engine.dispose()
    assert gateway.post("/v1/outcomes", json=body, headers={"X-API-Key": key}).status_code == 401


def test_rate_limit_answers_429_with_retry_after(gateway: TestClient, make_key: Callable[..., str]) -> None:
    key = make_key(rate_limit="3/minute")
    body = {"outcomes": [{"client_id": 1, "defaulted": False}]}
    statuses = [
        gateway.post("/v1/outcomes", json=body, headers={"X-API-Key": key}).status_code for _ in range(3)
    ]
    limited = gateway.post("/v1/outcomes", json=body, headers={"X-API-Key": key})
    assert statuses == [202, 202, 202]
    assert limited.status_code == 429
    assert _error(limited)["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    other = make_key(rate_limit="3/minute")
    assert gateway.post("/v1/outcomes", json=body, headers={"X-API-Key": other}).status_code == 202


def test_body_over_the_limit_is_413(stack: Platform, make_key: Callable[..., str]) -> None:
    with TestClient(create_app(stack.settings(max_body_bytes=1_000))) as small:
        body = {"outcomes": [{"client_id": i, "defaulted": False} for i in range(100)]}
        response = small.post("/v1/outcomes", json=body, headers={"X-API-Key": make_key()})
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


def test_cors_is_off_by_default_and_follows_the_allow_list(stack: Platform, gateway: TestClient) -> None:
    preflight = {"Origin": "https://officer.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in gateway.options("/v1/scores", headers=preflight).headers
    with TestClient(create_app(stack.settings(cors_origins=["https://officer.example"]))) as allowed:
        response = allowed.options("/v1/scores", headers=preflight)
    assert response.headers["access-control-allow-origin"] == "https://officer.example"
