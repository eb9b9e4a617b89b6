"""The gateway tests run against the worker's platform (`stack`, tests/conftest.py), and in-process."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from loopback.platform import Platform
from services.gateway.app import create_app


@pytest.fixture
def gateway(stack: Platform) -> Iterator[TestClient]:
    """An in-process gateway over the platform (fresh state: key cache, decision buffer, pauses)."""
    settings = stack.settings(api_key_cache_s=0, explainer_timeout_s=5.0)  # behaviour, not speed
    with TestClient(create_app(settings)) as client:
        yield client
