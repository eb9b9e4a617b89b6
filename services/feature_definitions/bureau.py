"""Credit bureau features: credits at other institutions (bureau) and their monthly statuses."""

import polars as pl

from services.feature_definitions.spec import (
    ChildColumns,
    Feature,
    HistoryTable,
    Source,
    Subset,
    aggregates,
    category_counts,
    ratio,
    without_sentinel,
)

# bureau_balance STATUS: 0 = no days past due, 1..5 = growing DPD buckets, C = closed, X = unknown.
_LATE_STATUSES = ("1", "2", "3", "4", "5")
_STATUSES = ("0", *_LATE_STATUSES, "C", "X")


_status = pl.col("status")
_late = _status.is_in(_LATE_STATUSES)
# One row per bureau credit: month counts per status, lateness share and worst status.
MONTHLY_STATUS = ChildColumns(
    "bureau_balance",
    "sk_id_bureau",
    (
        pl.len().cast(pl.Float64).alias("bb_months"),
        _late.cast(pl.Float64).mean().alias("bb_late_share"),
        _status.filter(_late).cast(pl.Float64).max().alias("bb_worst_status"),
        (_late & (pl.col("months_balance") >= -12)).cast(pl.Float64).sum().alias("bb_recent_late_months"),
        *((_status == s).cast(pl.Float64).sum().alias(f"bb_status_{s.lower()}_months") for s in _STATUSES),
    ),
)


_credit = pl.col("amt_credit_sum")
_debt = pl.col("amt_credit_sum_debt")
_limit = pl.col("amt_credit_sum_limit")
_overdue = pl.col("amt_credit_sum_overdue")

SOURCES: list[Source] = [
    Source("days_credit", "days since the credit was opened", pl.col("days_credit"), ("mean", "min", "max")),
    Source("days_overdue", "days overdue at application", pl.col("credit_day_overdue"), ("mean", "max")),
    Source(
        "days_to_end",
        "planned days to the credit's end",
        without_sentinel("days_credit_enddate"),
        ("mean", "min", "max"),
    ),
    Source(
        "days_since_end",
        "days since the credit actually ended",
        without_sentinel("days_enddate_fact"),
        ("mean", "max"),
    ),
    Source(
        "days_since_update",
        "days since the bureau last updated the credit",
        pl.col("days_credit_update"),
        ("mean", "max"),
    ),
    Source(
        "max_overdue_amount",
        "the largest amount ever overdue",
        pl.col("amt_credit_max_overdue"),
        ("mean", "max"),
    ),
    Source("prolongations", "prolongations", pl.col("cnt_credit_prolong"), ("sum",)),
    Source("credit_amount", "credit amounts", _credit, ("mean", "max", "sum")),
    Source("debt_amount", "current debt", _debt, ("mean", "max", "sum")),
    Source("limit_amount", "credit card limits", _limit, ("mean", "sum")),
    Source("overdue_amount", "amounts currently overdue", _overdue, ("mean", "max", "sum")),
    Source("annuity", "annuities", pl.col("amt_annuity"), ("mean", "max", "sum")),
    Source("debt_to_credit", "debt as a share of the credit amount", ratio(_debt, _credit), ("mean", "max")),
    Source("debt_to_limit", "debt as a share of the credit limit", ratio(_debt, _limit), ("mean", "max")),
    Source("overdue_to_debt", "overdue amount as a share of debt", ratio(_overdue, _debt), ("mean", "max")),
    Source(
        "is_overdue",
        "credits overdue at application (1/0)",
        (pl.col("credit_day_overdue") > 0).cast(pl.Float64),
        ("mean", "sum"),
    ),
    Source(
        "months_reported",
        "months reported in the monthly balance",
        pl.col("bb_months"),
        ("mean", "max", "sum"),
    ),
    Source(
        "late_month_share",
        "the share of reported months with days past due",
        pl.col("bb_late_share"),
        ("mean", "max"),
    ),
    Source(
        "worst_status", "the worst days-past-due bucket (1-5)", pl.col("bb_worst_status"), ("mean", "max")
    ),
    Source(
        "recent_late_months",
        "months with days past due in the last year",
        pl.col("bb_recent_late_months"),
        ("sum",),
    ),
]

# Month counts per status are summed over all credits only; split by credit state they add little.
STATUS_SOURCES: list[Source] = [
    Source(
        f"status_{s.lower()}_months",
        f"months reported with status {s}",
        pl.col(f"bb_status_{s.lower()}_months"),
        ("sum",),
    )
    for s in _STATUSES
]

# Credits opened in the last year: how many and how much, the signal of a recent credit spree.
RECENT_SOURCES: list[Source] = [
    Source("credit_amount", "credit amounts", _credit, ("sum",)),
    Source("debt_amount", "current debt", _debt, ("sum",)),
    Source("annuity", "annuities", pl.col("amt_annuity"), ("sum",)),
]

ALL = Subset("all", "all", None)
SUBSETS: list[Subset] = [
    ALL,
    Subset("active", "active", pl.col("credit_active") == "Active"),
    Subset("closed", "closed", pl.col("credit_active") == "Closed"),
]
RECENT = Subset("recent", "last-year", pl.col("days_credit") >= -365)

_CREDIT_TYPES = ("Consumer credit", "Credit card", "Car loan", "Mortgage", "Microloan")
_active = pl.col("credit_active") == "Active"

EXTRA: list[Feature] = [
    *category_counts(
        "bureau_type_{}_count", "Number of bureau credits of type {}", pl.col("credit_type"), _CREDIT_TYPES
    ),
    Feature(
        "bureau_active_share",
        "continuous",
        "Share of bureau credits still active",
        _active.cast(pl.Float64).mean(),
    ),
    Feature(
        "bureau_active_total_debt_to_credit",
        "continuous",
        "Total debt divided by total credit amount over active bureau credits",
        ratio(_debt.filter(_active).sum(), _credit.filter(_active).sum()),
    ),
    Feature(
        "bureau_last_credit_days",
        "continuous",
        "Days since the most recent bureau credit was opened",
        pl.col("days_credit").max().cast(pl.Float64),
    ),
]

FEATURES: list[Feature] = [
    *aggregates("bureau", "bureau credits", SOURCES, SUBSETS),
    *aggregates("bureau", "bureau credits", STATUS_SOURCES, [ALL], count=False),
    *aggregates("bureau", "bureau credits", RECENT_SOURCES, [RECENT]),
    *EXTRA,
]

HISTORY = HistoryTable("bureau", FEATURES, child=MONTHLY_STATUS)
