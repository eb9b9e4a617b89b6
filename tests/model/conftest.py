"""The lifecycle's real parts: an MLflow registry in a SQLite file under tmp_path (no server needed) and
a throwaway Postgres database at the latest schema, both also set in the environment for `credit`."""

import mlflow
import pytest

from services.common.migrations import migrate
from services.model.mlflow_uri import connect


@pytest.fixture
def tracking_uri(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    connect(uri)
    return mlflow.get_tracking_uri()


@pytest.fixture
def audit_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    migrate(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url
