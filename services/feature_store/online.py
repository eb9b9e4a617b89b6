"""Online assembly: the batch definitions applied to one client's rows or to raw applications.

Nothing here re-implements a feature. A few applications at a time (the features service) go through
`compute_vectors`, the same definitions compiled once (services/feature_definitions/compiled.py, proven
equal to `compute_features`), their stored rows read in one round trip; many at a time (batch scoring)
go through the `compute_features` of the batch build.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import orjson
import polars as pl
import psycopg2.extensions

from services.feature_definitions.application import unseen_categories
from services.feature_definitions.catalog import compute_features
from services.feature_definitions.compiled import Batch, compute_vectors
from services.feature_definitions.raw import HISTORY_TABLES, RawTables, polars_schema, read_raw
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
    rows = _stored_rows(conn, [client_id], ("application", *HISTORY_TABLES))
    if not rows["application"]:
        return None
    return ClientVector(
        client_id, compute_vectors(_batch(rows["application"][:1], [None], rows))[0], "computed"
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
    raw = RawTables(application=frame, **{t: getattr(stored, t) for t in HISTORY_TABLES})
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
    """Several raw applications, each with its history or none (then its stored one, all read in one
    round trip) -> (one vector per application, counts of unseen category values over them all)."""
    applications = [_lowered(application) for application, _ in payloads]
    for application in applications:
        application["sk_id_curr"] = int(application.get("sk_id_curr") or 0)
    stored_ids = [
        a["sk_id_curr"] for a, (_, history) in zip(applications, payloads, strict=True) if history is None
    ]
    stored = _stored_rows(conn, stored_ids, HISTORY_TABLES) if stored_ids else {}
    given = [history for _, history in payloads]
    return compute_vectors(_batch(applications, given, stored)), unseen_categories(applications)


def _lowered(row: Row) -> dict[str, object]:
    return {key.lower(): value for key, value in row.items()}


def _batch(
    applications: Sequence[Row], given: Sequence[History | None], stored: Mapping[str, Sequence[Row]]
) -> Batch:
    """Each application's history: the rows it came with (Kaggle names), else the stored rows of its id."""
    by_id: dict[object, list[int]] = {}
    for index, (application, history) in enumerate(zip(applications, given, strict=True)):
        if history is None:
            by_id.setdefault(application["sk_id_curr"], []).append(index)
    tables: dict[str, tuple[list[Row], list[int]]] = {}
    for table in HISTORY_TABLES:
        rows: list[Row] = []
        owners: list[int] = []
        for index, history in enumerate(given):
            if history is not None:
                attached = [_lowered(row) for row in history.get(table, ())]
                rows += attached
                owners += [index] * len(attached)
        for row in stored.get(table, ()):
            for index in by_id.get(row["sk_id_curr"], ()):
                rows.append(row)
                owners.append(index)
        tables[table] = (rows, owners)
    return Batch(applications, tables)


def _stored_rows(
    conn: psycopg2.extensions.connection, client_ids: Sequence[int], tables: Sequence[str]
) -> dict[str, list[dict[str, object]]]:
    """The clients' rows of `tables` in one round trip, keyed by lower-case column names; each
    bureau_balance row carries the sk_id_curr of its bureau credit."""
    queries = [
        f"(SELECT coalesce(json_agg(t), '[]')::text FROM ({_rows_query(table)}) t)" for table in tables
    ]
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(queries)}", {"ids": list(client_ids)})
        found = cur.fetchone()
    return {table: orjson.loads(text) for table, text in zip(tables, found, strict=True)}


def _rows_query(table: str) -> str:
    columns = ", ".join(polars_schema(table))
    if table == "application":
        return " UNION ALL ".join(
            f"SELECT {columns} FROM {source} WHERE sk_id_curr = ANY(%(ids)s::bigint[])"
            for source in ("application_train", "application_test")
        )
    if table == "bureau_balance":
        owners = (
            "SELECT DISTINCT sk_id_bureau, sk_id_curr FROM bureau WHERE sk_id_curr = ANY(%(ids)s::bigint[])"
        )
        return f"SELECT {columns}, o.sk_id_curr FROM bureau_balance JOIN ({owners}) o USING (sk_id_bureau)"
    return f"SELECT {columns} FROM {table} WHERE sk_id_curr = ANY(%(ids)s::bigint[])"
