"""Drift job time: a 20,000-decision window with every feature against a 5,000-row reference sample.

Both sets go through the real pipeline (`credit data synth`, `credit data load`, the features' batch
compute); the window is drifted traffic logged as decisions. The clock covers what a job does after
fetching the reference sample: read the window from Postgres, test every feature, render the Evidently
report, store the run. `python -m bench drift_job`.
"""

import os
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path

import numpy as np
import polars as pl
import psycopg2
from sqlalchemy.engine import make_url

from services.common.db import drop_database
from services.common.migrations import migrate
from services.common.settings import CommonSettings
from services.contracts.events import DecisionEvent
from services.data.loader import load_directory
from services.data.synth import generate
from services.feature_definitions.catalog import compute_features
from services.feature_definitions.raw import read_raw
from services.monitoring import drift_store
from services.monitoring.drift_job import compare_version
from services.monitoring.events import insert_decisions
from services.monitoring.settings import MonitoringSettings
from services.training.tracking import REFERENCE_ROWS

WINDOW_ROWS = 20_000
VERSION = "1"
INSERT_BATCH = 1_000


def run() -> tuple[dict, dict]:
    reference_url, window_url = _throwaway_url(), _throwaway_url()
    try:
        reference = _reference(_features(reference_url, REFERENCE_ROWS, seed=1, drift=False))
        window = _features(window_url, WINDOW_ROWS, seed=2, drift=True).head(WINDOW_ROWS)
        _log_decisions(window_url, window)
        settings = MonitoringSettings(database_url=window_url, drift_window_rows=WINDOW_ROWS)
        with closing(psycopg2.connect(window_url)) as conn:
            started = time.perf_counter()
            run_id = compare_version(conn, settings, VERSION, reference)
            seconds = time.perf_counter() - started
            stored = drift_store.get_run(conn, run_id, top=5)
    finally:
        drop_database(reference_url)
        drop_database(window_url)
    params = {"window_rows": WINDOW_ROWS, "reference_rows": reference.height, "report_features":
              settings.drift_report_features, "load_average_1m": os.getloadavg()[0]}  # fmt: skip
    figures = {
        "seconds": round(seconds, 2),
        "rows": stored["current_rows"],
        "features": stored["features_tested"],
        "drifted_features": stored["drifted_features"],
        "drift_share": round(stored["drift_share"], 4),
        "score_psi": round(stored["score_psi"], 4),
    }
    return params, figures


def _throwaway_url() -> str:
    base = make_url(CommonSettings().database_url)
    return base.set(database=f"credit_bench_{uuid.uuid4().hex[:12]}").render_as_string(hide_password=False)


def _features(url: str, clients: int, seed: int, drift: bool) -> pl.DataFrame:
    """Feature vectors of a synthetic set, loaded into `url` and computed like the batch build does."""
    migrate(url)
    with tempfile.TemporaryDirectory(prefix="bench_drift_") as folder:
        generate(clients, seed, Path(folder), "csv", drift)
        load_directory(url, Path(folder))
    return compute_features(read_raw(url))


def _reference(features: pl.DataFrame) -> pl.DataFrame:
    """Shaped like training's reference sample: features + SK_ID_CURR, TARGET, PD, DECISION."""
    rng = np.random.default_rng(1)
    sample = features.head(REFERENCE_ROWS)
    pd = rng.beta(2, 12, sample.height)
    return sample.drop("sk_id_curr").with_columns(
        pl.Series("SK_ID_CURR", sample["sk_id_curr"]),
        pl.Series("TARGET", (rng.random(sample.height) < pd).astype(np.int64)),
        pl.Series("PD", pd),
        pl.Series("DECISION", np.where(pd >= 0.3, "refused", "approved")),
    )


def _log_decisions(url: str, window: pl.DataFrame) -> None:
    rng = np.random.default_rng(2)
    rows = window.drop("sk_id_curr").fill_nan(None).to_dicts()
    pds = rng.beta(2.5, 11, len(rows))
    with closing(psycopg2.connect(url)) as conn:
        for start in range(0, len(rows), INSERT_BATCH):
            events = [
                DecisionEvent(
                    request_id=uuid.uuid4().hex, time=f"2026-01-01T00:00:{i % 60:02d}+00:00",
                    client_id=int(client), model_version=VERSION, features=row, pd=float(pd),
                    decision="refused" if pd >= 0.3 else "approved", threshold=0.3, latency_ms=10.0,
                    source="client_id",
                )
                for i, row, client, pd in zip(
                    range(start, start + INSERT_BATCH), rows[start : start + INSERT_BATCH],
                    window["sk_id_curr"][start : start + INSERT_BATCH], pds[start : start + INSERT_BATCH],
                    strict=False,
                )
            ]  # fmt: skip
            with conn.cursor() as cur:
                insert_decisions(cur, events)
            conn.commit()
