"""Features of the client's previous Home Credit applications (previous_application)."""

import polars as pl

from services.feature_definitions.spec import (
    Feature,
    HistoryTable,
    Source,
    Subset,
    aggregates,
    category_counts,
    ratio,
    without_sentinel,
)

_asked = pl.col("amt_application")
_granted = pl.col("amt_credit")
_status = pl.col("name_contract_status")

SOURCES: list[Source] = [
    Source("asked_amount", "amounts asked for", _asked, ("mean", "max", "sum")),
    Source("credit_amount", "amounts granted", _granted, ("mean", "max", "sum")),
    Source("annuity", "annuities", pl.col("amt_annuity"), ("mean", "max")),
    Source("down_payment", "down payments", pl.col("amt_down_payment"), ("mean", "max")),
    Source("goods_price", "goods prices", pl.col("amt_goods_price"), ("mean", "max")),
    Source(
        "asked_to_granted",
        "amount asked divided by amount granted",
        ratio(_asked, _granted),
        ("mean", "min", "max"),
    ),
    Source(
        "annuity_to_credit",
        "annuity divided by amount granted",
        ratio(pl.col("amt_annuity"), _granted),
        ("mean", "max"),
    ),
    Source("down_payment_rate", "down payment rates", pl.col("rate_down_payment"), ("mean", "max")),
    Source("payment_count", "planned numbers of payments", pl.col("cnt_payment"), ("mean", "max", "sum")),
    Source("days_decision", "days since the decision", pl.col("days_decision"), ("mean", "min", "max")),
    Source(
        "days_first_due", "days since the first due date", without_sentinel("days_first_due"), ("mean", "max")
    ),
    Source(
        "days_last_due", "days since the last due date", without_sentinel("days_last_due"), ("mean", "max")
    ),
    Source(
        "days_termination",
        "days since the expected termination",
        without_sentinel("days_termination"),
        ("mean", "max"),
    ),
    Source(
        "hour_started",
        "hours of day the application was started",
        pl.col("hour_appr_process_start"),
        ("mean",),
    ),
    Source(
        "insured", "approvals with insurance requested (1/0)", pl.col("nflag_insured_on_approval"), ("mean",)
    ),
]

SUBSETS: list[Subset] = [
    Subset("all", "all", None),
    Subset("approved", "approved", _status == "Approved"),
    Subset("refused", "refused", _status == "Refused"),
]

# Applications decided in the last year: how many and how much was asked and granted.
RECENT = Subset("recent", "last-year", pl.col("days_decision") >= -365)
RECENT_SOURCES: list[Source] = [
    Source("asked_amount", "amounts asked for", _asked, ("sum",)),
    Source("credit_amount", "amounts granted", _granted, ("sum",)),
    Source("refused", "refusals (1/0)", (_status == "Refused").cast(pl.Float64), ("sum",)),
]

_OTHER_STATUSES = ("Canceled", "Unused offer")
_CONTRACT_TYPES = ("Cash loans", "Consumer loans", "Revolving loans")


EXTRA: list[Feature] = [
    *category_counts(
        "previous_{}_count", "Number of previous applications with status {}", _status, _OTHER_STATUSES
    ),
    *category_counts(
        "previous_type_{}_count",
        "Number of previous applications for {}",
        pl.col("name_contract_type"),
        _CONTRACT_TYPES,
    ),
    Feature(
        "previous_refused_share",
        "continuous",
        "Share of previous applications refused",
        (_status == "Refused").cast(pl.Float64).mean(),
    ),
    Feature(
        "previous_last_decision_days",
        "continuous",
        "Days since the most recent previous decision",
        pl.col("days_decision").max().cast(pl.Float64),
    ),
    Feature(
        "previous_last_refusal_days",
        "continuous",
        "Days since the most recent refusal",
        pl.col("days_decision").filter(_status == "Refused").max().cast(pl.Float64),
    ),
    Feature(
        "previous_last_approval_days",
        "continuous",
        "Days since the most recent approval",
        pl.col("days_decision").filter(_status == "Approved").max().cast(pl.Float64),
    ),
]

FEATURES: list[Feature] = [
    *aggregates("previous", "previous applications", SOURCES, SUBSETS),
    *aggregates("previous", "previous applications", RECENT_SOURCES, [RECENT]),
    *EXTRA,
]

HISTORY = HistoryTable("previous_application", FEATURES)
