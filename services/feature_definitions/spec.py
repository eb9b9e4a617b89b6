"""Building blocks of the feature definitions: a name, a kind, a sentence and a Polars expression.

Aggregates over history tables are generated from small tables of (source column, aggregations, subsets)
so hundreds of features stay readable: the name and the description are composed the same way.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import polars as pl

Kind = Literal["continuous", "categorical", "flag"]

# Kaggle's placeholder for "no date" in DAYS_* columns (e.g. pensioners' DAYS_EMPLOYED).
DAYS_SENTINEL = 365243.0


@dataclass(frozen=True)
class Aggregate:
    """What an `aggregates` feature reduces, kept beside its expression so an evaluator can reduce every
    feature sharing (condition, aggregation) in one step: `source` over the rows where `condition` holds
    (None: every row), or, with `aggregation` "count", the number of those rows."""

    source: pl.Expr | None
    condition: pl.Expr | None
    aggregation: str

    def expr(self) -> pl.Expr:
        """The Polars expression the build evaluates (the feature's `expr`)."""
        if self.aggregation == "count":
            return (
                pl.len().cast(pl.Float64) if self.condition is None else self.condition.cast(pl.Float64).sum()
            )
        assert self.source is not None
        values = self.source if self.condition is None else self.source.filter(self.condition)
        return _aggregate(values, self.aggregation).cast(pl.Float64)


@dataclass(frozen=True)
class Feature:
    """One model input. `expr` is evaluated per row (application) or per client group (history tables);
    `aggregate` is its structure when `aggregates` made it (not part of the feature-set hash)."""

    name: str
    kind: Kind
    description: str
    expr: pl.Expr
    aggregate: Aggregate | None = None


@dataclass(frozen=True)
class Source:
    """A per-row quantity of a history table and the aggregations taken of it."""

    name: str
    description: str
    expr: pl.Expr
    aggregations: tuple[str, ...]


@dataclass(frozen=True)
class Subset:
    """Rows a group of aggregates is restricted to; `condition` None means every row."""

    name: str
    description: str
    condition: pl.Expr | None


ALL_ROWS = Subset("all", "all", None)

_AGGREGATIONS: dict[str, str] = {
    "mean": "Mean",
    "min": "Minimum",
    "max": "Maximum",
    "sum": "Total",
    "std": "Standard deviation",
}


def _aggregate(expr: pl.Expr, aggregation: str) -> pl.Expr:
    """A Polars aggregation; a total of no known values is missing rather than 0."""
    if aggregation == "sum":
        return pl.when(expr.count() > 0).then(expr.sum())
    return getattr(expr, aggregation)()


def aggregates(
    prefix: str, noun: str, sources: Iterable[Source], subsets: Iterable[Subset], count: bool = True
) -> list[Feature]:
    """Row count per subset (unless `count` is off), then each (subset, source, aggregation) as
    `<prefix>_<subset>_<source>_<aggregation>`."""
    features: list[Feature] = []
    for subset in subsets:
        rows = f"{subset.description} {noun}"
        if count:
            counted = Aggregate(None, subset.condition, "count")
            features.append(
                Feature(
                    f"{prefix}_{subset.name}_count",
                    "continuous",
                    f"Number of {rows}",
                    counted.expr(),
                    counted,
                )
            )
        for source in sources:
            for aggregation in source.aggregations:
                reduced = Aggregate(source.expr, subset.condition, aggregation)
                features.append(
                    Feature(
                        name=f"{prefix}_{subset.name}_{source.name}_{aggregation}",
                        kind="continuous",
                        description=f"{_AGGREGATIONS[aggregation]} of {source.description} over {rows}",
                        expr=reduced.expr(),
                        aggregate=reduced,
                    )
                )
    return features


def category_counts(name: str, description: str, column: pl.Expr, values: Iterable[str]) -> list[Feature]:
    """One row count per category value: `{}` in `name` takes the value's slug, in `description` the value."""
    return [
        Feature(
            name.format(slug(value)),
            "continuous",
            description.format(value),
            (column == value).cast(pl.Float64).sum(),
        )
        for value in values
    ]


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, missing when the denominator is zero or missing (never inf)."""
    return pl.when(denominator != 0).then(numerator / denominator).otherwise(None)


def without_sentinel(column: str) -> pl.Expr:
    """A DAYS_* column with the 365243 placeholder turned into missing."""
    return pl.when(pl.col(column) == DAYS_SENTINEL).then(None).otherwise(pl.col(column))


@dataclass(frozen=True)
class ChildColumns:
    """Columns a history table takes from a child table: `columns` aggregated per `key` over the child's
    rows and left-joined on it (bureau credits take their monthly statuses from bureau_balance)."""

    table: str
    key: str
    columns: tuple[pl.Expr, ...]


@dataclass(frozen=True)
class HistoryTable:
    """A history table's features and how its rows are prepared before they are grouped per client:
    columns from a child table, then per-row columns (`row_columns`, aliased, may be windows)."""

    table: str
    features: list[Feature]
    child: ChildColumns | None = None
    row_columns: tuple[pl.Expr, ...] = ()

    @property
    def tables(self) -> tuple[str, ...]:
        """The raw tables read, in the order `compute` takes them."""
        return (self.table,) if self.child is None else (self.table, self.child.table)

    def compute(self, frame: pl.DataFrame, child: pl.DataFrame | None = None) -> pl.DataFrame:
        """One row per client with rows in `frame` (the table; `child` its child table, if it has one)."""
        if self.child is not None:
            assert child is not None
            columns = child.group_by(self.child.key).agg(*self.child.columns)
            frame = frame.join(columns, on=self.child.key, how="left")
        if self.row_columns:
            frame = frame.with_columns(*self.row_columns)
        return group_features(frame, self.features)


def group_features(frame: pl.DataFrame, features: list[Feature]) -> pl.DataFrame:
    """Evaluate aggregate features per client: one row per sk_id_curr present in `frame`.

    Lazy, so Polars computes sub-expressions shared by several aggregates (the same filter) once.
    """
    return frame.lazy().group_by("sk_id_curr").agg(f.expr.alias(f.name) for f in features).collect()


def slug(value: str) -> str:
    """A category value as part of a feature name: 'Consumer credit' -> 'consumer_credit'."""
    return value.lower().replace(" ", "_")
