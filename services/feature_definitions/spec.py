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
class Feature:
    """One model input. `expr` is evaluated per row (application) or per client group (history tables)."""

    name: str
    kind: Kind
    description: str
    expr: pl.Expr


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
            features.append(
                Feature(f"{prefix}_{subset.name}_count", "continuous", f"Number of {rows}", _count(subset))
            )
        for source in sources:
            values = source.expr if subset.condition is None else source.expr.filter(subset.condition)
            for aggregation in source.aggregations:
                features.append(
                    Feature(
                        name=f"{prefix}_{subset.name}_{source.name}_{aggregation}",
                        kind="continuous",
                        description=f"{_AGGREGATIONS[aggregation]} of {source.description} over {rows}",
                        expr=_aggregate(values, aggregation).cast(pl.Float64),
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


def _count(subset: Subset) -> pl.Expr:
    if subset.condition is None:
        return pl.len().cast(pl.Float64)
    return subset.condition.cast(pl.Float64).sum()


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, missing when the denominator is zero or missing (never inf)."""
    return pl.when(denominator != 0).then(numerator / denominator).otherwise(None)


def without_sentinel(column: str) -> pl.Expr:
    """A DAYS_* column with the 365243 placeholder turned into missing."""
    return pl.when(pl.col(column) == DAYS_SENTINEL).then(None).otherwise(pl.col(column))


def group_features(frame: pl.DataFrame, features: list[Feature]) -> pl.DataFrame:
    """Evaluate aggregate features per client: one row per sk_id_curr present in `frame`.

    Lazy, so Polars computes sub-expressions shared by several aggregates (the same filter) once.
    """
    return frame.lazy().group_by("sk_id_curr").agg(f.expr.alias(f.name) for f in features).collect()


def slug(value: str) -> str:
    """A category value as part of a feature name: 'Consumer credit' -> 'consumer_credit'."""
    return value.lower().replace(" ", "_")
