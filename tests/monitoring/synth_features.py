"""Feature vectors of synthetic clients: `credit data synth` tables run through the features pipeline.

The tables are read from the generated Parquet files with the Postgres column types
(services/feature_definitions/raw.py) and go through `compute_features`, the function the batch build
and the service use.
"""

from pathlib import Path

import polars as pl

from services.data.synth import generate
from services.data.tables import TABLES_BY_NAME
from services.feature_definitions.catalog import compute_features
from services.feature_definitions.raw import HISTORY_TABLES, RawTables, polars_schema

FILE_STEMS = {spec.name.lower(): spec.name for spec in TABLES_BY_NAME.values()}


def _read(directory: Path, table: str, stem: str) -> pl.DataFrame:
    frame = pl.read_parquet(directory / f"{stem}.parquet")
    frame = frame.rename({column: column.lower() for column in frame.columns})
    return frame.select(pl.col(column).cast(kind) for column, kind in polars_schema(table).items())


def synth_features(directory: Path, clients: int, seed: int, drift: bool) -> pl.DataFrame:
    """sk_id_curr plus every feature of the training applications of one generated set."""
    generate(clients, seed, directory, "parquet", drift)
    raw = RawTables(
        application=_read(directory, "application", "application_train"),
        **{table: _read(directory, table, FILE_STEMS[table]) for table in HISTORY_TABLES},
    )
    return compute_features(raw)
