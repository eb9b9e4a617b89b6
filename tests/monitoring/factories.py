"""Events and frames the monitoring tests publish or store: decisions as the gateway sends them,
reference samples shaped like the ones training logs."""

import json
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import psycopg2
import redis

from services.contracts.events import DecisionEvent
from services.monitoring.events import insert_decisions
from services.monitoring.settings import MonitoringSettings


def decision(
    request_id: str | None = None,
    features: dict[str, float | None] | None = None,
    pd: float = 0.1,
    decision: str | None = None,
    client_id: int | None = 100001,
    model_version: str = "1",
    time: datetime | None = None,
) -> dict[str, object]:
    """A `decisions` stream event as the gateway writes it."""
    return {
        "request_id": request_id or uuid.uuid4().hex,
        "time": (time or datetime.now(UTC)).isoformat(),
        "client_id": client_id,
        "model_version": model_version,
        "features": features if features is not None else {"app_ext_source_2": 0.5, "app_age_years": 40.0},
        "pd": pd,
        "decision": decision or ("refused" if pd >= 0.3 else "approved"),
        "threshold": 0.3,
        "latency_ms": 12.5,
        "source": "client_id",
    }


def publish(client: redis.Redis, stream: str, events: list[dict[str, object]]) -> None:
    pipe = client.pipeline()
    for event in events:
        pipe.xadd(stream, {"data": json.dumps(event)})
    pipe.execute()


def decisions_from_features(
    frame: pl.DataFrame, model_version: str, seed: int, start: datetime | None = None
) -> list[dict[str, object]]:
    """One decision per row of a feature frame (NaN -> null), one second apart, random PD."""
    rng = np.random.default_rng(seed)
    start = start or datetime.now(UTC) - timedelta(hours=1)
    rows = frame.drop("sk_id_curr").fill_nan(None).to_dicts()
    ids = frame["sk_id_curr"].to_list()
    return [
        decision(
            features=row, pd=float(rng.beta(2, 12)), client_id=int(client), model_version=model_version,
            time=start + timedelta(seconds=i),
        )
        for i, (row, client) in enumerate(zip(rows, ids, strict=True))
    ]  # fmt: skip


def write_decisions(settings: MonitoringSettings, events: list[dict[str, object]]) -> None:
    """Straight into the decision log (tests of what is computed from it, not of the consumer)."""
    with closing(psycopg2.connect(settings.database_url)) as conn:
        with conn.cursor() as cur:
            insert_decisions(cur, [DecisionEvent.model_validate(e) for e in events])
        conn.commit()


def count(settings: MonitoringSettings, table: str) -> int:
    with closing(psycopg2.connect(settings.database_url)) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        return int(cur.fetchone()[0])


def reference_from_features(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """A reference sample shaped like the one training logs: features + SK_ID_CURR, TARGET, PD, DECISION."""
    rng = np.random.default_rng(seed)
    pd = rng.beta(2, 12, frame.height)
    return frame.drop("sk_id_curr").with_columns(
        pl.Series("SK_ID_CURR", frame["sk_id_curr"]),
        pl.Series("TARGET", (rng.random(frame.height) < pd).astype(np.int64)),
        pl.Series("PD", pd),
        pl.Series("DECISION", np.where(pd >= 0.3, "refused", "approved")),
    )
