"""Recourse benchmark: the explainer worker's time per refusal for its offers (raw rows -> searched,
scored, approved offers), p50/p99 against the 500 ms target, and the share of refusals with an offer.

A model trained as `credit train` trains one (loopback/trained.py) on the demo's data (`make demo`
bootstraps 5,000 synthetic clients with seed 42); the applicants are its held-out applications, each
declined one run through the worker's own recourse step (`recourse_of`) as a new applicant's job (raw
application and history in the job, as the gateway queues it: no Postgres read is timed). Every error
counts. The shares are given per outcome (refused, review), on the demo's data and again for a model on
the 5,000 real applications (application fields only: the real history rows do not join them).
"""

import os
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import numpy as np
from threadpoolctl import threadpool_limits

from loopback.applicants import (
    Applicants,
    declined,
    kaggle_rows,
    one_client,
    trained_on_real,
    trained_on_synthetic,
)
from services.contracts.explanations import Recourse
from services.explainer.jobs import recourse_of
from services.explainer.schemas import Job
from services.feature_definitions.raw import HISTORY_TABLES

CLIENTS = int(os.environ.get("BENCH_RECOURSE_CLIENTS", "5000"))  # the demo's bootstrap
SEED = 42
REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
TARGET_P99_MS = 500.0
FAILED = "No offer could be computed"
OUTCOMES = ("refused", "review")


def run() -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
        demo = trained_on_synthetic(Path(tmp) / "demo", seed=SEED, clients=CLIENTS)
        real = trained_on_real(REAL_DATA, Path(tmp) / "real")
    searched = {outcome: _searched(demo, outcome) for outcome in OUTCOMES}
    seconds = [s for found in searched.values() for s, _ in found if s is not None]
    ms = 1000 * np.array(seconds)
    failures = sum(
        s is None or r.statement.startswith(FAILED) for found in searched.values() for s, r in found
    )
    params = {"clients": CLIENTS, "seed": SEED, "target_p99_ms": TARGET_P99_MS, "threads": 1,
              "declined": {outcome: len(found) for outcome, found in searched.items()}}  # fmt: skip
    figures = {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
        "failures": failures,
        "demo_share_with_offer": {outcome: _share(found) for outcome, found in searched.items()},
        "real_share_with_offer": {outcome: _share(_searched(real, outcome)) for outcome in OUTCOMES},
        "load_average": os.getloadavg()[0],
    }
    return params, figures


def _searched(applicants: Applicants, outcome: str) -> list[tuple[float | None, Recourse | None]]:
    """(worker seconds, recourse) for every held-out applicant with this outcome; (None, None) on an error."""
    found: list[tuple[float | None, Recourse | None]] = []
    for client_id in declined(applicants.trained, applicants.raw, (outcome,)):
        job = _job(applicants, client_id)
        started = time.perf_counter()
        try:
            recourse = recourse_of(applicants.trained.model, job, _no_postgres)
        except Exception:  # counted, not fatal: a figure over the rest is still worth having
            found.append((None, None))
            continue
        found.append((time.perf_counter() - started, recourse))
    return found


def _share(found: list[tuple[float | None, Recourse | None]]) -> dict[str, float | int]:
    offered = sum(bool(recourse and recourse.offers) for _, recourse in found)
    return {"declined": len(found), "with_offer": offered, "share": round(offered / max(len(found), 1), 3)}


def _job(applicants: Applicants, client_id: int) -> Job:
    """A new applicant's job as the gateway queues it: Kaggle-named application and history rows."""
    client = one_client(applicants.raw, client_id)
    history = {table: kaggle_rows(getattr(client, table)) for table in HISTORY_TABLES}
    application = kaggle_rows(client.application.drop("target", strict=False))[0]
    return Job(str(client_id), "bench", {}, None, application=application, history=history)


def _no_postgres() -> NoReturn:
    raise AssertionError("the job carries its rows: no Postgres read")
