"""What the loader accepts: the exact header of a table, and per row well-typed values, present keys and
values inside their domains (services/data/domains.py: ranges, allowed values, cross-field rules).

Rows are checked a whole batch at a time with pyarrow kernels; Python only touches the (rare) bad rows
and the primary keys, and the keys only when a batch repeats one.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from services.data.domains import frame_violations, typed_frame
from services.data.tables import TableSpec

# Postgres bigint holds any 18-digit integer; a double precision literal is digits with an optional point
# and exponent (no NaN or infinity: missing is an empty field).
INTEGER = r"^-?[0-9]{1,18}$"
NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$"


def header_problem(spec: TableSpec, header: Sequence[str]) -> str | None:
    """Why `header` is not the table's header (names must match exactly, any order), or None."""
    missing = [c for c in spec.columns if c not in header]
    unexpected = [c for c in header if c not in spec.columns]
    repeated = sorted({c for c in header if header.count(c) > 1})
    problems = [
        f"{label}: {', '.join(columns)}"
        for label, columns in (("missing", missing), ("unexpected", unexpected), ("repeated", repeated))
        if columns
    ]
    return "; ".join(problems) or None


@dataclass(frozen=True)
class CheckedBatch:
    good: pa.RecordBatch
    bad_rows: np.ndarray  # positions in the checked batch, ascending
    reasons: list[str]  # one per bad row


@dataclass(frozen=True)
class _Problem:
    column: str
    reason: str
    rows: np.ndarray  # boolean mask over the batch


class RowChecker:
    """Checks the batches of one file in order; remembers primary keys to catch repeats across batches."""

    def __init__(self, spec: TableSpec) -> None:
        self._spec = spec
        self._seen_keys: set[int] = set()

    def check(self, batch: pa.RecordBatch) -> CheckedBatch:
        problems = [p for column in batch.schema.names for p in self._column_problems(batch, column)]
        bad = np.zeros(batch.num_rows, dtype=bool)
        for problem in problems:
            bad |= problem.rows
        outside = self._outside_domains(batch, bad)
        bad[list(outside)] = True
        bad |= self._repeated_keys(batch, ~bad)
        bad_rows = np.flatnonzero(bad)
        reasons = [outside.get(int(row)) or self._describe(batch, row, problems) for row in bad_rows]
        return CheckedBatch(good=batch.filter(pa.array(~bad)), bad_rows=bad_rows, reasons=reasons)

    def _column_problems(self, batch: pa.RecordBatch, column: str) -> list[_Problem]:
        values = batch.column(column)
        kind = self._spec.kind(column)
        problems = []
        if column in self._spec.key_columns:
            problems.append(_Problem(column, "is missing", _as_mask(pc.is_null(values))))
        if kind != "text":
            pattern, label = (INTEGER, "an integer") if kind == "id" else (NUMBER, "a number")
            mismatch = pc.invert(pc.match_substring_regex(values, pattern))
            problems.append(_Problem(column, f"is not {label}", _as_mask(mismatch)))
        return [p for p in problems if p.rows.any()]

    def _outside_domains(self, batch: pa.RecordBatch, bad: np.ndarray) -> dict[int, str]:
        """Well-typed rows with a value outside its domain or a broken cross-field rule -> the reason."""
        frame = typed_frame(self._spec.name, pl.from_arrow(batch))
        return {
            row: "; ".join(str(v) for v in violations)
            for row, violations in frame_violations(self._spec.name, frame).items()
            if not bad[row]
        }

    def _repeated_keys(self, batch: pa.RecordBatch, candidates: np.ndarray) -> np.ndarray:
        """Rows whose primary key an earlier good row of the file already has: the first one wins."""
        repeated = np.zeros(batch.num_rows, dtype=bool)
        key = self._spec.primary_key
        if key is None:
            return repeated
        rows = np.flatnonzero(candidates)
        keys = pc.cast(batch.column(key).take(pa.array(rows)), pa.int64()).to_pylist()
        batch_keys = set(keys)
        if len(batch_keys) == len(keys) and self._seen_keys.isdisjoint(batch_keys):
            self._seen_keys |= batch_keys
            return repeated
        for row, value in zip(rows, keys, strict=True):
            repeated[row] = value in self._seen_keys
            self._seen_keys.add(value)
        return repeated

    def _describe(self, batch: pa.RecordBatch, row: int, problems: list[_Problem]) -> str:
        reasons = [_with_value(batch, row, p) for p in problems if p.rows[row]]
        key = self._spec.primary_key
        return (
            "; ".join(reasons) or f"duplicate {key} {batch.column(key)[row].as_py()} (an earlier row has it)"
        )


def _as_mask(values: pa.Array) -> np.ndarray:
    return values.fill_null(False).to_numpy(zero_copy_only=False)


def _with_value(batch: pa.RecordBatch, row: int, problem: _Problem) -> str:
    value = batch.column(problem.column)[row].as_py()
    reason = f"{problem.column} {problem.reason}"
    return reason if value is None else f"{reason}: {value!r}"
