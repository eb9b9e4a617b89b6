"""`credit data load DIR`: load the Kaggle table files of a directory into Postgres, strictly.

Every header is checked before anything is written, and the whole run is one transaction that replaces
the contents of each loaded table: a run loads everything or nothing, and repeating it changes nothing.
Bad rows (ragged line, value of the wrong kind, missing key, repeated primary key) are not loaded; each
goes to `load_quarantine` with its file, line and reason, and is counted. File matching: see sources.py.
"""

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import psycopg2
import pyarrow as pa
import sqlalchemy.exc
import typer
from sqlalchemy.engine import make_url

from services.common.db import raw_connection
from services.common.migrations import migrate
from services.common.settings import CommonSettings
from services.data.load_store import LoadStore, Rejected, as_csv_line
from services.data.readers import ReadError, TableFile, open_table_file
from services.data.sources import SourceError, find_sources
from services.data.tables import TABLES_BY_NAME
from services.data.validate import RowChecker, header_problem

T = TypeVar("T")


class HeaderError(Exception):
    """Some file's header does not match its table; the message names the columns, per file."""


@dataclass(frozen=True)
class TableLoad:
    table: str  # Postgres table name
    file: Path
    loaded: int
    rejected: int
    seconds: float


@dataclass(frozen=True)
class LoadSummary:
    run_id: int
    tables: list[TableLoad]
    ignored: tuple[Path, ...]
    seconds: float

    @property
    def loaded(self) -> int:
        return sum(t.loaded for t in self.tables)

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.tables)


def load_directory(database_url: str, directory: Path, tables: Sequence[str] | None = None) -> LoadSummary:
    """Load the table files found in `directory` (optionally only `tables`) in one transaction."""
    start = time.perf_counter()
    sources = find_sources(directory, tables)
    files = {name: open_table_file(path) for name, path in sources.files.items()}
    _check_headers(files)
    migrate(database_url)
    with raw_connection(database_url) as conn:
        store = LoadStore(conn, directory)
        loads = [_load_file(store, name, file) for name, file in files.items()]
        store.finish()
    return LoadSummary(store.run_id, loads, sources.ignored, time.perf_counter() - start)


def _check_headers(files: dict[str, TableFile]) -> None:
    problems = {
        file.path: problem
        for name, file in files.items()
        if (problem := header_problem(TABLES_BY_NAME[name], file.header)) is not None
    }
    if problems:
        detail = "\n".join(f"  {path}: {problem}" for path, problem in problems.items())
        raise HeaderError(f"header does not match the table, nothing loaded:\n{detail}")


def _load_file(store: LoadStore, name: str, file: TableFile) -> TableLoad:
    start = time.perf_counter()
    table = name.lower()
    loaded = rejected = 0
    with store.replacing(table):
        for good, bad in _read_ahead(_checked_batches(file, RowChecker(TABLES_BY_NAME[name]))):
            store.copy_rows(table, good)
            store.quarantine(table, file.path, bad)
            loaded += good.num_rows
            rejected += len(bad)
    expected = len(file.header)
    ragged = [
        Rejected(r.line, f"ragged line: {r.fields} fields, expected {expected}", r.text) for r in file.ragged
    ]
    store.quarantine(table, file.path, ragged)
    store.record_file(table, file.path, loaded, rejected + len(ragged))
    return TableLoad(table, file.path, loaded, rejected + len(ragged), time.perf_counter() - start)


def _checked_batches(file: TableFile, checker: RowChecker) -> Iterator[tuple[pa.RecordBatch, list[Rejected]]]:
    """Each batch's good rows, and its bad rows located by file line."""
    stream_row = 0
    for batch in file.batches():
        checked = checker.check(batch)
        lines = file.line_numbers(stream_row + checked.bad_rows)
        values = batch.take(pa.array(checked.bad_rows)).to_pylist() if len(lines) else []
        bad = [
            Rejected(int(line), reason, as_csv_line(list(row.values())))
            for line, reason, row in zip(lines, checked.reasons, values, strict=True)
        ]
        yield checked.good, bad
        stream_row += batch.num_rows


def _read_ahead(items: Iterator[T]) -> Iterator[T]:
    """Produce the next item on a worker thread while the caller uses this one: parsing and checking
    (pyarrow, outside the GIL) then overlaps Postgres's COPY of the previous batch."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        upcoming = worker.submit(next, items, None)
        while (item := upcoming.result()) is not None:
            upcoming = worker.submit(next, items, None)
            yield item


def load_command(
    directory: Annotated[
        Path, typer.Argument(help="Folder with the table files (and its immediate subfolders).")
    ],
    tables: Annotated[
        list[str] | None, typer.Option("--tables", help="Load only these tables (repeat the option).")
    ] = None,
) -> None:
    """Load Kaggle-named CSV/Parquet files into Postgres, replacing each loaded table's rows.

    Files: name (any case) = table name, or table name + "_" + suffix, e.g. application_train_sample.csv.
    Bad rows are counted and kept, with file, line and reason, in the load_quarantine table.
    Exit code 2: a header or the set of files is wrong, and nothing was loaded.
    """
    database_url = CommonSettings().database_url
    try:
        summary = load_directory(database_url, directory, tables)
    except (SourceError, ReadError, HeaderError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    except (psycopg2.Error, sqlalchemy.exc.SQLAlchemyError) as error:
        where = make_url(database_url).render_as_string(hide_password=True)
        typer.echo(f"error: database {where}: {error}".strip(), err=True)
        raise typer.Exit(1) from error
    _print_summary(summary)


def _print_summary(summary: LoadSummary) -> None:
    width = max(len(t.table) for t in summary.tables)
    typer.echo(f"{'table':<{width}}  {'loaded':>10}  {'rejected':>8}  file")
    for t in summary.tables:
        typer.echo(f"{t.table:<{width}}  {t.loaded:>10,}  {t.rejected:>8,}  {t.file}")
    typer.echo(
        f"run {summary.run_id}: {summary.loaded:,} rows loaded, {summary.rejected:,} rejected"
        f" in {summary.seconds:.1f} s"
    )
    if summary.rejected:
        typer.echo(f"rejected rows: SELECT * FROM load_quarantine WHERE run_id = {summary.run_id}")
    for path in summary.ignored:
        typer.echo(f"ignored (not a table file): {path}")
