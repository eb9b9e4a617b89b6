"""Kaggle CSV rows as the bodies a front-office app sends to `POST /v1/scores`: an application and its
history rows per table (bureau_balance through its bureau), nulls left out. The demo's drifted traffic
and the platform benchmark's new applicants are built with it."""

from pathlib import Path

import polars as pl

from services.feature_definitions.raw import HISTORY_TABLES

History = dict[str, list[dict[str, object]]]


def rows_of(frame: pl.DataFrame) -> list[dict[str, object]]:
    return [{k: v for k, v in row.items() if v is not None} for row in frame.to_dicts()]


def history_of(files: dict[str, Path], ids: list[int]) -> dict[int, History]:
    """Every history row of the given clients, per client and table (bureau_balance via its bureau)."""
    tables = {name: pl.read_csv(files[name], infer_schema_length=None) for name in HISTORY_TABLES}
    keep = {n: f.filter(pl.col("SK_ID_CURR").is_in(ids)) for n, f in tables.items() if n != "bureau_balance"}
    owner = dict(zip(keep["bureau"]["SK_ID_BUREAU"], keep["bureau"]["SK_ID_CURR"], strict=True))
    keep["bureau_balance"] = tables["bureau_balance"].filter(pl.col("SK_ID_BUREAU").is_in(list(owner)))
    history: dict[int, History] = {i: {n: [] for n in HISTORY_TABLES} for i in ids}
    for name, frame in keep.items():
        for row in rows_of(frame):
            client = row["SK_ID_CURR"] if "SK_ID_CURR" in row else owner[row["SK_ID_BUREAU"]]
            history[int(client)][name].append(row)
    return history


def table_files(folder: Path) -> dict[str, Path]:
    """The Kaggle files of a folder by lower-case table name (application_train, bureau, ...)."""
    return {path.stem.lower(): path for path in folder.glob("*.csv")}
