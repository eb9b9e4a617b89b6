"""Features of the repayment history of previous loans (installments_payments)."""

import polars as pl

from services.feature_definitions.spec import HistoryTable, Source, Subset, aggregates, ratio

_due = pl.col("days_instalment")
_paid_on = pl.col("days_entry_payment")
_owed = pl.col("amt_instalment")
_paid = pl.col("amt_payment")

SOURCES: list[Source] = [
    Source(
        "days_past_due",
        "days paid after the due date (0 if on time)",
        (_paid_on - _due).clip(lower_bound=0),
        ("mean", "max", "sum"),
    ),
    Source(
        "days_before_due",
        "days paid before the due date (0 if late)",
        (_due - _paid_on).clip(lower_bound=0),
        ("mean", "max", "sum"),
    ),
    Source("is_late", "instalments paid late (1/0)", (_paid_on > _due).cast(pl.Float64), ("mean", "sum")),
    Source(
        "is_late_30",
        "instalments paid more than 30 days late (1/0)",
        (_paid_on - _due > 30).cast(pl.Float64),
        ("mean", "sum"),
    ),
    Source("paid_to_owed", "amount paid divided by amount owed", ratio(_paid, _owed), ("mean", "min", "std")),
    Source("owed_minus_paid", "amount owed minus amount paid", _owed - _paid, ("mean", "max", "sum")),
    Source(
        "is_underpaid",
        "instalments paid less than owed (1/0)",
        (_paid < _owed).cast(pl.Float64),
        ("mean", "sum"),
    ),
    Source("owed", "amounts owed", _owed, ("mean", "max", "sum")),
    Source("paid", "amounts paid", _paid, ("mean", "max", "sum")),
    Source("days_due", "days since the due date", _due, ("min", "max")),
    Source("version", "instalment calendar versions", pl.col("num_instalment_version"), ("mean", "max")),
    Source("number", "instalment numbers", pl.col("num_instalment_number"), ("max",)),
]

SUBSETS: list[Subset] = [
    Subset("all", "all", None),
    Subset("last_year", "last-year", _due >= -365),
    Subset("last_quarter", "last-quarter", _due >= -90),
]

FEATURES = aggregates("instalments", "instalments", SOURCES, SUBSETS)

HISTORY = HistoryTable("installments_payments", FEATURES)
