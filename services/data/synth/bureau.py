"""Credit-bureau rows: `bureau` (other lenders' credits) and `bureau_balance` (their monthly status).

Clients with worse payment behaviour open more, more recent credits, keep more debt on active ones and
run overdue more often; their monthly statuses show days-past-due buckets.
"""

import numpy as np

from services.data.synth.profile import Column, Text, number, spec, text, with_missing
from services.data.synth.rows import child_counts, owners, rank_in_parent, sigmoid

TABLE = "bureau"
NO_CREDIT_SHARE = 0.14
CREDITS_IF_ANY = 5.6
HISTORY_DAYS = 2922
BALANCE_SHARE = 0.51  # share of bureau credits with monthly balance rows (about 16 rows per credit)
STATUS_VOCAB = ("C", "X", "0", "1", "2", "3", "4", "5")


def credits(
    rng: np.random.Generator, behaviour: np.ndarray, client_ids: np.ndarray, first_id: int
) -> dict[str, Column]:
    """One row per bureau credit; SK_ID_BUREAU numbered from `first_id`."""
    counts = child_counts(rng, behaviour, NO_CREDIT_SHARE, CREDITS_IF_ANY, 0.25)
    owner = owners(counts)
    n = len(owner)
    b = behaviour[owner]
    age = np.minimum(rng.exponential(1000.0 * np.exp(-0.3 * b)), HISTORY_DAYS - 1)
    days_credit = -np.ceil(age)
    duration = rng.integers(90, 1800, n).astype(float)
    end = days_credit + duration
    active = np.where(end > 0, rng.random(n) > 0.1, rng.random(n) < 0.08)
    amount = number(rng, spec(TABLE, "AMT_CREDIT_SUM"), rng.random(n))
    debt_share = np.clip(np.clip(end, 0, None) / duration + 0.25 * b + rng.normal(0, 0.15, n), 0, 1.3)
    debt = np.where(active, np.round(amount * debt_share, 1), 0.0)
    overdue_days = np.where(active & (rng.random(n) < sigmoid(-4.5 + 1.3 * b)), rng.geometric(0.05, n), 0)
    return {
        "SK_ID_CURR": client_ids[owner],
        "SK_ID_BUREAU": first_id + np.arange(n),
        "CREDIT_ACTIVE": _status(rng, active),
        "CREDIT_CURRENCY": text(rng, spec(TABLE, "CREDIT_CURRENCY"), n),
        "DAYS_CREDIT": days_credit,
        "CREDIT_DAY_OVERDUE": overdue_days,
        "DAYS_CREDIT_ENDDATE": with_missing(end, rng.random(n) < 0.06),
        "DAYS_ENDDATE_FACT": np.where(
            active, np.nan, np.minimum(np.round(days_credit + duration * rng.uniform(0.5, 1, n)), -1)
        ),
        "AMT_CREDIT_MAX_OVERDUE": _max_overdue(rng, amount, b),
        "CNT_CREDIT_PROLONG": (rng.random(n) < 0.005).astype(np.int64),
        "AMT_CREDIT_SUM": amount,
        "AMT_CREDIT_SUM_DEBT": with_missing(debt, rng.random(n) < 0.15),
        "AMT_CREDIT_SUM_LIMIT": with_missing(np.zeros(n), rng.random(n) < 0.34),
        "AMT_CREDIT_SUM_OVERDUE": np.where(
            overdue_days > 0, np.round(debt * rng.uniform(0.02, 0.2, n), 1), 0.0
        ),
        "CREDIT_TYPE": text(rng, spec(TABLE, "CREDIT_TYPE"), n),
        "DAYS_CREDIT_UPDATE": -np.floor(rng.exponential(40.0, n)),
        "AMT_ANNUITY": with_missing(np.round(amount / duration * 30.0, 1), rng.random(n) < 0.71),
    }


def _status(rng: np.random.Generator, active: np.ndarray) -> Text:
    vocab = ("Closed", "Active", "Sold", "Bad debt")
    sold = rng.random(len(active)) < 0.004
    return Text(np.where(sold, 2, active.astype(np.int32)).astype(np.int32), vocab)


def _max_overdue(rng: np.random.Generator, amount: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Worst overdue amount ever: usually 0, larger shares for worse payers; missing for 65%."""
    n = len(amount)
    ever = rng.random(n) < sigmoid(-2.5 + 1.0 * b)
    worst = np.where(ever, np.round(amount * rng.uniform(0.0, 0.1, n), 1), 0.0)
    return with_missing(worst, rng.random(n) < 0.65)


def balances(
    rng: np.random.Generator, bureau: dict[str, Column], behaviour: np.ndarray, first_client_id: int
) -> dict[str, Column]:
    """Monthly status rows for about half the credits, from the opening month up to now (at most 96)."""
    owner = bureau["SK_ID_CURR"] - first_client_id
    n = len(owner)
    months = np.minimum(-bureau["DAYS_CREDIT"] // 30, 96).astype(np.int64) + 1
    counts = np.where(rng.random(n) < BALANCE_SHARE, months, 0)
    credit = owners(counts)
    back = rank_in_parent(counts)
    rows = len(credit)
    closed_months = np.nan_to_num(-bureau["DAYS_ENDDATE_FACT"] // 30, nan=-1.0)
    late = rng.random(rows) < sigmoid(-4.0 + 1.3 * behaviour[owner[credit]])
    bucket = 3 + np.minimum(rng.geometric(0.6, rows) - 1, 4)
    unknown = rng.random(rows) < 0.3
    status = np.where(late, bucket, np.where(unknown, 1, 2))
    status = np.where(back < closed_months[credit], 0, status)
    return {
        "SK_ID_BUREAU": bureau["SK_ID_BUREAU"][credit],
        "MONTHS_BALANCE": -back,
        "STATUS": Text(status.astype(np.int32), STATUS_VOCAB),
    }
