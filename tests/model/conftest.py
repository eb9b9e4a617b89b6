"""The lifecycle's real parts: an MLflow registry in a SQLite file under tmp_path (`tracking_uri`, no
server needed) and a throwaway Postgres database at the latest schema, both also set in the environment
for `credit`."""

import pytest

from services.common.migrations import migrate


@pytest.fixture
def audit_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    migrate(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url
