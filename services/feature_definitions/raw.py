"""The raw Kaggle tables as Polars frames (lower-case columns), read from Postgres with COPY.

The same frames feed the batch build (every client) and online assembly (one client's rows), which is
what makes the two paths compute identical features.
"""

import io
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import orjson
import polars as pl
import psycopg2.extensions

from services.common.db import raw_connection
from services.data.tables import TABLES_BY_NAME, TableSpec

_POLARS_TYPES = {"id": pl.Int64, "number": pl.Float64, "text": pl.String}
# Both application tables become one frame with application_test's columns (no TARGET).
APPLICATION_SPEC = TABLES_BY_NAME["application_test"]


@dataclass(frozen=True)
class RawTables:
    """One frame per Kaggle table; `application` holds train and test applications together."""

    application: pl.DataFrame
    bureau: pl.DataFrame
    bureau_balance: pl.DataFrame
    previous_application: pl.DataFrame
    pos_cash_balance: pl.DataFrame
    installments_payments: pl.DataFrame
    credit_card_balance: pl.DataFrame

    @property
    def history(self) -> dict[str, pl.DataFrame]:
        """The history tables by name (every table but the application)."""
        return {table: getattr(self, table) for table in HISTORY_TABLES}


HISTORY_TABLES: tuple[str, ...] = tuple(f.name for f in fields(RawTables) if f.name != "application")


def spec_for(table: str) -> TableSpec:
    """The Kaggle spec behind a RawTables field (field names are the Postgres table names)."""
    if table == "application":
        return APPLICATION_SPEC
    return next(spec for spec in TABLES_BY_NAME.values() if spec.name.lower() == table)


def polars_schema(table: str) -> dict[str, type[pl.DataType]]:
    spec = spec_for(table)
    return {column.lower(): _POLARS_TYPES[spec.kind(column)] for column in spec.columns}


def frame_from_rows(table: str, rows: Sequence[dict[str, object]]) -> pl.DataFrame:
    """Rows keyed by Kaggle column names (any case) -> a frame typed like the Postgres table."""
    schema = polars_schema(table)
    lowered = [{key.lower(): value for key, value in row.items()} for row in rows]
    return pl.DataFrame(lowered, schema=schema)


def empty_history() -> dict[str, pl.DataFrame]:
    return {table: pl.DataFrame(schema=polars_schema(table)) for table in HISTORY_TABLES}


def read_table(database_url: str, table: str, client_ids: Sequence[int] | None = None) -> pl.DataFrame:
    """One table (a RawTables field name), for all clients or only the given ones."""
    with raw_connection(database_url) as conn:
        return _copy_frame(conn, table, _select(table, client_ids))


def read_raw(database_url: str, client_ids: Sequence[int] | None = None) -> RawTables:
    """Every table for all clients (None) or the given clients' rows; tables are read in parallel."""
    tables = ("application", *HISTORY_TABLES)
    with ThreadPoolExecutor(max_workers=4) as pool:
        frames = pool.map(lambda table: read_table(database_url, table, client_ids), tables)
        return RawTables(**dict(zip(tables, frames, strict=True)))


def read_client_rows(conn: psycopg2.extensions.connection, client_ids: Sequence[int]) -> RawTables:
    """The given clients' rows over one open connection (online: no connection set-up per request)."""
    tables = ("application", *HISTORY_TABLES)
    return RawTables(**{table: _copy_frame(conn, table, _select(table, client_ids)) for table in tables})


def read_one_client_rows(
    conn: psycopg2.extensions.connection, client_id: int, tables: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """One client's rows of `tables` in one round trip (each table as a JSON array), keyed by lower-case
    column names: the features service's path, where a frame per table costs more than the rows."""
    arrays = [
        f"(SELECT coalesce(json_agg(t), '[]')::text FROM ({_select(table, [client_id])}) t)"
        for table in tables
    ]
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(arrays)}")
        found = cur.fetchone()
    return {table: orjson.loads(text) for table, text in zip(tables, found, strict=True)}


def _select(table: str, client_ids: Sequence[int] | None) -> str:
    columns = ", ".join(polars_schema(table))
    if table == "application":
        sources = [f"SELECT {columns} FROM application_train", f"SELECT {columns} FROM application_test"]
        return " UNION ALL ".join(_where(source, "sk_id_curr", client_ids) for source in sources)
    if table == "bureau_balance":
        if client_ids is None:
            return f"SELECT {columns} FROM bureau_balance"
        # an array of the credits' ids: their months are read through the index whatever the statistics
        bureau_ids = _where("SELECT sk_id_bureau FROM bureau", "sk_id_curr", client_ids)
        return f"SELECT {columns} FROM bureau_balance WHERE sk_id_bureau = ANY(ARRAY({bureau_ids}))"
    return _where(f"SELECT {columns} FROM {table}", "sk_id_curr", client_ids)


def _where(query: str, column: str, client_ids: Sequence[int] | None) -> str:
    if client_ids is None:
        return query
    ids = ",".join(str(int(i)) for i in client_ids)
    return f"{query} WHERE {column} = ANY(ARRAY[{ids}]::bigint[])" if ids else f"{query} WHERE false"


def _copy_frame(conn: psycopg2.extensions.connection, table: str, query: str) -> pl.DataFrame:
    buffer = io.BytesIO()
    with conn.cursor() as cur:
        cur.copy_expert(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER false)", buffer)
    schema = polars_schema(table)
    if buffer.tell() == 0:
        return pl.DataFrame(schema=schema)
    buffer.seek(0)
    return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema=schema)
