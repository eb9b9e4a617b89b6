"""Fixtures for the feature tests: real Home Credit rows loaded into a throwaway Postgres database.

The rows are `loopback.platform.write_joined_real_rows`: real history heads re-keyed onto sample
applications, so values stay real and every history table has clients to aggregate over.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopback.databases import throwaway_url
from loopback.platform import write_joined_real_rows
from services.common.db import drop_database, ensure_database
from services.common.migrations import migrate
from services.data.loader import load_directory


@pytest.fixture(scope="module")
def joined_db(
    real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[int]]]:
    """(database url, application ids): joined real rows loaded, nothing built; one database per module."""
    url = throwaway_url()
    ensure_database(url)
    migrate(url)
    out = tmp_path_factory.mktemp("joined")
    ids = write_joined_real_rows(real_data_dir, out)
    load_directory(url, out)
    yield url, ids
    drop_database(url)


@pytest.fixture
def loaded_db(database_url: str, real_data_dir: Path, tmp_path: Path) -> tuple[str, list[int]]:
    """A per-test database with the joined real rows loaded (tests may build or change it)."""
    migrate(database_url)
    ids = write_joined_real_rows(real_data_dir, tmp_path)
    load_directory(database_url, tmp_path)
    return database_url, ids
