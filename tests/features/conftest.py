"""Fixtures for the feature tests: real Home Credit rows loaded into a throwaway Postgres database.

The real history heads do not join with the application sample, so `joined_real_rows` re-keys them onto
sample applications: values stay real, and every history table has clients to aggregate over.
"""

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from throwaway_db import throwaway_url

from services.common.db import drop_database, ensure_database
from services.common.migrations import migrate
from services.data.loader import load_directory

APPLICATIONS = 250  # sample applications in the joined set
WITH_HISTORY = 60  # of which this many receive the re-keyed history rows
HISTORY_FILES = (
    "bureau.csv",
    "previous_application.csv",
    "POS_CASH_balance.csv",
    "installments_payments.csv",
    "credit_card_balance.csv",
)


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema_length=0)  # strings: values are written back exactly as read


def _rekey(frame: pl.DataFrame, column: str, targets: list[str]) -> pl.DataFrame:
    """Map each distinct value of `column`, in order of appearance, onto `targets` cyclically."""
    distinct = frame[column].unique(maintain_order=True).to_list()
    mapping = {value: targets[i % len(targets)] for i, value in enumerate(distinct)}
    return frame.with_columns(pl.col(column).replace_strict(mapping))


def write_joined_real_rows(real_data_dir: Path, out: Path) -> list[int]:
    """Real sample applications + real history heads re-keyed onto them; returns the application ids."""
    heads = real_data_dir / "heads"
    applications = _read(real_data_dir / "application_train_sample.csv").head(APPLICATIONS)
    applications.write_csv(out / "application_train.csv")
    ids = applications["SK_ID_CURR"].to_list()
    for name in HISTORY_FILES:
        _rekey(_read(heads / name), "SK_ID_CURR", ids[:WITH_HISTORY]).write_csv(out / name)
    bureau_ids = _read(out / "bureau.csv")["SK_ID_BUREAU"].to_list()
    _rekey(_read(heads / "bureau_balance.csv"), "SK_ID_BUREAU", bureau_ids).write_csv(
        out / "bureau_balance.csv"
    )
    return [int(i) for i in ids]


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
