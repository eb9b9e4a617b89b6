"""What the monitoring figures cost on a year of decisions: the scrape-time snapshot (realised + estimated
performance over the window, drift, fairness), the vintages, and settling outcome batches.

200,000 decisions spread over twelve months (about 550 a day), half of them settled; outcome batches of
10,000 (the API's maximum), first recorded, then re-sent. `python -m bench monitoring_figures`.
"""

import os
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg2
import psycopg2.extensions
from sqlalchemy.engine import make_url

from services.common.db import drop_database
from services.common.migrations import migrate
from services.common.settings import CommonSettings
from services.contracts.events import DecisionEvent
from services.contracts.outcomes import OutcomeIn
from services.monitoring.estimation import expected_auc
from services.monitoring.events import insert_decisions
from services.monitoring.outcomes import settle
from services.monitoring.settings import MonitoringSettings
from services.monitoring.stats import snapshot
from services.monitoring.vintages import first_of_month, vintages

DECISIONS = 200_000
BATCH = 10_000
DAYS = 365


def run() -> tuple[dict, dict]:
    url = make_url(CommonSettings().database_url).set(database=f"credit_bench_{uuid.uuid4().hex[:12]}")
    database_url = url.render_as_string(hide_password=False)
    try:
        migrate(database_url)
        rng = np.random.default_rng(5)
        pd = rng.beta(1.2, 9.0, DECISIONS)
        now = datetime.now(UTC)
        times = [now - timedelta(days=DAYS * float(f)) for f in rng.random(DECISIONS)]
        ids = [uuid.uuid4().hex for _ in range(DECISIONS)]
        with closing(psycopg2.connect(database_url)) as conn:
            _log(conn, ids, times, pd)
            outcomes = [
                OutcomeIn(client_id=i, defaulted=bool(rng.random() < pd[i]), time=now, request_id=ids[i])
                for i in range(0, DECISIONS, 2)
            ]
            recorded = _settle_all(conn, outcomes)
            resent = _settle_all(conn, outcomes)
            settings = MonitoringSettings(database_url=database_url, performance_window_days=30)
            started = time.perf_counter()
            snapshot(conn, settings)
            snapshot_s = time.perf_counter() - started
            started = time.perf_counter()
            found = vintages(conn, first_of_month(now, 12))
            vintages_s = time.perf_counter() - started
        started = time.perf_counter()
        expected_auc(pd)
        auc_s = time.perf_counter() - started
    finally:
        drop_database(database_url)
    params = {"decisions": DECISIONS, "settled": len(outcomes), "outcome_batch": BATCH,
              "performance_window_days": 30, "load_average_1m": os.getloadavg()[0]}  # fmt: skip
    figures = {
        "snapshot_seconds": round(snapshot_s, 3),
        "vintages_seconds": round(vintages_s, 3),
        "vintages": len(found),
        "expected_auc_seconds_200k": round(auc_s, 4),
        "settle_outcomes_per_second_new": round(len(outcomes) / recorded),
        "settle_outcomes_per_second_resent": round(len(outcomes) / resent),
    }
    return params, figures


def _log(conn: psycopg2.extensions.connection, ids: list[str], times: list[datetime], pd: np.ndarray) -> None:
    features = {"app_ext_source_2": 0.5, "app_code_gender_code": 0.0, "app_age_years": 40.0}
    for start in range(0, len(ids), BATCH):
        events = [
            DecisionEvent(request_id=ids[i], time=times[i], client_id=i, model_version="1", features=features,
                          pd=float(pd[i]), decision="refused" if pd[i] >= 0.3 else "approved", threshold=0.3,
                          latency_ms=10.0, source="client_id")
            for i in range(start, min(start + BATCH, len(ids)))
        ]  # fmt: skip
        with conn.cursor() as cur:
            insert_decisions(cur, events)
        conn.commit()


def _settle_all(conn: psycopg2.extensions.connection, outcomes: list[OutcomeIn]) -> float:
    """Seconds to settle every outcome in API-sized batches, one transaction each."""
    started = time.perf_counter()
    for start in range(0, len(outcomes), BATCH):
        with conn.cursor() as cur:
            settle(cur, outcomes[start : start + BATCH], "bench")
        conn.commit()
    return time.perf_counter() - started
