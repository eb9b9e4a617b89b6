"""One real platform per xdist worker for the gateway tests (see platform.py), shared by every test.

Tests that take a part down bring it back before they end; each test makes its own API keys, so rate-limit
counters and decisions never mix between tests.
"""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from scoring.conftest import mlflow_server  # noqa: F401  (a fixture: pytest finds it by name)

from gateway.platform import Platform, running_platform
from services.common.db import make_engine
from services.gateway.app import create_app
from services.gateway.key_store import SCOPES, create_key


@pytest.fixture(scope="session")
def stack(
    real_data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    mlflow_server: str,  # noqa: F811
) -> Iterator[Platform]:
    with running_platform(
        real_data_dir, tmp_path_factory.mktemp("platform"), mlflow_server, "1000/second"
    ) as up:
        yield up


@pytest.fixture
def make_key(stack: Platform) -> Iterator[Callable[..., str]]:
    """Make an API key in the platform's database: `make_key(scopes=[...], rate_limit="5/minute")`."""
    engine = make_engine(stack.database_url)

    def make(scopes: list[str] | None = None, rate_limit: str | None = None) -> str:
        chosen = list(SCOPES) if scopes is None else scopes
        return create_key(engine, f"test-{uuid.uuid4().hex[:6]}", chosen, rate_limit)[1]

    yield make
    engine.dispose()


@pytest.fixture
def gateway(stack: Platform) -> Iterator[TestClient]:
    """An in-process gateway over the platform (fresh state: key cache, decision buffer, pauses)."""
    settings = stack.settings(api_key_cache_s=0, explainer_timeout_s=5.0)  # behaviour, not speed
    with TestClient(create_app(settings)) as client:
        yield client
