"""Loader throughput: generate a synthetic set, then time `load_directory` into a throwaway database.

The schema is migrated before the clock starts, so the figures are the load itself (read, check, COPY,
index upkeep, commit). `python -m bench load`; BENCH_LOAD_CLIENTS overrides the number of clients.
The machine's load average is recorded with the figures: other work on the cores slows COPY down.
"""

import os
import tempfile
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from services.common.db import drop_database
from services.common.migrations import migrate
from services.common.settings import CommonSettings
from services.data.loader import LoadSummary, load_directory
from services.data.synth import generate

CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "50000"))
SEED = 7


def run() -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory(prefix="bench_load_") as folder:
        generate(CLIENTS, SEED, Path(folder), fmt="csv")
        summary = _timed_load(Path(folder))
    params = {"clients": CLIENTS, "format": "csv", "seed": SEED, "load_average_1m": os.getloadavg()[0]}
    return params, _figures(summary)


def _timed_load(directory: Path) -> LoadSummary:
    base = make_url(CommonSettings().database_url)
    url = base.set(database=f"credit_bench_{uuid.uuid4().hex[:12]}").render_as_string(hide_password=False)
    migrate(url)
    try:
        return load_directory(url, directory)
    finally:
        drop_database(url)


def _figures(summary: LoadSummary) -> dict:
    by_table = {t.table: t for t in summary.tables}
    balance = by_table["bureau_balance"]
    return {
        "rows": summary.loaded,
        "rejected": summary.rejected,
        "seconds": round(summary.seconds, 2),
        "rows_per_s": round(summary.loaded / summary.seconds),
        "bureau_balance_rows": balance.loaded,
        "bureau_balance_rows_per_s": round(balance.loaded / balance.seconds),
        "rows_by_table": {name: t.loaded for name, t in by_table.items()},
        "seconds_by_table": {name: round(t.seconds, 2) for name, t in by_table.items()},
    }
