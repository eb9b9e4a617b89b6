"""Previous Home Credit applications (`previous_application`).

Vocabularies are drawn per product (cash, consumer/POS, revolving card) from the real rows, so the
XAP/XNA placeholders sit where they do in Kaggle. Worse payers are refused more often. Approved loans
get the due dates (365243 when still open) that the repayment tables hang off.
"""

import numpy as np

from services.data.synth.profile import Column, Text, number, profile, spec, text, with_missing
from services.data.synth.rows import child_counts, owners, sigmoid

TABLE = "previous_application"
NO_PREVIOUS_SHARE = 0.05
PREVIOUS_IF_ANY = 4.93
HISTORY_DAYS = 2922
DECISION_SCALE_DAYS = 880.0
CONTRACT_TYPES = ("Cash loans", "Consumer loans", "Revolving loans")
CONTRACT_WEIGHTS = (0.445, 0.44, 0.115)
STATUSES = ("Approved", "Canceled", "Refused", "Unused offer")
TERMS = np.array([6, 10, 12, 18, 24, 30, 36, 48, 60], dtype=float)
TERM_WEIGHTS = np.array([0.26, 0.14, 0.3, 0.06, 0.13, 0.02, 0.05, 0.02, 0.02])
BY_PRODUCT = (
    "WEEKDAY_APPR_PROCESS_START",
    "FLAG_LAST_APPL_PER_CONTRACT",
    "NAME_CASH_LOAN_PURPOSE",
    "NAME_PAYMENT_TYPE",
    "NAME_TYPE_SUITE",
    "NAME_CLIENT_TYPE",
    "NAME_GOODS_CATEGORY",
    "NAME_PORTFOLIO",
    "NAME_PRODUCT_TYPE",
    "CHANNEL_TYPE",
    "NAME_SELLER_INDUSTRY",
    "NAME_YIELD_GROUP",
    "PRODUCT_COMBINATION",
)
PROFILED = (
    "HOUR_APPR_PROCESS_START",
    "NFLAG_LAST_APPL_IN_DAY",
    "RATE_INTEREST_PRIMARY",
    "RATE_INTEREST_PRIVILEGED",
    "SELLERPLACE_AREA",
)


def by_product(rng: np.random.Generator, product: np.ndarray, column: str) -> Text:
    """A text column drawn from the vocabulary of each row's product, on one shared vocabulary."""
    specs = profile()["tables"][TABLE]["by_contract_type"]
    vocab = tuple(dict.fromkeys(v for kind in CONTRACT_TYPES for v in specs[kind][column]["values"]))
    codes = np.full(len(product), -1, dtype=np.int32)
    u, missing_u = rng.random(len(product)), rng.random(len(product))
    for index, kind in enumerate(CONTRACT_TYPES):
        rows = product == index
        column_spec = specs[kind][column]
        drawn = text(rng, column_spec, int(rows.sum()), u[rows])
        mapped = np.array([vocab.index(v) for v in drawn.vocab], dtype=np.int32)[drawn.codes]
        codes[rows] = np.where(missing_u[rows] < column_spec["missing"], -1, mapped)
    return Text(codes, vocab)


def _status(rng: np.random.Generator, b: np.ndarray, product: np.ndarray) -> np.ndarray:
    """Refusals follow payment behaviour (about 17% overall); unused offers only on consumer loans."""
    u = rng.random(len(b))
    refused = rng.random(len(b)) < sigmoid(-1.9 + 0.9 * b)
    status = np.select([u < 0.19, (u < 0.21) & (product == 1)], [1, 3], default=0)
    return np.where(refused, 2, status)


def applications(
    rng: np.random.Generator, behaviour: np.ndarray, client_ids: np.ndarray, first_id: int
) -> dict[str, Column]:
    """One row per previous application; SK_ID_PREV numbered from `first_id`."""
    counts = child_counts(rng, behaviour, NO_PREVIOUS_SHARE, PREVIOUS_IF_ANY, 0.15)
    owner = owners(counts)
    n = len(owner)
    product = rng.choice(len(CONTRACT_TYPES), size=n, p=CONTRACT_WEIGHTS)
    status = _status(rng, behaviour[owner], product)
    out: dict[str, Column] = {
        "SK_ID_PREV": first_id + np.arange(n),
        "SK_ID_CURR": client_ids[owner],
        "NAME_CONTRACT_TYPE": Text(product.astype(np.int32), CONTRACT_TYPES),
        "NAME_CONTRACT_STATUS": Text(status.astype(np.int32), STATUSES),
        "CODE_REJECT_REASON": _reject_reason(rng, status),
        "DAYS_DECISION": -np.ceil(np.minimum(rng.exponential(DECISION_SCALE_DAYS, n), HISTORY_DAYS - 1)),
    }
    out.update({c: by_product(rng, product, c) for c in BY_PRODUCT})
    out.update(
        {
            c: with_missing(
                number(rng, spec(TABLE, c), rng.random(n)), rng.random(n) < spec(TABLE, c)["missing"]
            )
            for c in PROFILED
        }
    )
    out.update(amounts(rng, product, status))
    out.update(due_dates(rng, out["DAYS_DECISION"], out["CNT_PAYMENT"], product, status))
    return out


def _reject_reason(rng: np.random.Generator, status: np.ndarray) -> Text:
    reason_spec = spec(TABLE, "CODE_REJECT_REASON")
    weights = [
        0.0 if v == "XAP" else w for v, w in zip(reason_spec["values"], reason_spec["weights"], strict=True)
    ]
    drawn = text(rng, {**reason_spec, "weights": weights}, len(status))
    xap = drawn.vocab.index("XAP")
    return Text(np.where(status == 2, drawn.codes, xap).astype(np.int32), drawn.vocab)


def amounts(rng: np.random.Generator, product: np.ndarray, status: np.ndarray) -> dict[str, Column]:
    """Asked amount, granted credit, down payment, goods price, term and annuity per product."""
    n = len(product)
    cash, consumer, revolving = product == 0, product == 1, product == 2
    asked = number(rng, spec(TABLE, "AMT_APPLICATION"), 0.3 + 0.7 * rng.random(n))
    limit = number(rng, spec("credit_card_balance", "AMT_CREDIT_LIMIT_ACTUAL"), 0.2 + 0.8 * rng.random(n))
    asked = np.where(revolving, limit, asked)
    credit = np.round(asked * np.where(cash, rng.uniform(1.0, 1.2, n), 1.0), 1)
    has_down = consumer & (rng.random(n) < 0.5)
    down = np.where(has_down, np.round(asked * rng.uniform(0.0, 0.25, n), 1), 0.0)
    term = rng.choice(TERMS, size=n, p=TERM_WEIGHTS)
    term = np.where(revolving, 0.0, term)
    rate = rng.uniform(0.1, 0.35, n)
    annuity = np.where(
        revolving, np.round(credit * 0.05, 3), np.round((credit - down) * (1 + rate) / np.maximum(term, 1), 3)
    )
    canceled = status == 1
    return {
        "AMT_APPLICATION": np.where(canceled & ~consumer, 0.0, asked),
        "AMT_CREDIT": np.where(canceled & ~consumer, 0.0, credit - down),
        "AMT_DOWN_PAYMENT": np.where(consumer, down, np.nan),
        "RATE_DOWN_PAYMENT": np.where(consumer, down / np.maximum(asked, 1.0), np.nan),
        "AMT_GOODS_PRICE": np.where(revolving | canceled, np.nan, asked),
        "CNT_PAYMENT": np.where(canceled, np.nan, term),
        "AMT_ANNUITY": np.where(canceled, np.nan, annuity),
    }


def due_dates(
    rng: np.random.Generator, decision: np.ndarray, term: np.ndarray, product: np.ndarray, status: np.ndarray
) -> dict[str, Column]:
    """Approved loans only: first/last due and termination; 365243 marks dates still in the future."""
    n = len(decision)
    approved = status == 0
    first_due = decision + np.where(product == 2, 0.0, 30.0)
    last_due_first_version = first_due + 30.0 * np.nan_to_num(np.maximum(term - 1, 0))
    open_ended = (product == 2) | (last_due_first_version > 0)
    last_due = np.where(open_ended, 365243.0, last_due_first_version)
    terminated = np.where(open_ended, 365243.0, last_due + np.floor(rng.uniform(0, 10, n)))
    drawn_in_past = rng.random(n) < 0.04
    first_drawing = np.where(drawn_in_past, decision + 1.0, 365243.0)
    insured = (rng.random(n) < 0.33).astype(float)
    return {
        "DAYS_FIRST_DRAWING": np.where(approved, first_drawing, np.nan),
        "DAYS_FIRST_DUE": np.where(approved, np.where(product == 2, 365243.0, first_due), np.nan),
        "DAYS_LAST_DUE_1ST_VERSION": np.where(
            approved, np.where(product == 2, 365243.0, last_due_first_version), np.nan
        ),
        "DAYS_LAST_DUE": np.where(approved, last_due, np.nan),
        "DAYS_TERMINATION": np.where(approved, terminated, np.nan),
        "NFLAG_INSURED_ON_APPROVAL": np.where(approved, insured, np.nan),
    }
