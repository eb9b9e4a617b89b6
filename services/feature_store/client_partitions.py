"""What the Spark executors run for the feature build: pack a table's rows by client partition, and compute
one partition's features with the catalog's own `compute_features`.

Kept apart from the driver code (spark_build.py) so that a Python worker imports only what it runs.
"""

from collections.abc import Callable, Iterator

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from services.feature_definitions.catalog import NAMES, compute_features
from services.feature_definitions.raw import HISTORY_TABLES, RawTables, polars_schema

TABLES = ("application", *HISTORY_TABLES)
BUCKET = "_bucket"
PACKED_ARROW_SCHEMA = pa.schema([(BUCKET, pa.int32()), ("table", pa.string()), ("rows", pa.binary())])
VECTOR_ARROW_SCHEMA = pa.schema(
    [pa.field("sk_id_curr", pa.int64()), *(pa.field(name, pa.float64()) for name in NAMES)]
)


def packer(table: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The mapInArrow function packing `table`'s batches."""

    def pack(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield pack_rows(table, batch)

    return pack


def pack_rows(table: str, batch: pa.RecordBatch) -> pa.RecordBatch:
    """One (bucket, table, Arrow IPC bytes) row per client partition present in `batch`."""
    ordered = pa.Table.from_batches([batch]).sort_by(BUCKET)
    buckets = ordered.column(BUCKET).to_numpy()
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]]) if len(buckets) else np.array([], int)
    ends = np.r_[starts[1:], len(buckets)]
    rows = ordered.drop_columns([BUCKET])
    blobs = [_ipc_bytes(rows.slice(start, end - start)) for start, end in zip(starts, ends, strict=True)]
    columns = {BUCKET: buckets[starts].astype(np.int32), "table": [table] * len(blobs), "rows": blobs}
    return pa.RecordBatch.from_pydict(columns, schema=PACKED_ARROW_SCHEMA)


def _ipc_bytes(rows: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    return sink.getvalue().to_pybytes()


def compute_partition(blobs: pa.Table) -> pa.Table:
    """Every table's rows of one client partition -> RawTables -> the catalog's feature function."""
    frames = {}
    for table in TABLES:
        schema = polars_schema(table)
        parts = [
            pl.from_arrow(pa.ipc.open_stream(blob.as_py()).read_all())
            for blob in blobs.filter(pc.equal(blobs.column("table"), table)).column("rows")
        ]
        frame = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
        frames[table] = frame.select(pl.col(column).cast(kind) for column, kind in schema.items())
    return compute_features(RawTables(**frames)).to_arrow().cast(VECTOR_ARROW_SCHEMA)
