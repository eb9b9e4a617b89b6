"""Kaggle-format CSV files read straight into the feature code, without Postgres: for experiments on the
real sample or a synthetic set (bench/gender.py, the reason tests). The same frames as `raw.read_raw`:
columns lower-cased and typed like their Postgres tables, so the features are the ones the build gives."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from services.feature_definitions.catalog import NAMES, compute_features
from services.feature_definitions.raw import HISTORY_TABLES, RawTables, empty_history, polars_schema, spec_for


@dataclass(frozen=True)
class LabelledFeatures:
    ids: np.ndarray
    x: np.ndarray  # every catalog feature, in catalog order
    y: np.ndarray


def read_table(path: Path, table: str) -> pl.DataFrame:
    """A Kaggle CSV typed like its Postgres table (a RawTables field name); TARGET kept when present."""
    schema = polars_schema(table)
    frame = pl.read_csv(path, infer_schema_length=0)
    frame = frame.rename({column: column.lower() for column in frame.columns})
    columns = [pl.col(c).cast(t, strict=False) for c, t in schema.items()]
    extra = [pl.col("target").cast(pl.Int64)] if "target" in frame.columns else []
    return frame.select(*columns, *extra)


def labelled_features(application_csv: Path, history_dir: Path | None = None) -> LabelledFeatures:
    """Every labelled application's features; history tables from `history_dir` (None: no history)."""
    application = read_table(application_csv, "application")
    history = empty_history()
    if history_dir is not None:
        history = {t: read_table(history_dir / f"{spec_for(t).name}.csv", t) for t in HISTORY_TABLES}
    raw = RawTables(application=application.drop("target"), **history)
    labels = application.select("sk_id_curr", "target").filter(pl.col("target").is_not_null())
    features = compute_features(raw).join(labels, on="sk_id_curr")
    return LabelledFeatures(
        ids=features["sk_id_curr"].to_numpy(),
        x=features.select(NAMES).to_numpy().astype(np.float64),
        y=features["target"].to_numpy(),
    )
