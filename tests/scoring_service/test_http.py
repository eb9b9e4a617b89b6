"""The shared HTTP plumbing (services/common/http.py) on a tiny app of its own."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from services.common.http import ApiError, install

LIMIT = 100


class Echo(BaseModel):
    text: str


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()
    seen: list[tuple[str, int]] = []
    install(app, LIMIT, observe=lambda route, status, seconds: seen.append((route, status)))

    @app.post("/echo/{name}")
    async def echo(name: str, body: Echo) -> dict[str, str]:
        if name == "teapot":
            raise ApiError(418, "teapot", "short and stout", {"name": name}, {"Retry-After": "7"})
        if name == "crash":
            raise RuntimeError("boom")
        return {"name": name, "text": body.text}

    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.seen = seen  # type: ignore[attr-defined]
        yield test_client


def test_request_id_is_accepted_or_created_and_echoed(client: TestClient) -> None:
    given = client.post("/echo/a", json={"text": "hi"}, headers={"X-Request-ID": "abc-123"})
    created = client.post("/echo/a", json={"text": "hi"})
    assert given.headers["X-Request-ID"] == "abc-123"
    assert len(created.headers["X-Request-ID"]) == 32
    assert client.seen == [("/echo/{name}", 200), ("/echo/{name}", 200)]


def test_every_error_has_one_shape_with_the_request_id(client: TestClient) -> None:
    headers = {"X-Request-ID": "r1"}
    domain = client.post("/echo/teapot", json={"text": "x"}, headers=headers)
    invalid = client.post("/echo/a", json={"text": 3}, headers=headers)
    missing = client.get("/nowhere", headers=headers)
    crash = client.post("/echo/crash", json={"text": "x"}, headers=headers)

    assert domain.status_code == 418
    assert domain.headers["Retry-After"] == "7"
    assert domain.json() == {
        "error": {
            "code": "teapot",
            "message": "short and stout",
            "details": {"name": "teapot"},
            "request_id": "r1",
        }
    }
    assert invalid.status_code == 422
    assert invalid.json()["error"]["details"] == [
        {"field": "text", "reason": "Input should be a valid string", "value": 3}
    ]
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert crash.status_code == 500
    assert crash.json()["error"] == {
        "code": "internal_error",
        "message": "internal error; quote the request id when reporting it",
        "details": None,
        "request_id": "r1",
    }
    assert crash.headers["X-Request-ID"] == "r1"
    assert ("unmatched", 404) in client.seen


def test_bodies_over_the_limit_are_413_declared_or_chunked(client: TestClient) -> None:
    big = {"text": "x" * LIMIT}
    declared = client.post("/echo/a", json=big)
    chunked = client.post("/echo/a", content=iter([b'{"text": "', b"x" * LIMIT, b'"}']))
    small_chunked = client.post(
        "/echo/a", content=iter([b'{"text":', b' "ok"}']), headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"
    assert chunked.status_code == 413
    assert small_chunked.json() == {"name": "a", "text": "ok"}


def test_malformed_json_is_422_not_500(client: TestClient) -> None:
    response = client.post("/echo/a", content=b'{"text": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body"
