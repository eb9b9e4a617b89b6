"""The latest logged decisions of one model version as a Polars frame: one column per feature plus PD.

Vectors are read with one binary COPY: every vector of a feature set has the same length (missing values
are NaN), so each row of the COPY stream has the same size and numpy reads the whole stream as one
structured array, without parsing text.
"""

import io
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl
import psycopg2.extensions

from services.common.db import raw_connection

PD_COLUMN = "__pd"
COPY_HEADER_BYTES = 19  # signature (11), flags (4), header extension length (4)
COPY_TRAILER_BYTES = 2  # field count -1


@dataclass(frozen=True)
class Window:
    frame: pl.DataFrame  # the features asked for, plus PD_COLUMN
    start: datetime | None
    end: datetime | None

    @property
    def rows(self) -> int:
        return self.frame.height


def copy_row_dtype(features: int) -> np.dtype:
    """One row of `COPY (SELECT float8[], float8, float8) TO STDOUT (FORMAT binary)`, big-endian."""
    return np.dtype([
        ("fields", ">i2"), ("array_bytes", ">i4"),
        ("ndim", ">i4"), ("has_null", ">i4"), ("element_type", ">i4"), ("length", ">i4"), ("lower", ">i4"),
        ("values", [("bytes", ">i4"), ("value", ">f8")], (features,)),
        ("pd_bytes", ">i4"), ("pd", ">f8"), ("time_bytes", ">i4"), ("time", ">f8"),
    ])  # fmt: skip


def load_window(database_url: str, model_version: str, features: list[str], rows: int) -> Window:
    """The `rows` most recent decisions of `model_version` (of its latest feature set); features the set
    lacks come back as nulls."""
    empty = Window(pl.DataFrame(schema=dict.fromkeys([*features, PD_COLUMN], pl.Float64)), None, None)
    with raw_connection(database_url) as conn:
        names_hash, names = _latest_feature_set(conn, model_version)
        if names_hash is None:
            return empty
        buffer = _copy_vectors(conn, model_version, names_hash, rows)
    data = buffer.getbuffer()[COPY_HEADER_BYTES:-COPY_TRAILER_BYTES]
    if len(data) == 0:
        return empty
    table = np.frombuffer(data, dtype=copy_row_dtype(len(names)))
    values = pl.DataFrame(table["values"]["value"].astype(np.float64), schema=names, orient="row")
    frame = values.fill_nan(None).select(
        *(pl.col(f) if f in values.columns else pl.lit(None, pl.Float64).alias(f) for f in features),
        pl.Series(PD_COLUMN, table["pd"].astype(np.float64)),
    )
    times = table["time"]
    return Window(frame, _utc(float(times.min())), _utc(float(times.max())))


def _latest_feature_set(
    conn: psycopg2.extensions.connection, model_version: str
) -> tuple[str | None, list[str]]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT d.names_hash, n.names FROM decision_log d JOIN feature_name_sets n USING (names_hash)"
            " WHERE d.model_version = %s ORDER BY d.decided_at DESC LIMIT 1",
            (model_version,),
        )
        found = cur.fetchone()
    return (None, []) if found is None else (found[0], list(found[1]))


def _copy_vectors(
    conn: psycopg2.extensions.connection, model_version: str, names_hash: str, rows: int
) -> io.BytesIO:
    buffer = io.BytesIO()
    with conn.cursor() as cur:
        query = cur.mogrify(
            "SELECT feature_values, pd, extract(epoch FROM decided_at)::float8 FROM decision_log"
            " WHERE model_version = %s AND names_hash = %s ORDER BY decided_at DESC LIMIT %s",
            (model_version, names_hash, rows),
        ).decode()
        cur.copy_expert(f"COPY ({query}) TO STDOUT (FORMAT binary)", buffer)
    return buffer


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
