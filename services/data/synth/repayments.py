"""Monthly and per-instalment rows of approved previous loans: POS_CASH_balance, installments_payments
(cash and consumer loans) and credit_card_balance (revolving loans).

The client's latent payment behaviour sets how often instalments are paid late or short, how often
days-past-due appear, and how much of a card's limit is used: the signal the target draws on.
"""

import numpy as np

from services.data.synth.profile import Column, Text, with_missing
from services.data.synth.rows import owners, rank_in_parent, sigmoid

MAX_MONTHS = 96
POS_STATUSES = ("Active", "Completed", "Signed")
CARD_STATUSES = ("Active", "Completed", "Signed")
CARD_NO_DETAIL_SHARE = 0.18  # rows where the card's drawing/payment detail is missing, as in Kaggle


def _parents(previous: dict[str, Column], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {
        c: previous[c][mask]
        for c in (
            "SK_ID_PREV",
            "SK_ID_CURR",
            "DAYS_DECISION",
            "DAYS_FIRST_DUE",
            "CNT_PAYMENT",
            "AMT_ANNUITY",
            "AMT_CREDIT",
        )
    }


def instalment_loans(previous: dict[str, Column]) -> dict[str, np.ndarray]:
    """Approved cash and consumer loans with a term: the parents of POS and instalment rows."""
    product, status = previous["NAME_CONTRACT_TYPE"].codes, previous["NAME_CONTRACT_STATUS"].codes
    return _parents(previous, (status == 0) & (product < 2) & (np.nan_to_num(previous["CNT_PAYMENT"]) > 0))


def cards(previous: dict[str, Column]) -> dict[str, np.ndarray]:
    product, status = previous["NAME_CONTRACT_TYPE"].codes, previous["NAME_CONTRACT_STATUS"].codes
    return _parents(previous, (status == 0) & (product == 2))


def _payments(
    rng: np.random.Generator, due: np.ndarray, amount: np.ndarray, b: np.ndarray
) -> dict[str, Column]:
    """When and how much was paid: late or early by the client's behaviour, sometimes short."""
    n = len(due)
    late = rng.random(n) < sigmoid(-2.4 + 1.2 * b)
    late_days = rng.geometric(np.minimum(1.0, 0.25 * np.exp(-0.4 * b)))
    early_days = rng.geometric(0.12, n) - 1
    short = rng.random(n) < sigmoid(-3.5 + 1.2 * b)
    return {
        "DAYS_INSTALMENT": due,
        "DAYS_ENTRY_PAYMENT": np.minimum(due + np.where(late, late_days, -early_days), 0.0),
        "AMT_INSTALMENT": amount,
        "AMT_PAYMENT": np.where(short, np.round(amount * rng.uniform(0.1, 0.95, n), 3), amount),
    }


def installments(
    rng: np.random.Generator,
    loans: dict[str, np.ndarray],
    card_rows: dict[str, Column],
    behaviour: np.ndarray,
    first_client_id: int,
) -> dict[str, Column]:
    """One row per loan instalment already due (version >= 1), then one per card month with a
    minimum payment (version 0), as Kaggle mixes both."""
    elapsed = np.floor(-loans["DAYS_FIRST_DUE"] / 30) + 1
    counts = np.clip(np.minimum(loans["CNT_PAYMENT"], elapsed), 0, None).astype(np.int64)
    loan = owners(counts)
    number = rank_in_parent(counts)
    version = rng.choice(np.array([1.0, 2.0]), size=len(counts), p=[0.85, 0.15])
    card_due = card_rows["AMT_INST_MIN_REGULARITY"] > 0
    prev = np.concatenate([loans["SK_ID_PREV"][loan], card_rows["SK_ID_PREV"][card_due]])
    client = np.concatenate([loans["SK_ID_CURR"][loan], card_rows["SK_ID_CURR"][card_due]])
    due = np.concatenate(
        [loans["DAYS_FIRST_DUE"][loan] + 30.0 * number, card_rows["MONTHS_BALANCE"][card_due] * 30.0]
    )
    amount = np.concatenate([loans["AMT_ANNUITY"][loan], card_rows["AMT_INST_MIN_REGULARITY"][card_due]])
    return {
        "SK_ID_PREV": prev,
        "SK_ID_CURR": client,
        "NUM_INSTALMENT_VERSION": np.concatenate([version[loan], np.zeros(int(card_due.sum()))]),
        "NUM_INSTALMENT_NUMBER": np.concatenate(
            [number + 1, card_rows["CNT_INSTALMENT_MATURE_CUM"][card_due] + 1]
        ),
        **_payments(rng, due, amount, behaviour[client - first_client_id]),
    }


def pos_cash(
    rng: np.random.Generator, loans: dict[str, np.ndarray], behaviour: np.ndarray, first_client_id: int
) -> dict[str, Column]:
    """One row per month from the first due month to now or to the last instalment."""
    start = np.minimum(np.floor(loans["DAYS_FIRST_DUE"] / 30) + 1, -1)
    counts = np.clip(np.minimum(loans["CNT_PAYMENT"] + 1, -start), 1, MAX_MONTHS).astype(np.int64)
    loan = owners(counts)
    month = rank_in_parent(counts)
    n = len(loan)
    b = behaviour[loans["SK_ID_CURR"][loan] - first_client_id]
    term = loans["CNT_PAYMENT"][loan]
    future = np.maximum(term - month, 0.0)
    late = rng.random(n) < sigmoid(-3.8 + 1.3 * b)
    dpd = np.where(late, rng.geometric(1 / 12, n), 0)
    return {
        "SK_ID_PREV": loans["SK_ID_PREV"][loan],
        "SK_ID_CURR": loans["SK_ID_CURR"][loan],
        "MONTHS_BALANCE": start[loan] + month,
        "CNT_INSTALMENT": term,
        "CNT_INSTALMENT_FUTURE": future,
        "NAME_CONTRACT_STATUS": Text(np.where(future == 0, 1, 0).astype(np.int32), POS_STATUSES),
        "SK_DPD": dpd,
        "SK_DPD_DEF": np.where(rng.random(n) < 0.5, dpd, 0),
    }


def card_balances(
    rng: np.random.Generator, cards: dict[str, np.ndarray], behaviour: np.ndarray, first_client_id: int
) -> dict[str, Column]:
    """One row per month since the card was granted: balance from a per-card utilisation level."""
    counts = np.clip(-np.floor(cards["DAYS_DECISION"] / 30) + 1, 1, MAX_MONTHS).astype(np.int64)
    card = owners(counts)
    back = rank_in_parent(counts)
    n = len(card)
    b = behaviour[cards["SK_ID_CURR"] - first_client_id]
    level = sigmoid(-1.0 + 1.1 * b + rng.normal(0, 0.5, len(counts)))
    limit = np.maximum(np.round(cards["AMT_CREDIT"]), 22500.0)
    use = np.clip(level[card] + rng.normal(0, 0.08, n), 0, 1.05)
    balance = np.round(limit[card] * use, 3)
    minimum = np.round(balance * 0.05, 3)
    pays_minimum = rng.random(n) >= sigmoid(-3.0 + 1.2 * b[card])
    payment = np.round(minimum * np.where(pays_minimum, rng.uniform(1, 3, n), rng.uniform(0, 0.5, n)), 3)
    late = rng.random(n) < sigmoid(-4.0 + 1.4 * b[card])
    dpd = np.where(late, rng.geometric(1 / 15, n), 0)
    out: dict[str, Column] = {
        "SK_ID_PREV": cards["SK_ID_PREV"][card],
        "SK_ID_CURR": cards["SK_ID_CURR"][card],
        "MONTHS_BALANCE": -1.0 - back,
        "AMT_BALANCE": balance,
        "AMT_CREDIT_LIMIT_ACTUAL": limit[card],
        "AMT_INST_MIN_REGULARITY": minimum,
        "AMT_PAYMENT_TOTAL_CURRENT": payment,
        "AMT_RECEIVABLE_PRINCIPAL": np.round(balance * 0.95, 3),
        "AMT_RECIVABLE": balance,
        "AMT_TOTAL_RECEIVABLE": balance,
        "CNT_INSTALMENT_MATURE_CUM": (counts[card] - 1 - back).astype(float),
        "NAME_CONTRACT_STATUS": Text(np.where(rng.random(n) < 0.03, 1, 0).astype(np.int32), CARD_STATUSES),
        "SK_DPD": dpd,
        "SK_DPD_DEF": np.where(rng.random(n) < 0.3, dpd, 0),
    }
    out.update(_drawings(rng, limit[card], payment))
    return out


def _drawings(rng: np.random.Generator, limit: np.ndarray, payment: np.ndarray) -> dict[str, Column]:
    """Monthly drawings split ATM/POS; the detail columns are missing together on some rows."""
    n = len(limit)
    drawn = np.where(rng.random(n) < 0.35, np.round(limit * rng.uniform(0, 0.15, n), 2), 0.0)
    atm = np.where(rng.random(n) < 0.5, drawn, 0.0)
    pos = drawn - atm
    atm_count = np.where(atm > 0, rng.geometric(0.5, n), 0).astype(float)
    pos_count = np.where(pos > 0, rng.geometric(0.3, n), 0).astype(float)
    no_detail = rng.random(n) < CARD_NO_DETAIL_SHARE
    return {
        "AMT_DRAWINGS_ATM_CURRENT": with_missing(atm, no_detail),
        "AMT_DRAWINGS_CURRENT": drawn,
        "AMT_DRAWINGS_OTHER_CURRENT": with_missing(np.zeros(n), no_detail),
        "AMT_DRAWINGS_POS_CURRENT": with_missing(pos, no_detail),
        "AMT_PAYMENT_CURRENT": with_missing(payment, no_detail),
        "CNT_DRAWINGS_ATM_CURRENT": with_missing(atm_count, no_detail),
        "CNT_DRAWINGS_CURRENT": atm_count + pos_count,
        "CNT_DRAWINGS_OTHER_CURRENT": with_missing(np.zeros(n), no_detail),
        "CNT_DRAWINGS_POS_CURRENT": with_missing(pos_count, no_detail),
    }
