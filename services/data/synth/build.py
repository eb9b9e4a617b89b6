"""Generate all eight Kaggle tables plus oracle.csv, client chunk by client chunk.

Each chunk of clients has its own random streams (seeded by the seed and the chunk number), so output
is deterministic for a seed and memory stays bounded at any scale. Test clients are extra clients,
spread evenly through the id range, with their own history.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.data.synth import bureau, previous, repayments
from services.data.synth.application import applications
from services.data.synth.drift import drift_applications, drift_bureau, drift_installments
from services.data.synth.profile import Column, Text, kinds
from services.data.synth.target import true_pd
from services.data.synth.writer import TableWriter
from services.data.tables import TABLES

CHUNK_CLIENTS = 25_000
TEST_PER_TRAIN = 48_744 / 307_511
FIRST_CLIENT_ID = 100_001
FIRST_BUREAU_ID = 5_000_000
FIRST_PREVIOUS_ID = 1_000_000
PAYMENT_BEHAVIOUR_WEIGHT = 0.7  # correlation of payment behaviour with the risk behind the scores
ORACLE = "oracle"
FORMATS = ("csv", "parquet")


@dataclass
class Counters:
    """Next free id per numbered table, carried from chunk to chunk."""

    bureau: int = FIRST_BUREAU_ID
    previous: int = FIRST_PREVIOUS_ID


def layouts() -> dict[str, dict[str, str]]:
    """Output columns and print kinds per file, in Kaggle order."""
    out = {}
    for table in TABLES:
        profiled = kinds("application" if table.name.startswith("application") else table.name)
        out[table.name] = {c: profiled[c] for c in table.columns}
    out[ORACLE] = {"SK_ID_CURR": "int", "TRUE_PD": "float"}
    return out


def test_mask(start: int, size: int, total: int, test_clients: int) -> np.ndarray:
    """Exactly `test_clients` of `total` clients are test clients, evenly spread."""
    index = np.arange(start, start + size, dtype=np.int64)
    return ((index + 1) * test_clients) // total - (index * test_clients) // total == 1


def history(
    streams: list[np.random.Generator], behaviour: np.ndarray, ids: np.ndarray, counters: Counters
) -> dict[str, dict[str, Column]]:
    credits = bureau.credits(streams[0], behaviour, ids, counters.bureau)
    prev = previous.applications(streams[1], behaviour, ids, counters.previous)
    counters.bureau += len(credits["SK_ID_BUREAU"])
    counters.previous += len(prev["SK_ID_PREV"])
    loans, cards = repayments.instalment_loans(prev), repayments.cards(prev)
    first = int(ids[0])
    card_rows = repayments.card_balances(streams[5], cards, behaviour, first)
    return {
        "bureau": credits,
        "bureau_balance": bureau.balances(streams[2], credits, behaviour, first),
        "previous_application": prev,
        "POS_CASH_balance": repayments.pos_cash(streams[3], loans, behaviour, first),
        "installments_payments": repayments.installments(streams[4], loans, card_rows, behaviour, first),
        "credit_card_balance": card_rows,
    }


def chunk(
    seed: int, number: int, ids: np.ndarray, is_test: np.ndarray, counters: Counters, drift: bool
) -> dict[str, dict[str, Column]]:
    """All rows of one chunk of clients, keyed by output file stem."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, number]).spawn(9)]
    risk = streams[0].standard_normal(len(ids))
    noise = streams[0].standard_normal(len(ids))
    behaviour = PAYMENT_BEHAVIOUR_WEIGHT * risk + np.sqrt(1 - PAYMENT_BEHAVIOUR_WEIGHT**2) * noise
    app = applications(streams[1], risk)
    tables = history(streams[2:8], behaviour, ids, counters)
    if drift:
        app = drift_applications(app)
        tables["bureau"] = drift_bureau(tables["bureau"])
        tables["installments_payments"] = drift_installments(tables["installments_payments"])
    pd_true = true_pd(app, tables, int(ids[0]))
    target = (streams[8].random(len(ids)) < pd_true).astype(np.int64)
    app = {**app, "SK_ID_CURR": ids, "TARGET": target}
    tables["application_train"] = _rows(app, ~is_test)
    tables["application_test"] = _rows(app, is_test)
    tables[ORACLE] = {"SK_ID_CURR": ids, "TRUE_PD": pd_true}
    return tables


def _rows(columns: dict[str, Column], mask: np.ndarray) -> dict[str, Column]:
    return {c: Text(v.codes[mask], v.vocab) if isinstance(v, Text) else v[mask] for c, v in columns.items()}


def generate(clients: int, seed: int, out: Path, fmt: str = "csv", drift: bool = False) -> dict[str, int]:
    """Write every table for `clients` training clients (plus ~16% test clients); rows per file."""
    if clients < 1:
        raise ValueError(f"clients must be at least 1, got {clients}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    test_clients = round(clients * TEST_PER_TRAIN)
    total = clients + test_clients
    counters = Counters()
    with TableWriter(out, fmt, layouts()) as writer:
        for number, start in enumerate(range(0, total, CHUNK_CLIENTS)):
            size = min(CHUNK_CLIENTS, total - start)
            ids = FIRST_CLIENT_ID + np.arange(start, start + size, dtype=np.int64)
            tables = chunk(seed, number, ids, test_mask(start, size, total, test_clients), counters, drift)
            for table, columns in tables.items():
                writer.write(table, columns)
    return writer.rows
