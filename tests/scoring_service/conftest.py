"""The scoring service against real parts: an MLflow registry (`tracking_uri`, SQLite, no server needed),
the real features service in a subprocess, local Redis. The service app runs in-process (TestClient)."""

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from loopback.processes import free_port
from services.common.settings import CommonSettings
from services.scoring.app import create_app
from services.scoring.settings import ScoringSettings
from tests.scoring_service.support import Serve, wait_for

STARTUP_SECONDS = 60


@pytest.fixture(scope="session")
def features_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real features service (only /features/schema is asked; its database pool opens lazily)."""
    port = free_port()
    log = tmp_path_factory.mktemp("features") / "features.log"
    command = [sys.executable, "-m", "uvicorn", "services.features.app:app", "--port", str(port)]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}/features/schema"), STARTUP_SECONDS, lambda: log.read_text()[-2000:])
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def shadow_stream() -> Iterator[str]:
    """A Redis stream of this test's own, deleted afterwards."""
    name = f"scoring:shadow:test:{uuid.uuid4().hex[:12]}"
    yield name
    redis.Redis.from_url(CommonSettings().redis_url).delete(name)


@pytest.fixture
def serve(tracking_uri: str, features_url: str, shadow_stream: str) -> Serve:
    """`with serve(**overrides) as client:` runs the service (lifespan included) with fast polling."""

    @contextmanager
    def running(**overrides: object) -> Iterator[TestClient]:
        settings = ScoringSettings(
            mlflow_tracking_uri=tracking_uri,
            features_url=features_url,
            reload_interval_s=0.5,  # fast enough for the tests, gentle on the registry
            shadow_stream=shadow_stream,
            **overrides,
        )
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield client

    return running
