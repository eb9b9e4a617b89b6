"""Features of monthly snapshots of previous POS and cash loans (POS_CASH_balance)."""

import polars as pl

from services.feature_definitions.spec import (
    Feature,
    HistoryTable,
    Source,
    Subset,
    aggregates,
    ratio,
)

_status = pl.col("name_contract_status")
_dpd = pl.col("sk_dpd")

SOURCES: list[Source] = [
    Source("months_balance", "months before the application", pl.col("months_balance"), ("min", "max")),
    Source("instalments", "loan terms in instalments", pl.col("cnt_instalment"), ("mean", "max")),
    Source(
        "instalments_left", "instalments left to pay", pl.col("cnt_instalment_future"), ("mean", "max", "sum")
    ),
    Source(
        "share_left",
        "the share of the term left to pay",
        ratio(pl.col("cnt_instalment_future"), pl.col("cnt_instalment")),
        ("mean", "min"),
    ),
    Source("dpd", "days past due", _dpd, ("mean", "max", "sum")),
    Source(
        "dpd_tolerant",
        "days past due with tolerance (small debts ignored)",
        pl.col("sk_dpd_def"),
        ("mean", "max", "sum"),
    ),
    Source("is_late", "months with days past due (1/0)", (_dpd > 0).cast(pl.Float64), ("mean", "sum")),
    Source(
        "is_completed",
        "months marked completed (1/0)",
        (_status == "Completed").cast(pl.Float64),
        ("mean", "sum"),
    ),
]

SUBSETS: list[Subset] = [
    Subset("all", "all", None),
    Subset("recent", "last-year", pl.col("months_balance") >= -12),
    Subset("active", "active-status", _status == "Active"),
]


EXTRA: list[Feature] = [
    Feature(
        "pos_loan_count",
        "continuous",
        "Number of distinct POS or cash loans",
        pl.col("sk_id_prev").n_unique().cast(pl.Float64),
    ),
    Feature(
        "pos_completed_loan_count",
        "continuous",
        "Number of POS or cash loans reported completed",
        pl.col("sk_id_prev").filter(_status == "Completed").n_unique().cast(pl.Float64),
    ),
    Feature(
        "pos_completed_loan_share",
        "continuous",
        "Share of POS or cash loans reported completed",
        ratio(
            pl.col("sk_id_prev").filter(_status == "Completed").n_unique(), pl.col("sk_id_prev").n_unique()
        ),
    ),
    Feature(
        "pos_latest_instalments_left_sum",
        "continuous",
        "Instalments left to pay, summed over each loan's latest month",
        pl.col("cnt_instalment_future").filter(pl.col("is_latest_month")).sum().cast(pl.Float64),
    ),
]

FEATURES: list[Feature] = [*aggregates("pos", "POS/cash loan months", SOURCES, SUBSETS), *EXTRA]

_latest = pl.col("months_balance") == pl.col("months_balance").max().over("sk_id_prev")
HISTORY = HistoryTable("pos_cash_balance", FEATURES, row_columns=(_latest.alias("is_latest_month"),))
