"""The catalog's features for a few applications at a time, without Polars' per-call planning.

The definitions are compiled once (services/feature_definitions/expressions.py) from the same
expressions `compute_features` evaluates. Per history table, the per-row sources and subset conditions of
its `aggregates` features are evaluated once, spread into one rows x (conditions x sources) array, and
each aggregation of it is one numpy call over the rows sorted by application (~15 calls per table for
~100 features); the other features (the application's, ratios of aggregates, category counts...) run as
compiled expressions, their aggregations batched the same way.
tests/features/test_fast_parity.py proves the vectors equal to `compute_features`.

History rows belong to the application they come with: joins (bureau_balance to bureau) and windows
(a POS loan's latest month) are taken within one application, which is what Polars computes for one
application, or for several whose loan ids are their own, as in the Kaggle data.

`vary_application` gives variants of one application with the same history (the recourse search's
candidate loans) their vectors from that application's: only the application's features are computed.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from services.feature_definitions.application import FEATURES as APPLICATION_FEATURES
from services.feature_definitions.catalog import HISTORIES, NAMES
from services.feature_definitions.expressions import Frame, Grouping, Program, aggregate, tree
from services.feature_definitions.raw import HISTORY_TABLES, polars_schema, spec_for
from services.feature_definitions.spec import Feature, HistoryTable

Row = Mapping[str, object]
_POSITION = {name: i for i, name in enumerate(NAMES)}


_DTYPES = {
    table: {
        column: object if kind == pl.String else np.float64 for column, kind in polars_schema(table).items()
    }
    for table in ("application", *HISTORY_TABLES)
}
_KAGGLE = {table: {c.lower(): c for c in spec_for(table).columns} for table in _DTYPES}


@dataclass(frozen=True)
class Table:
    """One raw table's rows in a batch: an array per column (float64 with NaN for null, objects for text,
    None for null) and each row's application, its index in the batch."""

    columns: dict[str, np.ndarray]
    owners: np.ndarray

    @classmethod
    def of_rows(cls, table: str, rows: Sequence[Row], owners: Sequence[int], kaggle: bool = False) -> "Table":
        """Rows keyed by lower-case column names, or by Kaggle's (`kaggle`, as API bodies come); missing
        keys are nulls."""
        keys = _KAGGLE[table] if kaggle else {c: c for c in _DTYPES[table]}
        columns = {
            c: np.array([row.get(keys[c]) for row in rows], dtype) for c, dtype in _DTYPES[table].items()
        }
        return cls(columns, np.asarray(owners, dtype=np.intp))

    @classmethod
    def of_frame(cls, table: str, frame: pl.DataFrame, owners: np.ndarray) -> "Table":
        """A frame typed like the Postgres table (raw.polars_schema)."""
        columns = {c: frame[c].to_numpy().astype(dtype) for c, dtype in _DTYPES[table].items()}
        return cls(columns, owners)


@dataclass(frozen=True)
class Batch:
    """Raw rows of a batch of applications: the applications and, per history table, the rows with the
    application each belongs to (a table left out has no rows)."""

    applications: Table
    history: Mapping[str, Table] = field(default_factory=dict)

    @classmethod
    def of_rows(
        cls, applications: Sequence[Row], history: Mapping[str, tuple[Sequence[Row], Sequence[int]]]
    ) -> "Batch":
        """Rows keyed by lower-case column names, each history row with its application's index."""
        return cls(
            Table.of_rows("application", applications, range(len(applications))),
            {table: Table.of_rows(table, *history[table]) for table in history},
        )

    @classmethod
    def of_raw(cls, applications: Table, history: Mapping[str, pl.DataFrame]) -> "Batch":
        """History frames typed like the Postgres tables: each row goes to every application of its
        sk_id_curr (bureau_balance rows through their bureau credit); rows of no application are left out."""
        ids = applications.columns["sk_id_curr"]
        credits = history.get("bureau", pl.DataFrame(schema=polars_schema("bureau")))
        credit_ids = credits["sk_id_bureau"].to_numpy().astype(np.float64)
        credit_owners = credits["sk_id_curr"].to_numpy().astype(np.float64)
        tables = {}
        for table, frame in history.items():
            if table == "bureau_balance":
                months, credit = _matches(frame["sk_id_bureau"].to_numpy().astype(np.float64), credit_ids)
                pairs, owners = _matches(credit_owners[credit], ids)
                # a month once per application, however many of its credits share the id
                rows, owners = np.unique(np.column_stack([months[pairs], owners]), axis=0).T
            else:
                rows, owners = _matches(frame["sk_id_curr"].to_numpy().astype(np.float64), ids)
            tables[table] = Table.of_frame(table, frame[rows], owners)
        return cls(applications, tables)


def _matches(keys: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with keys[i] == ids[j] (NaN matches nothing), as (i's, j's) ordered by i."""
    order = np.argsort(ids, kind="stable")
    low = np.searchsorted(ids[order], keys, side="left")
    counts = np.where(np.isnan(keys), 0, np.searchsorted(ids[order], keys, side="right") - low)
    rows = np.repeat(np.arange(len(keys)), counts)
    offsets = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, order[np.repeat(low, counts) + offsets]


@dataclass(frozen=True)
class _Rows:
    """A table's rows sorted by application, grouped per application; `applications` are the groups'."""

    frame: Frame
    applications: np.ndarray


def _rows(batch: Batch, table: str) -> _Rows | None:
    found = batch.history.get(table)
    if found is None or not len(found.owners):
        return None
    columns, owners = found.columns, found.owners
    if np.any(owners[1:] < owners[:-1]):
        order = np.argsort(owners, kind="stable")
        columns, owners = {name: column[order] for name, column in columns.items()}, owners[order]
    if owners[0] == owners[-1]:  # one application (the features service's usual case)
        return _Rows(Frame(columns, len(owners), Grouping.one(len(owners))), owners[:1])
    applications, of_row = np.unique(owners, return_inverse=True)
    return _Rows(Frame(columns, len(owners), Grouping.sorted(of_row)), applications)


class _Aggregates:
    """A table's `aggregates` features reduced together: every source over every condition's rows (the
    first condition is every row) as one rows x (conditions x sources) array, each aggregation of it in
    one numpy call per table, whatever the number of features."""

    def __init__(self, features: list[Feature]) -> None:
        sources, conditions = _distinct(features, "source"), _distinct(features, "condition")
        self.program = Program([*sources.values(), *conditions.values()])
        self.width = len(sources)
        specs = [f.aggregate for f in features if f.aggregate is not None]
        self.hows = sorted({spec.aggregation for spec in specs} - {"count"})
        block = (1 + len(conditions)) * len(sources)
        columns = []
        for spec in specs:
            condition = (
                0 if spec.condition is None else 1 + list(conditions).index(repr(tree(spec.condition)))
            )
            if spec.aggregation == "count":
                columns.append(len(self.hows) * block + condition)
            else:
                source = list(sources).index(repr(tree(spec.source)))
                columns.append(self.hows.index(spec.aggregation) * block + condition * len(sources) + source)
        self.columns = np.array(columns, dtype=np.intp)
        self.positions = np.array([_POSITION[f.name] for f in features], dtype=np.intp)

    def compute(self, frame: Frame, grouping: Grouping) -> np.ndarray:
        """spec.Aggregate's semantics per group: the rows counted, or the aggregation of each source's
        known values in the kept rows, a total of no known values being missing."""
        values = self.program.run(frame)
        sources = _stack(values[: self.width], frame.height)
        keep = _stack([1.0, *values[self.width :]], frame.height) == 1
        spread = np.where(keep[:, :, None], sources[:, None, :], np.nan).reshape(frame.height, -1)
        reduced = aggregate(
            grouping, spread, None, {*self.hows, "count"} if "sum" in self.hows else set(self.hows)
        )
        if "sum" in reduced:
            reduced["sum"] = np.where(reduced["count"] > 0, reduced["sum"], np.nan)
        rows = grouping.reduce(np.add, keep.astype(np.float64))
        return np.concatenate([*(reduced[how] for how in self.hows), rows], axis=1)[:, self.columns]


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
        self.aggregates = _Aggregates([f for f in history.features if f.aggregate is not None])
        others = [f for f in history.features if f.aggregate is None]
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
        targets = rows.applications[:, None]
        out[targets, self.aggregates.positions] = self.aggregates.compute(frame, grouping)
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


_APPLICATION = Program.of([f.expr for f in APPLICATION_FEATURES])
_APPLICATION_POSITIONS = np.array([_POSITION[f.name] for f in APPLICATION_FEATURES], dtype=np.intp)
_HISTORIES = [_HistoryPlan(history) for history in HISTORIES]
assert {plan.table for plan in _HISTORIES} | {c.table for h in HISTORIES if (c := h.child)} == set(
    HISTORY_TABLES
)


def compute_vectors(batch: Batch) -> np.ndarray:
    """One row of every feature (catalog order, NaN = missing) per application of `batch`."""
    count = len(batch.applications.owners)
    out = np.full((count, len(NAMES)), np.nan)
    application = Frame(batch.applications.columns, count)
    out[:, _APPLICATION_POSITIONS] = _stack(_APPLICATION.run(application), count)
    for plan in _HISTORIES:
        plan.compute(batch, out)
    return out


def vary_application(vector: np.ndarray, variants: Table) -> np.ndarray:
    """`vector`, compute_vectors' row of one application with its history, for each of `variants` (other
    applications of that applicant, with the same history): a history's features depend on its rows
    alone, so only the application's features are computed, the history's not once more per variant."""
    count = len(variants.owners)
    out = np.repeat(vector[None, :], count, axis=0)
    out[:, _APPLICATION_POSITIONS] = _stack(_APPLICATION.run(Frame(variants.columns, count)), count)
    return out
