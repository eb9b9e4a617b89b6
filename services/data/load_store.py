"""The loader's writes, all on one psycopg2 connection so that a whole run is a single transaction."""

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2.extensions
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg2 import sql
from psycopg2.extras import execute_values

# psycopg2 hands the COPY data to libpq chunk by chunk, taking the GIL for each; big chunks leave the GIL
# to the thread that parses the next batch meanwhile.
COPY_CHUNK_BYTES = 4 << 20
SECONDARY_INDEXES = """
SELECT ix.relname, pg_get_indexdef(ix.oid)
FROM pg_index JOIN pg_class ix ON ix.oid = pg_index.indexrelid
WHERE pg_index.indrelid = %s::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE pg_constraint.conindid = pg_index.indexrelid)
"""


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str
    raw: str


class LoadStore:
    """Writes one load run: the run row, the replaced table contents, quarantined rows, per-file counts."""

    def __init__(self, conn: psycopg2.extensions.connection, directory: Path) -> None:
        self._cursor = conn.cursor()
        self._cursor.execute(
            "INSERT INTO load_runs (started_at, finished_at, directory)"
            " VALUES (now(), now(), %s) RETURNING id",
            (str(directory),),
        )
        self.run_id: int = self._cursor.fetchone()[0]

    @contextmanager
    def replacing(self, table: str) -> Iterator[None]:
        """Empty `table` for the rows copied inside the block, so loading the same files twice gives the
        same rows. Secondary indexes are dropped meanwhile and rebuilt after: one sort beats millions of
        index insertions (the migrations stay the source of their definitions)."""
        self._cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(table)))
        self._cursor.execute(SECONDARY_INDEXES, (table,))
        indexes = self._cursor.fetchall()
        for name, _ in indexes:
            self._cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        yield
        for _, definition in indexes:
            self._cursor.execute(definition)

    def copy_rows(self, table: str, rows: pa.RecordBatch) -> None:
        """COPY string columns as CSV: nulls are written unquoted-empty, which COPY reads as NULL. FREEZE
        (allowed as the table was emptied in this transaction) spares the first reader a rewrite of every
        page to set visibility hints."""
        if rows.num_rows == 0:
            return
        buffer = io.BytesIO()
        pa_csv.write_csv(rows, buffer, pa_csv.WriteOptions(include_header=False))
        buffer.seek(0)
        statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, FREEZE)").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c.lower()) for c in rows.schema.names)
        )
        self._cursor.copy_expert(statement.as_string(self._cursor), buffer, size=COPY_CHUNK_BYTES)

    def quarantine(self, table: str, file: Path, rejected: Sequence[Rejected]) -> None:
        execute_values(
            self._cursor,
            "INSERT INTO load_quarantine (run_id, table_name, file, line, reason, raw) VALUES %s",
            [(self.run_id, table, str(file), r.line, r.reason, r.raw) for r in rejected],
        )

    def record_file(self, table: str, file: Path, loaded: int, rejected: int) -> None:
        self._cursor.execute(
            "INSERT INTO load_run_files (run_id, table_name, file, rows_loaded, rows_rejected)"
            " VALUES (%s, %s, %s, %s, %s)",
            (self.run_id, table, str(file), loaded, rejected),
        )

    def finish(self) -> None:
        self._cursor.execute(
            "UPDATE load_runs SET finished_at = clock_timestamp() WHERE id = %s", (self.run_id,)
        )


def as_csv_line(values: Sequence[str | None]) -> str:
    """A rejected row as CSV text again (nulls as empty fields), for the quarantine's `raw` column."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(["" if v is None else v for v in values])
    return buffer.getvalue()
