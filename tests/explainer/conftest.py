"""Explainer fixtures: a small LightGBM ScoringModel on catalog feature names registered on the session's
MLflow server, a throwaway redis-server per test and real Celery worker processes."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopback.processes import free_port
from loopback.registry import register_version
from tests.explainer.stack import Stack
from tests.support.models import SmallModel, explainer_model


@pytest.fixture(scope="session")
def small() -> SmallModel:
    return explainer_model()


@pytest.fixture(scope="session")
def registered_version(small: SmallModel, mlflow_server: str) -> str:
    return register_version(small.model, small.reference, mlflow_server)


@pytest.fixture
def stack(tmp_path: Path, mlflow_server: str) -> Iterator[Stack]:
    """A stack of its own, for tests that kill or restart its parts; no worker started yet."""
    own = Stack(tmp_path, mlflow_server)
    yield own
    own.close()


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> Iterator[Stack]:
    """One running worker (serving /metrics) for tests that only submit, each its own vectors: saves worker
    start-ups."""
    shared = Stack(tmp_path_factory.mktemp("explainer"), mlflow_server)
    try:
        shared.start_worker(EXPLAINER_METRICS_PORT=str(free_port()))
        yield shared
    finally:
        shared.close()
