"""Shared fixtures: real PostgreSQL with a throwaway database per test, paths to the real data sample."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from services.common.db import drop_database, ensure_database
from services.common.settings import CommonSettings

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real Home Credit rows shipped beside the project (../shared/data/real)."""
    if not REAL_DATA.is_dir():
        pytest.fail(f"real data sample missing at {REAL_DATA}")
    return REAL_DATA


def throwaway_url(prefix: str = "credit_test") -> str:
    """The URL of a database of its own (not created yet) in the local PostgreSQL."""
    base = make_url(CommonSettings().database_url)
    return base.set(database=f"{prefix}_{uuid.uuid4().hex[:12]}").render_as_string(hide_password=False)


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh, empty database in the local PostgreSQL, dropped after the test."""
    url = throwaway_url()
    ensure_database(url)
    yield url
    drop_database(url)
