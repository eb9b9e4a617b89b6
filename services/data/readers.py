"""Stream a table file (CSV or Parquet) as batches of string columns, keeping track of file lines.

Every value arrives as a string (or null for an empty field) so that the loader, not a type guesser,
decides what is a bad value. CSV is parsed on one thread because only then does pyarrow report the line
number of a ragged line; the other core is busy in Postgres's COPY anyway.
"""

import csv
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

CSV_BLOCK_BYTES = 8 << 20
PARQUET_BATCH_ROWS = 100_000


class ReadError(Exception):
    """The file cannot be read as a table (empty, not UTF-8, not CSV/Parquet); the message names it."""


@dataclass(frozen=True)
class RaggedRow:
    line: int
    fields: int
    text: str


@dataclass
class TableFile(ABC):
    """One file's rows; `ragged` fills up while `batches()` is consumed."""

    path: Path
    header: list[str]
    ragged: list[RaggedRow] = field(default_factory=list)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Batches in file order; row i of the stream is the i-th row that was not ragged."""
        try:
            yield from self._batches()
        except (pa.ArrowInvalid, OSError) as error:
            raise ReadError(f"{self.path}: cannot read: {error}") from error

    @abstractmethod
    def line_numbers(self, rows: np.ndarray) -> np.ndarray:
        """File line (CSV, header = line 1) or 1-based row number (Parquet) of stream rows `rows`."""

    @abstractmethod
    def _batches(self) -> Iterator[pa.RecordBatch]: ...


class CsvFile(TableFile):
    def _batches(self) -> Iterator[pa.RecordBatch]:
        reader = pa_csv.open_csv(
            self.path,
            read_options=pa_csv.ReadOptions(
                use_threads=False, block_size=CSV_BLOCK_BYTES, skip_rows=1, column_names=self.header
            ),
            parse_options=pa_csv.ParseOptions(
                invalid_row_handler=self._skip_ragged, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(self.header, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
        yield from reader

    def _skip_ragged(self, row: pa_csv.InvalidRow) -> str:
        self.ragged.append(RaggedRow(line=row.number, fields=row.actual_columns, text=row.text))
        return "skip"

    def line_numbers(self, rows: np.ndarray) -> np.ndarray:
        # Lines run from 2 with one row each (blank lines are kept as rows); ragged lines were taken out of
        # the stream, so stream row k sits on line k + 2 + (number of ragged lines before it).
        ragged = np.sort(np.array([r.line for r in self.ragged], dtype=np.int64))
        rows_before_each_ragged = ragged - 2 - np.arange(len(ragged))
        return rows + 2 + np.searchsorted(rows_before_each_ragged, rows, side="right")


class ParquetFile(TableFile):
    def _batches(self) -> Iterator[pa.RecordBatch]:
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=PARQUET_BATCH_ROWS):
            yield pa.RecordBatch.from_arrays(
                [_as_strings(c) for c in batch.columns], names=batch.schema.names
            )

    def line_numbers(self, rows: np.ndarray) -> np.ndarray:
        return rows + 1


def open_table_file(path: Path) -> TableFile:
    """Read the header now (so every header can be checked before loading) and prepare the row stream."""
    try:
        if path.suffix.lower() == ".parquet":
            return ParquetFile(path=path, header=list(pq.read_schema(path).names))
        return CsvFile(path=path, header=_csv_header(path))
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError, csv.Error) as error:
        raise ReadError(f"{path}: cannot read the header: {error}") from error


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise ReadError(f"{path}: empty file, expected a header line")
    return header


def _as_strings(column: pa.Array) -> pa.Array:
    """Parquet columns may be typed; the loader validates strings, and a float NaN means missing."""
    if pa.types.is_floating(column.type):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    strings = column.cast(pa.string())
    return pc.if_else(pc.equal(strings, ""), pa.scalar(None, pa.string()), strings)
