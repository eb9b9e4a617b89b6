"""`credit features build` at Kaggle scale: wall time and peak memory of the build process.

`python -m bench features_build`; BENCH_FEATURES_CLIENTS overrides the 307,511 training clients (the
generator adds test applications and all history tables in Kaggle's proportions). Generation and
loading happen first and are not timed. The child prints its read/compute/write split.
"""

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from bench._measure import run_measured
from services.common.db import drop_database, raw_connection
from services.common.migrations import migrate
from services.common.settings import CommonSettings
from services.data.loader import load_directory
from services.data.synth import generate
from services.data.tables import TABLES
from services.feature_definitions.catalog import FEATURE_SET_HASH

CLIENTS = int(os.environ.get("BENCH_FEATURES_CLIENTS", "307511"))
SEED = 11


def run() -> tuple[dict, dict]:
    credit = str(Path(sys.executable).with_name("credit"))
    with synthetic_database(CLIENTS, SEED) as url:
        os.environ["DATABASE_URL"] = url  # the child reads it, as a user's shell would pass it
        try:
            seconds, peak_rss_mb = run_measured([credit, "features", "build"])
        finally:
            del os.environ["DATABASE_URL"]
        clients, features, raw_rows = _built(url)
    figures = {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_rss_mb),
        "clients": clients,
        "features": features,
        "raw_rows": raw_rows,
    }
    return {"training_clients": CLIENTS, "seed": SEED}, figures


def _built(url: str) -> tuple[int, int, int]:
    """(clients, features) of the built set and the raw rows it was computed from."""
    with raw_connection(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT client_count, cardinality(names) FROM feature_sets WHERE feature_set_hash = %s",
            (FEATURE_SET_HASH,),
        )
        clients, features = cur.fetchone()
        counts = " + ".join(f"(SELECT count(*) FROM {t.name.lower()})" for t in TABLES)
        cur.execute(f"SELECT {counts}")
        return clients, features, int(cur.fetchone()[0])


@contextmanager
def synthetic_database(clients: int, seed: int) -> Iterator[str]:
    """Generate `clients` synthetic applications with their history, load them, yield the URL, drop it."""
    with synthetic_files(clients, seed, "csv") as folder, loaded_database(folder) as url:
        yield url


@contextmanager
def synthetic_files(clients: int, seed: int, fmt: str) -> Iterator[Path]:
    """A temporary folder of the eight Kaggle tables (and the oracle) for `clients` training clients."""
    with tempfile.TemporaryDirectory(prefix="bench_features_") as name:
        generate(clients, seed, Path(name), fmt=fmt)
        yield Path(name)


@contextmanager
def loaded_database(folder: Path) -> Iterator[str]:
    """A throwaway database with `folder`'s tables loaded; dropped afterwards."""
    base = make_url(CommonSettings().database_url)
    url = base.set(database=f"credit_bench_{uuid.uuid4().hex[:12]}").render_as_string(hide_password=False)
    migrate(url)
    try:
        load_directory(url, folder)
        yield url
    finally:
        drop_database(url)
