"""Append chunks of generated columns to one CSV or Parquet file per table.

CSV looks like the Kaggle files (pandas style): header line, no index, empty field for missing,
integer-kind columns without decimals, floats as floats, text quoted only when it holds a comma.
"""

from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from services.data.synth.profile import Column, Text

ARROW_TYPES = {"int": pa.int64(), "float": pa.float64(), "text": pa.string()}


def _series(name: str, values: Column, kind: str) -> pl.Series:
    if isinstance(values, Text):
        codes = pa.array(values.codes, mask=values.codes < 0)
        return pl.Series(name, pa.DictionaryArray.from_arrays(codes, pa.array(values.vocab)))
    if kind == "int":
        return pl.Series(name, np.asarray(values).astype(np.int64))
    return pl.Series(name, np.asarray(values, dtype=np.float64), nan_to_null=True)


class TableWriter:
    """One open output file per table; `write` appends a chunk, `rows` counts what was written."""

    def __init__(self, out: Path, fmt: str, layouts: dict[str, dict[str, str]]) -> None:
        self.out, self.fmt, self.layouts = out, fmt, layouts
        self.rows = dict.fromkeys(layouts, 0)
        self._csv: dict[str, BinaryIO] = {}
        self._parquet: dict[str, pq.ParquetWriter] = {}

    def __enter__(self) -> "TableWriter":
        self.out.mkdir(parents=True, exist_ok=True)
        for table, layout in self.layouts.items():
            path = self.out / f"{table}.{self.fmt}"
            if self.fmt == "csv":
                handle = path.open("wb")
                handle.write((",".join(layout) + "\n").encode())
                self._csv[table] = handle
            else:
                schema = pa.schema([(c, ARROW_TYPES[kind]) for c, kind in layout.items()])
                self._parquet[table] = pq.ParquetWriter(path, schema)
        return self

    def write(self, table: str, columns: dict[str, Column]) -> None:
        layout = self.layouts[table]
        frame = pl.DataFrame([_series(c, columns[c], kind) for c, kind in layout.items()])
        if self.fmt == "csv":
            frame.write_csv(self._csv[table], include_header=False)
        else:
            writer = self._parquet[table]
            writer.write_table(frame.to_arrow().cast(writer.schema))
        self.rows[table] += frame.height

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for handle in self._csv.values():
            handle.close()
        for writer in self._parquet.values():
            writer.close()
