"""Small helpers shared by the scoring service tests."""

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from fastapi.testclient import TestClient

WAIT_SECONDS = 30

# `with serve(**settings_overrides) as client:` (the fixture of the same name)
Serve = Callable[..., AbstractContextManager[TestClient]]


def wait_for(
    condition: Callable[[], bool], seconds: float = WAIT_SECONDS, why: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {seconds}s: {why()}")
        time.sleep(0.05)


def served_version(client: TestClient) -> str | None:
    response = client.get("/model")
    return response.json()["version"] if response.status_code == 200 else None


def json_logs(text: str) -> list[dict]:
    """The service's JSON log lines among captured output."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
