"""Shared fixtures: real PostgreSQL with a throwaway database per test, the real data sample, an empty
SQLite registry per test, one MLflow tracking server and one whole platform per xdist worker (session
scope, defined here once so every folder shares the same instance; an imported fixture would start one
per folder)."""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from loopback.databases import throwaway_url
from loopback.platform import Platform, running_platform
from loopback.processes import tracking_server
from services.common.db import drop_database, ensure_database, make_engine
from services.gateway.app import create_app
from services.gateway.key_store import SCOPES, create_key
from services.model.mlflow_uri import connect
from tests.support.registered import empty_registry
from tests.support.scheduling import PathGroupScheduling, start_rank

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real Home Credit rows shipped beside the project (../shared/data/real)."""
    if not REAL_DATA.is_dir():
        pytest.fail(f"real data sample missing at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh, empty database in the local PostgreSQL, dropped after the test."""
    url = throwaway_url()
    ensure_database(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`infra/mlflow/server.py` (Postgres backend store, local artifacts) on a free loopback port. Its
    versions live for the session (the explainer's model, the platform's champion): nothing wipes it."""
    with tracking_server(tmp_path_factory.mktemp("mlflow")) as uri:
        yield uri


@pytest.fixture
def tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty SQLite registry of this test's own, set as the process's tracking URI (and in the
    environment, for the processes a test starts): where no server is under test, none is needed."""
    uri = empty_registry(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    connect(uri)
    return uri


@pytest.fixture(scope="session")
def stack(
    real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory, mlflow_server: str
) -> Iterator[Platform]:
    """One real platform per worker for the gateway and web tests, shared by every test: tests that take a
    part down bring it back before they end; each test makes its own API keys, so rate-limit counters and
    decisions never mix between tests."""
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow groups first (a stable sort: collection order otherwise), see tests/support/scheduling.py."""
    items.sort(key=lambda item: start_rank(item.nodeid))


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> PathGroupScheduling | None:
    """`--dist loadgroup` by the path groups of tests/support/scheduling.py (the marks' way is inert)."""
    return PathGroupScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None
