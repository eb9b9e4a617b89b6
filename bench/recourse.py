"""Recourse benchmark: the explainer worker's time per refusal for its offers (raw rows -> searched,
scored, approved offers), p50/p99 against the 500 ms target, and the share of refusals with an offer.

A model trained as `credit train` trains one (loopback/trained.py) on synthetic clients like the
demo's; the refusals are the distinct held-out applications it refuses or sends to review, each run
through the worker's own recourse step (`recourse_of`) as a new applicant's job (raw application and
history in the job, as the gateway queues it: no Postgres read is timed). Every error counts.
"""

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from loopback.trained import train_on
from services.data.synth import generate
from services.explainer.jobs import recourse_of
from services.explainer.schemas import Job
from services.feature_definitions.catalog import NAMES, compute_features
from services.feature_definitions.raw import HISTORY_TABLES, RawTables, spec_for
from services.features.files import labelled_features, read_table
from services.model.model import ScoringModel
from services.model.policy import InputProfile
from services.training.pipeline import CATEGORICAL

CLIENTS = 8_000
SEED = 31
REFUSALS = 250
TARGET_P99_MS = 500.0
FAILED = "No offer could be computed"


def run() -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
        out = Path(tmp)
        generate(CLIENTS, seed=SEED, out=out)
        trained = train_on(labelled_features(out / "application_train.csv", out))
        profile = InputProfile.learn(
            trained.x, NAMES, CATEGORICAL, trained.model.booster.feature_importance("gain")
        )
        model = replace(trained.model, profile=profile)
        raw = RawTables(
            application=read_table(out / "application_test.csv", "application"),
            **{table: read_table(out / f"{spec_for(table).name}.csv", table) for table in HISTORY_TABLES},
        )
    ids = _declined(model, raw)[:REFUSALS]
    seconds, with_offer, failures = [], 0, 0
    for client_id in ids:
        job = _job(raw, client_id)
        started = time.perf_counter()
        try:
            found = recourse_of(model, job, _no_postgres)
        except Exception:  # counted, not fatal: a figure over the rest is still worth having
            failures += 1
            continue
        seconds.append(time.perf_counter() - started)
        failures += found.statement.startswith(FAILED)
        with_offer += bool(found.offers)
    ms = 1000 * np.array(seconds)
    params = {"clients": CLIENTS, "seed": SEED, "refusals": len(ids), "target_p99_ms": TARGET_P99_MS,
              "threads": 1}  # fmt: skip
    figures = {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
        "share_with_offer": round(with_offer / len(ids), 3),
        "failures": failures,
        "load_average": os.getloadavg()[0],
    }
    return params, figures


def _declined(model: ScoringModel, raw: RawTables) -> list[int]:
    features = compute_features(raw)
    _, outcomes = model.decisions(features.select(model.feature_names).to_numpy().astype(np.float64))
    ids = features["sk_id_curr"].to_numpy()
    return [int(i) for i, outcome in zip(ids, outcomes, strict=True) if outcome != "approved"]


def _job(raw: RawTables, client_id: int) -> Job:
    """A new applicant's job as the gateway queues it: Kaggle-named application and history rows."""
    bureau = raw.bureau.filter(pl.col("sk_id_curr") == client_id)

    def rows(table: str) -> list[dict[str, object]]:
        frame = getattr(raw, table)
        keep = (
            pl.col("sk_id_bureau").is_in(bureau["sk_id_bureau"].implode())
            if table == "bureau_balance"
            else pl.col("sk_id_curr") == client_id
        )
        return [{k.upper(): v for k, v in row.items()} for row in frame.filter(keep).iter_rows(named=True)]

    history = {table: rows(table) for table in HISTORY_TABLES}
    return Job(str(client_id), "bench", {}, None, application=rows("application")[0], history=history)


def _no_postgres() -> NoReturn:
    raise AssertionError("the job carries its rows: no Postgres read")
