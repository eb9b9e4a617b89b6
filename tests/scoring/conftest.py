"""A real MLflow tracking server per xdist worker: Postgres backend store in a throwaway database, local
artifact root, free loopback port."""

import contextlib
import importlib.util
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from explainer.stack import free_port
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sqlalchemy.engine import make_url

from services.common.db import drop_database
from services.common.settings import CommonSettings
from services.model.registry import MODEL_NAME

REPO = Path(__file__).resolve().parents[2]
# infra/ is not an installed package: load the launcher the dev scripts use from its file.
_spec = importlib.util.spec_from_file_location("mlflow_server", REPO / "infra" / "mlflow" / "server.py")
mlflow_server_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mlflow_server_module)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`infra/mlflow/server.py` on a free loopback port; its backend database is dropped afterwards."""
    base = make_url(CommonSettings().database_url)
    db_url = base.set(database=f"mlflow_test_{uuid.uuid4().hex[:12]}").render_as_string(hide_password=False)
    root = tmp_path_factory.mktemp("mlflow")
    try:
        with mlflow_server_module.serve(db_url, root / "artifacts", free_port(), root / "server.log") as uri:
            yield uri
    finally:
        drop_database(db_url)


@pytest.fixture
def tracking_uri(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The worker's server with an empty `credit-scoring` registry: tests do not see each other's versions."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    mlflow.set_tracking_uri(mlflow_server)
    with contextlib.suppress(MlflowException):
        MlflowClient().delete_registered_model(MODEL_NAME)
    return mlflow_server
