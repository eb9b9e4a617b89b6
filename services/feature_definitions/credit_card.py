"""Features of monthly credit card balances of previous loans (credit_card_balance)."""

import polars as pl

from services.feature_definitions.spec import Feature, HistoryTable, Source, Subset, aggregates, ratio

_balance = pl.col("amt_balance")
_limit = pl.col("amt_credit_limit_actual")
_minimum = pl.col("amt_inst_min_regularity")
_payment = pl.col("amt_payment_total_current")

SOURCES: list[Source] = [
    Source("balance", "balances", _balance, ("mean", "max")),
    Source("limit", "credit limits", _limit, ("mean", "max")),
    Source("utilisation", "balance divided by limit", ratio(_balance, _limit), ("mean", "max")),
    Source("drawings", "amounts drawn", pl.col("amt_drawings_current"), ("mean", "max", "sum")),
    Source(
        "atm_drawings", "amounts drawn at ATMs", pl.col("amt_drawings_atm_current"), ("mean", "max", "sum")
    ),
    Source(
        "pos_drawings", "amounts spent at points of sale", pl.col("amt_drawings_pos_current"), ("mean", "sum")
    ),
    Source("other_drawings", "other drawings", pl.col("amt_drawings_other_current"), ("mean",)),
    Source("drawing_count", "numbers of drawings", pl.col("cnt_drawings_current"), ("mean", "max", "sum")),
    Source(
        "atm_drawing_count", "numbers of ATM drawings", pl.col("cnt_drawings_atm_current"), ("mean", "sum")
    ),
    Source(
        "pos_drawing_count",
        "numbers of point-of-sale drawings",
        pl.col("cnt_drawings_pos_current"),
        ("mean", "sum"),
    ),
    Source("minimum_payment", "minimum instalments", _minimum, ("mean", "max")),
    Source("payment", "amounts paid", _payment, ("mean", "max", "sum")),
    Source(
        "payment_to_minimum",
        "amount paid divided by the minimum instalment",
        ratio(_payment, _minimum),
        ("mean", "min"),
    ),
    Source(
        "is_below_minimum",
        "months paid below the minimum instalment (1/0)",
        (_payment < _minimum).cast(pl.Float64),
        ("mean", "sum"),
    ),
    Source("receivable", "total receivables", pl.col("amt_total_receivable"), ("mean", "max")),
    Source(
        "principal_receivable", "principal receivables", pl.col("amt_receivable_principal"), ("mean", "max")
    ),
    Source(
        "mature_instalments", "paid instalments so far", pl.col("cnt_instalment_mature_cum"), ("mean", "max")
    ),
    Source("dpd", "days past due", pl.col("sk_dpd"), ("mean", "max", "sum")),
    Source(
        "dpd_tolerant",
        "days past due with tolerance (small debts ignored)",
        pl.col("sk_dpd_def"),
        ("mean", "max"),
    ),
    Source(
        "is_late", "months with days past due (1/0)", (pl.col("sk_dpd") > 0).cast(pl.Float64), ("mean", "sum")
    ),
]

SUBSETS: list[Subset] = [
    Subset("all", "all", None),
    Subset("recent", "last-year", pl.col("months_balance") >= -12),
]

EXTRA: list[Feature] = [
    Feature(
        "card_count",
        "continuous",
        "Number of distinct credit cards",
        pl.col("sk_id_prev").n_unique().cast(pl.Float64),
    ),
    Feature(
        "card_months_reported",
        "continuous",
        "Earliest month reported, in months before the application",
        pl.col("months_balance").min().cast(pl.Float64),
    ),
]

FEATURES: list[Feature] = [*aggregates("card", "credit card months", SOURCES, SUBSETS), *EXTRA]

HISTORY = HistoryTable("credit_card_balance", FEATURES)
