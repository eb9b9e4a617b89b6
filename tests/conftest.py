"""Shared fixtures: real PostgreSQL with a throwaway database per test, paths to the real data sample."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from throwaway_db import throwaway_url

from services.common.db import drop_database, ensure_database

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
