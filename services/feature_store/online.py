"""Online assembly: the batch definitions applied to one client's rows or to raw applications.

Nothing here re-implements a feature: rows are put into the same RawTables frames and passed to the
same `compute_features` the batch build uses.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import psycopg2.extensions

from services.feature_definitions.application import unseen_categories
from services.feature_definitions.catalog import compute_features
from services.feature_definitions.raw import (
    HISTORY_TABLES,
    RawTables,
    frame_from_rows,
    polars_schema,
    read_client_rows,
    read_raw,
)
from services.feature_store.store import FeatureMatrix, matrix_from_frame, read_vector


@dataclass(frozen=True)
class ClientVector:
    """A client's features and where they came from ("materialised" or "computed")."""

    client_id: int
    values: np.ndarray
    origin: str


def features_for_client(conn: psycopg2.extensions.connection, client_id: int) -> ClientVector | None:
    """The stored vector, else one computed from the client's rows; None when the client is unknown."""
    stored = read_vector(conn, client_id)
    if stored is not None:
        return ClientVector(client_id, stored, "materialised")
    raw = read_client_rows(conn, [client_id])
    if raw.application.is_empty():
        return None
    return ClientVector(client_id, matrix_from_frame(compute_features(raw)).values[0], "computed")


def application_frame(applications: pl.DataFrame) -> pl.DataFrame:
    """Kaggle-format applications (any column case, extra columns such as TARGET ignored) -> typed frame."""
    lowered = applications.rename({c: c.lower() for c in applications.columns})
    schema = polars_schema("application")
    return lowered.select(
        pl.col(c).cast(t) if c in lowered.columns else pl.lit(None, dtype=t).alias(c)
        for c, t in schema.items()
    )


def compute_for_applications(database_url: str, applications: pl.DataFrame) -> FeatureMatrix:
    """Features of raw applications; history rows come from Postgres for the ids it knows."""
    frame = application_frame(applications)
    if frame["sk_id_curr"].null_count():
        raise ValueError("every application needs an SK_ID_CURR (history rows and results are keyed by it)")
    stored = read_raw(database_url, frame["sk_id_curr"].to_list())
    raw = RawTables(application=frame, **{t: getattr(stored, t) for t in HISTORY_TABLES})
    return matrix_from_frame(compute_features(raw))


def compute_from_payload(
    conn: psycopg2.extensions.connection,
    application: Mapping[str, object],
    history: Mapping[str, Sequence[Mapping[str, object]]] | None,
) -> tuple[np.ndarray, dict[str, int]]:
    """One raw application (Kaggle field names) -> (vector, counts of unseen category values).

    With `history` given, those rows are the client's whole history and each is attached to this
    application; without it, the history stored in Postgres for the application's SK_ID_CURR is used.
    """
    client_id = application.get("SK_ID_CURR")
    client_id = 0 if client_id is None else int(client_id)
    app = frame_from_rows("application", [{**application, "SK_ID_CURR": client_id}])
    if history is None:
        stored = read_client_rows(conn, [client_id])
        tables = {table: getattr(stored, table) for table in HISTORY_TABLES}
    else:
        tables = {table: _history_frame(table, history.get(table, []), client_id) for table in HISTORY_TABLES}
    vector = matrix_from_frame(compute_features(RawTables(application=app, **tables))).values[0]
    return vector, unseen_categories(app)


def _history_frame(table: str, rows: Sequence[Mapping[str, object]], client_id: int) -> pl.DataFrame:
    frame = frame_from_rows(table, rows)
    if "sk_id_curr" in frame.columns:
        frame = frame.with_columns(sk_id_curr=pl.lit(client_id, pl.Int64))
    return frame
