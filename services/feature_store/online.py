"""Online assembly: the batch definitions applied to one client's rows or to raw applications.

Nothing here re-implements a feature. A few applications at a time (the features service) go through
`compute_vectors`, the same definitions compiled once (services/feature_definitions/compiled.py, proven
equal to `compute_features`), one client's stored rows read in one round trip; many at a time (batch
scoring) go through the `compute_features` of the batch build.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import psycopg2.extensions

from services.feature_definitions.application import unseen_categories
from services.feature_definitions.catalog import NAMES, compute_features
from services.feature_definitions.compiled import Batch, Table, compute_vectors
from services.feature_definitions.raw import (
    HISTORY_TABLES,
    RawTables,
    polars_schema,
    read_client_rows,
    read_one_client_rows,
    read_raw,
)
from services.feature_store.store import FeatureMatrix, matrix_from_frame, read_vector

Row = Mapping[str, object]
History = Mapping[str, Sequence[Row]]
Payload = tuple[Row, History | None]  # a raw application (Kaggle field names) and its history, if given


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
    rows = read_one_client_rows(conn, client_id, ("application", *HISTORY_TABLES))
    if not rows["application"]:
        return None
    history = _owned_by_first({table: rows[table] for table in HISTORY_TABLES})
    return ClientVector(
        client_id, compute_vectors(Batch.of_rows(rows["application"][:1], history))[0], "computed"
    )


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
    raw = RawTables(application=frame, **stored.history)
    return matrix_from_frame(compute_features(raw))


def compute_from_payload(
    conn: psycopg2.extensions.connection, application: Row, history: History | None
) -> tuple[np.ndarray, dict[str, int]]:
    """One raw application (Kaggle field names) -> (vector, counts of unseen category values).

    With `history` given, those rows are the client's whole history and each is attached to this
    application; without it, the history stored in Postgres for the application's SK_ID_CURR is used.
    """
    vectors, unseen = compute_payloads(conn, [(application, history)])
    return vectors[0], unseen


def compute_payloads(
    conn: psycopg2.extensions.connection, payloads: Sequence[Payload]
) -> tuple[np.ndarray, dict[str, int]]:
    """Several raw applications, each with its history or none (then its stored one) -> (one vector per
    application in their order, counts of unseen category values over them all)."""
    applications = [_lowered(application) for application, _ in payloads]
    for application in applications:
        application["sk_id_curr"] = int(application.get("sk_id_curr") or 0)  # type: ignore[call-overload]
    given = [i for i, (_, history) in enumerate(payloads) if history is not None]
    stored = [i for i, (_, history) in enumerate(payloads) if history is None]
    vectors = np.empty((len(payloads), len(NAMES)))
    if given:
        histories = [payloads[i][1] or {} for i in given]
        vectors[given] = compute_vectors(_with_history([applications[i] for i in given], histories))
    if stored:
        vectors[stored] = compute_vectors(_with_stored_history(conn, [applications[i] for i in stored]))
    return vectors, unseen_categories(applications)


def _lowered(row: Row) -> dict[str, object]:
    return {key.lower(): value for key, value in row.items()}


def _with_history(applications: Sequence[Row], histories: Sequence[History]) -> Batch:
    """Each application with the history rows it came with (Kaggle field names)."""
    tables = {}
    for table in HISTORY_TABLES:
        rows = [(row, owner) for owner, history in enumerate(histories) for row in history.get(table, ())]
        tables[table] = Table.of_rows(
            table, [row for row, _ in rows], [owner for _, owner in rows], kaggle=True
        )
    return Batch(Table.of_rows("application", applications, range(len(applications))), tables)


def _with_stored_history(conn: psycopg2.extensions.connection, applications: Sequence[Row]) -> Batch:
    """Each application with the history stored for its id: one client's rows in one round trip, more
    clients' table by table."""
    if len(applications) == 1:
        rows = read_one_client_rows(conn, int(applications[0]["sk_id_curr"]), HISTORY_TABLES)  # type: ignore[call-overload]
        return Batch.of_rows(applications, _owned_by_first(rows))
    stored = read_client_rows(conn, sorted({int(a["sk_id_curr"]) for a in applications}))  # type: ignore[call-overload]
    application = Table.of_rows("application", applications, range(len(applications)))
    return Batch.of_raw(application, stored.history)


def _owned_by_first(
    rows: Mapping[str, list[dict[str, object]]],
) -> dict[str, tuple[list[dict[str, object]], list[int]]]:
    """One client's history rows per table, each attached to the batch's first (only) application."""
    return {table: (found, [0] * len(found)) for table, found in rows.items()}
