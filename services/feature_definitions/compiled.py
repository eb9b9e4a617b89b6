"""The catalog's features for a few applications at a time, without Polars' per-call planning.

The definitions are compiled once (services/feature_definitions/expressions.py) from the same
expressions `compute_features` evaluates. Per history table, the per-row sources and subset conditions of
its `aggregates` features are evaluated once into one rows x sources array, and every feature sharing
(condition, aggregation) is reduced in one numpy call over the rows sorted by application; the other
features (the application's, ratios of aggregates, category counts...) run as compiled expressions.
tests/features/test_fast_parity.py proves the vectors equal to `compute_features`.

History rows belong to the application they come with: joins (bureau_balance to bureau) and windows
(a POS loan's latest month) are taken within one application, which is what Polars computes for one
application, or for several whose loan ids are their own, as in the Kaggle data.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from services.feature_definitions.application import FEATURES as APPLICATION_FEATURES
from services.feature_definitions.catalog import HISTORIES, NAMES
from services.feature_definitions.expressions import Frame, Grouping, Program, aggregate, tree
from services.feature_definitions.raw import HISTORY_TABLES, polars_schema
from services.feature_definitions.spec import Feature, HistoryTable

Row = Mapping[str, object]
_POSITION = {name: i for i, name in enumerate(NAMES)}


@dataclass(frozen=True)
class Batch:
    """Raw rows of a batch of applications, keyed by lower-case column names: the applications, and per
    history table its rows with the index (in `applications`) of the application each belongs to."""

    applications: Sequence[Row]
    history: Mapping[str, tuple[Sequence[Row], Sequence[int]]] = field(default_factory=dict)


_DTYPES = {
    table: {
        column: object if kind == pl.String else np.float64 for column, kind in polars_schema(table).items()
    }
    for table in ("application", *HISTORY_TABLES)
}


def _columns(table: str, rows: Sequence[Row]) -> dict[str, np.ndarray]:
    """Rows -> one array per column of the table: float64 with NaN for null, or objects for text."""
    return {
        column: np.array([row.get(column) for row in rows], dtype) for column, dtype in _DTYPES[table].items()
    }


@dataclass(frozen=True)
class _Rows:
    """A table's rows sorted by application, grouped per application; `applications` are the groups'."""

    frame: Frame
    applications: np.ndarray


def _rows(batch: Batch, table: str) -> _Rows | None:
    rows, owners = batch.history.get(table, ((), ()))
    if not rows:
        return None
    order = np.argsort(np.asarray(owners), kind="stable")
    applications, of_row = np.unique(np.asarray(owners)[order], return_inverse=True)
    columns = _columns(table, [rows[i] for i in order])
    return _Rows(Frame(columns, len(order), Grouping.sorted(of_row)), applications)


@dataclass(frozen=True)
class _Reduction:
    """Features reduced together: `aggregation` of the sources `sources`, written to `positions`."""

    aggregation: str
    sources: np.ndarray
    positions: np.ndarray


class _HistoryPlan:
    """One history table's features compiled: its child columns, row columns, grouped aggregates and the
    other features."""

    def __init__(self, history: HistoryTable) -> None:
        self.table = history.table
        self.child = history.child
        if history.child is not None:
            self.child_names = [e.meta.output_name() for e in history.child.columns]
            self.child_program = Program.of(history.child.columns)
        self.row_names = [e.meta.output_name() for e in history.row_columns]
        self.row_program = Program.of(history.row_columns)
        grouped = [f for f in history.features if f.aggregate is not None]
        others = [f for f in history.features if f.aggregate is None]
        self.sources, self.conditions = _distinct(grouped, "source"), _distinct(grouped, "condition")
        self.source_program = Program([*self.sources.values(), *self.conditions.values()])
        self.reductions = _reductions(grouped, list(self.sources), list(self.conditions))
        self.other_program = Program.of([f.expr for f in others])
        self.other_positions = np.array([_POSITION[f.name] for f in others], dtype=np.intp)

    def compute(self, batch: Batch, out: np.ndarray) -> None:
        """Write this table's features of the applications with rows into `out` (NaN stays for the rest)."""
        rows = _rows(batch, self.table)
        if rows is None:
            return
        frame = rows.frame
        if self.child is not None:
            frame = self._with_child(batch, rows)
        if self.row_names:
            frame = _with(frame, self.row_names, self.row_program.run(frame))
        grouping = frame.grouping
        assert grouping is not None
        values = self.source_program.run(frame)
        sources = _stack(values[: len(self.sources)], frame.height)
        conditions = values[len(self.sources) :]
        targets = rows.applications[:, None]
        for condition, reductions in self.reductions.items():
            keep = None if condition is None else conditions[condition] == 1
            reduced = aggregate(grouping, sources, keep, {r.aggregation for r in reductions} - {"rows"})
            for reduction in reductions:
                out[targets, reduction.positions] = _result(grouping, keep, reduced, reduction)
        if len(self.other_positions):
            out[targets, self.other_positions] = _stack(self.other_program.run(frame), grouping.size)

    def _with_child(self, batch: Batch, rows: _Rows) -> Frame:
        """The table's rows with the child's columns, aggregated per (application, key) and joined on it
        (a null key joins nothing, as in Polars)."""
        assert self.child is not None and rows.frame.grouping is not None
        key, frame = self.child.key, rows.frame
        joined = np.full((frame.height, len(self.child_names)), np.nan)
        child = _rows(batch, self.child.table)
        if child is not None and child.frame.grouping is not None:
            known = ~np.isnan(child.frame.columns[key])
            owners = child.applications[child.frame.grouping.of_row[known]]
            pairs = np.column_stack([owners, child.frame.columns[key][known]])
            if len(pairs):
                grouping, distinct = Grouping.by(pairs)
                columns = {name: column[known] for name, column in child.frame.columns.items()}
                values = _stack(self.child_program.run(Frame(columns, len(pairs), grouping)), grouping.size)
                keys = {pair: i for i, pair in enumerate(map(tuple, distinct.tolist()))}
                owners = rows.applications[frame.grouping.of_row]
                parents = zip(owners.tolist(), frame.columns[key].tolist(), strict=True)
                matched = np.array([keys.get(pair, -1) for pair in parents], dtype=np.intp)
                joined = np.where((matched >= 0)[:, None], values[matched], np.nan)
        return _with(frame, self.child_names, list(joined.T))


def _with(frame: Frame, names: list[str], values: list[np.ndarray]) -> Frame:
    return Frame({**frame.columns, **dict(zip(names, values, strict=True))}, frame.height, frame.grouping)


def _stack(values: list[object], length: int) -> np.ndarray:
    """Outputs (arrays, or scalars for constants; None is null) as the columns of a length x n array."""
    columns = [v if type(v) is np.ndarray else np.full(length, np.nan if v is None else v) for v in values]
    return np.array(columns, dtype=np.float64).T


def _distinct(features: list[Feature], part: str) -> dict[str, object]:
    """Distinct source or condition expressions of the aggregates, by their serialised form."""
    found: dict[str, object] = {}
    for feature in features:
        expr = getattr(feature.aggregate, part)
        if expr is not None:
            node = tree(expr)
            found.setdefault(repr(node), node)
    return found


def _reductions(
    features: list[Feature], sources: list[str], conditions: list[str]
) -> dict[int | None, list[_Reduction]]:
    """Per condition (its index; None for every row), the aggregates over its rows grouped by
    aggregation ("rows" for the row counts)."""
    grouped: dict[int | None, dict[str, list[tuple[int, int]]]] = {}
    for feature in features:
        spec = feature.aggregate
        assert spec is not None
        condition = None if spec.condition is None else conditions.index(repr(tree(spec.condition)))
        if spec.aggregation == "count":
            source, how = 0, "rows"
        else:
            source, how = sources.index(repr(tree(spec.source))), spec.aggregation
        grouped.setdefault(condition, {}).setdefault(how, []).append((source, _POSITION[feature.name]))
    return {
        condition: [
            _Reduction(
                how, np.array([s for s, _ in pairs], np.intp), np.array([p for _, p in pairs], np.intp)
            )
            for how, pairs in hows.items()
        ]
        for condition, hows in grouped.items()
    }


def _result(
    grouping: Grouping, keep: np.ndarray | None, reduced: dict[str, np.ndarray], reduction: _Reduction
) -> np.ndarray:
    """spec.Aggregate's semantics: the rows counted, or the aggregation of each source's known values in
    the kept rows, a total of no known values being missing."""
    if reduction.aggregation == "rows":
        rows = np.ones(len(grouping.of_row)) if keep is None else keep.astype(np.float64)
        return grouping.reduce(np.add, rows)[:, None]
    values = reduced[reduction.aggregation][:, reduction.sources]
    if reduction.aggregation == "sum":
        return np.where(reduced["count"][:, reduction.sources] > 0, values, np.nan)
    return values


_APPLICATION = Program.of([f.expr for f in APPLICATION_FEATURES])
_APPLICATION_POSITIONS = np.array([_POSITION[f.name] for f in APPLICATION_FEATURES], dtype=np.intp)
_HISTORIES = [_HistoryPlan(history) for history in HISTORIES]
assert {plan.table for plan in _HISTORIES} | {c.table for h in HISTORIES if (c := h.child)} == set(
    HISTORY_TABLES
)


def compute_vectors(batch: Batch) -> np.ndarray:
    """One row of every feature (catalog order, NaN = missing) per application of `batch`."""
    count = len(batch.applications)
    out = np.full((count, len(NAMES)), np.nan)
    application = Frame(_columns("application", batch.applications), count)
    out[:, _APPLICATION_POSITIONS] = _stack(_APPLICATION.run(application), count)
    for plan in _HISTORIES:
        plan.compute(batch, out)
    return out
