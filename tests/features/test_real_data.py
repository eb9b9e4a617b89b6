"""The pipeline on the real Home Credit rows: runs without errors and yields sensible values."""

from pathlib import Path

import numpy as np
import polars as pl

from services.common.migrations import migrate
from services.data.loader import load_directory
from services.feature_definitions.catalog import NAMES
from services.feature_store.build import build
from services.feature_store.store import read_materialised


def test_build_on_real_rows_gives_finite_sensible_values(database_url: str, real_data_dir: Path) -> None:
    migrate(database_url)
    load_directory(database_url, real_data_dir)
    report = build(database_url)
    sample = pl.read_csv(
        real_data_dir / "application_train_sample.csv", columns=["SK_ID_CURR", "DAYS_EMPLOYED"]
    )
    assert report.clients == sample.height + 199  # the train sample plus the application_test head
    stored = read_materialised(database_url, sample["SK_ID_CURR"].to_list())
    column = {name: stored.values[:, i] for i, name in enumerate(NAMES)}
    assert not np.isinf(stored.values).any()
    pensioners = sample.sort("SK_ID_CURR")["DAYS_EMPLOYED"].to_numpy() == 365243
    assert pensioners.sum() > 0
    np.testing.assert_array_equal(column["app_days_employed_is_placeholder"], pensioners.astype(float))
    assert np.isnan(column["app_days_employed"][pensioners]).all()
    assert np.nanmax(column["app_days_employed"]) < 0
    assert np.nanmin(column["app_ext_source_mean"]) > 0 and np.nanmax(column["app_ext_source_mean"]) < 1
    assert np.nanmin(column["app_credit_to_income"]) > 0
    assert np.nanmin(column["app_age_years"]) > 18 and np.nanmax(column["app_age_years"]) < 75
    assert np.isnan(column["app_code_gender_code"]).sum() == 0


def test_real_history_heads_aggregate_without_errors(joined_db: tuple[str, list[int]]) -> None:
    url, ids = joined_db
    report = build(url)
    stored = read_materialised(url)
    assert report.clients == len(ids) == len(stored.client_ids)
    assert not np.isinf(stored.values).any()
    with_history = {
        prefix: int((~np.isnan(stored.values[:, NAMES.index(f"{prefix}_all_count")])).sum())
        for prefix in ("bureau", "previous", "pos", "instalments", "card")
    }
    assert min(with_history.values()) > 0, with_history
