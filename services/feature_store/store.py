"""Materialised feature vectors in Postgres: binary COPY in and out, one float8[] per client and feature set.

Every vector of a set has the same length and stores missing values as NaN, so each COPY row has a fixed
size and numpy packs or unpacks all rows at once without a per-value Python loop.
"""

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl
import psycopg2.extensions

from services.common.db import raw_connection
from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES

_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, header extension length
_COPY_TRAILER = b"\xff\xff"
_FLOAT8_OID = 701
_ARRAY_HEADER = 20  # ndim, has-null flag, element type, dimension size, lower bound


@dataclass(frozen=True)
class FeatureMatrix:
    """Feature vectors of several clients, in catalog order; NaN means missing."""

    client_ids: np.ndarray  # int64 [n]
    values: np.ndarray  # float64 [n, p]
    names: tuple[str, ...]
    feature_set_hash: str


class FeatureSetNotBuilt(LookupError):
    """The current feature set has not been materialised in this database."""


def _array_fields(width: int) -> list[tuple]:
    elements = np.dtype([("length", ">i4"), ("value", ">f8")])
    return [("array_length", ">i4"), ("array_header", ">i4", (5,)), ("elements", elements, (width,))]


def _copy_in_rows(matrix: FeatureMatrix) -> bytes:
    """The matrix as PGCOPY binary rows for (feature_set_hash, sk_id_curr, vals)."""
    width = len(matrix.names)
    set_hash = matrix.feature_set_hash.encode()
    row = np.dtype(
        [
            ("field_count", ">i2"),
            ("hash_length", ">i4"),
            ("hash", f"S{len(set_hash)}"),
            ("id_length", ">i4"),
            ("id", ">i8"),
            *_array_fields(width),
        ]
    )
    rows = np.zeros(len(matrix.client_ids), dtype=row)
    rows["field_count"], rows["hash_length"], rows["hash"] = 3, len(set_hash), set_hash
    rows["id_length"], rows["id"] = 8, matrix.client_ids
    rows["array_length"] = _ARRAY_HEADER + 12 * width
    rows["array_header"] = (1, 0, _FLOAT8_OID, width, 1)
    rows["elements"]["length"] = 8
    rows["elements"]["value"] = matrix.values
    return _COPY_SIGNATURE + rows.tobytes() + _COPY_TRAILER


def write_materialised(database_url: str, chunks: Iterable[FeatureMatrix]) -> int:
    """Replace the stored vectors of the chunks' feature set, in one transaction; returns the client count.

    Chunks keep the COPY buffer small (a whole build would need gigabytes at once).
    """
    clients = 0
    with raw_connection(database_url) as conn, conn.cursor() as cur:
        for index, chunk in enumerate(chunks):
            if index == 0:
                cur.execute("DELETE FROM feature_sets WHERE feature_set_hash = %s", (chunk.feature_set_hash,))
                cur.execute(
                    "INSERT INTO feature_sets (feature_set_hash, names, built_at, client_count)"
                    " VALUES (%s, %s, %s, 0)",
                    (chunk.feature_set_hash, list(chunk.names), datetime.now(UTC)),
                )
            cur.copy_expert(
                "COPY feature_values (feature_set_hash, sk_id_curr, vals) FROM STDIN (FORMAT binary)",
                io.BytesIO(_copy_in_rows(chunk)),
                size=1 << 22,
            )
            clients += len(chunk.client_ids)
            cur.execute(
                "UPDATE feature_sets SET client_count = %s WHERE feature_set_hash = %s",
                (clients, chunk.feature_set_hash),
            )
    return clients


def read_materialised(database_url: str, client_ids: Sequence[int] | None = None) -> FeatureMatrix:
    """Stored vectors of the current feature set, all clients or the given ones (unknown ids are skipped)."""
    with raw_connection(database_url) as conn:
        _require_feature_set(conn)
        query = "SELECT sk_id_curr, vals FROM feature_values WHERE feature_set_hash = %s"
        params: tuple = (FEATURE_SET_HASH,)
        if client_ids is not None:
            query += " AND sk_id_curr = ANY(%s::bigint[])"
            params += ([int(i) for i in client_ids],)
        buffer = io.BytesIO()
        with conn.cursor() as cur:
            copy = cur.mogrify(
                f"COPY ({query} ORDER BY sk_id_curr) TO STDOUT (FORMAT binary)", params
            ).decode()
            cur.copy_expert(copy, buffer)
    return _parse_copy_out(buffer.getvalue(), len(NAMES))


def _require_feature_set(conn: psycopg2.extensions.connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM feature_sets WHERE feature_set_hash = %s", (FEATURE_SET_HASH,))
        if cur.fetchone() is None:
            raise FeatureSetNotBuilt(
                f"feature set {FEATURE_SET_HASH} is not built; run `credit features build`"
            )


def _parse_copy_out(data: bytes, width: int) -> FeatureMatrix:
    row = np.dtype([("field_count", ">i2"), ("id_length", ">i4"), ("id", ">i8"), *_array_fields(width)])
    count = (len(data) - len(_COPY_SIGNATURE) - len(_COPY_TRAILER)) // row.itemsize
    rows = np.frombuffer(data, dtype=row, count=count, offset=len(_COPY_SIGNATURE))
    return FeatureMatrix(
        client_ids=rows["id"].astype(np.int64),
        values=rows["elements"]["value"].astype(np.float64).reshape(count, width),
        names=NAMES,
        feature_set_hash=FEATURE_SET_HASH,
    )


def read_vector(conn: psycopg2.extensions.connection, client_id: int) -> np.ndarray | None:
    """One client's stored vector of the current feature set, or None when it is not materialised."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT array_send(vals) FROM feature_values WHERE feature_set_hash = %s AND sk_id_curr = %s",
            (FEATURE_SET_HASH, client_id),
        )
        found = cur.fetchone()
    if found is None:
        return None
    elements = np.dtype([("length", ">i4"), ("value", ">f8")])
    return np.frombuffer(bytes(found[0]), dtype=elements, offset=_ARRAY_HEADER)["value"].astype(np.float64)


def matrix_from_frame(frame: pl.DataFrame) -> FeatureMatrix:
    """A frame of sk_id_curr plus the catalog's features -> a FeatureMatrix (nulls become NaN)."""
    return FeatureMatrix(
        client_ids=frame["sk_id_curr"].to_numpy().astype(np.int64),
        values=frame.select(NAMES).to_numpy().astype(np.float64),
        names=NAMES,
        feature_set_hash=FEATURE_SET_HASH,
    )


def matrix_chunks(frame: pl.DataFrame, rows: int = 20_000) -> Iterator[FeatureMatrix]:
    """The frame as FeatureMatrix slices, so only one slice is ever converted to numpy at a time."""
    for start in range(0, max(frame.height, 1), rows):  # an empty build still records its set
        yield matrix_from_frame(frame.slice(start, rows))
