"""Gateway latency and throughput: `POST /v1/scores` by client id through every hop (auth, rate limit,
features, scoring, explanation queued in Redis, decision logged) against uvicorn processes.

p50/p99 come from sequential requests (one at a time: the latency a single front-office call sees); rps
from CONCURRENCY requests in flight. No explainer worker runs, so explanations only queue (their SHAP work
would compete for the same cores). `python -m bench gateway`.
"""

import asyncio
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy.engine import make_url

from bench.explainer import start_mlflow
from services.common.db import drop_database, make_engine
from services.common.settings import CommonSettings
from services.gateway.key_store import create_key

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' platform helpers
from gateway.platform import Platform, running_platform

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
WARMUP = 200
SEQUENTIAL = 1000
CONCURRENT = 3000
CONCURRENCY = 8  # requests in flight: about what two cores serve without queueing past the 2 s budget


async def _score(client: httpx.AsyncClient, client_id: int) -> tuple[float, int]:
    """(seconds, HTTP status; 0 when the request itself failed, e.g. timed out)."""
    started = time.perf_counter()
    try:
        status = (await client.post("/v1/scores", json={"client_id": client_id})).status_code
    except httpx.HTTPError:
        status = 0
    return time.perf_counter() - started, status


async def _measure(platform: Platform, key: str) -> dict[str, object]:
    ids = random.Random(3).choices(platform.client_ids, k=WARMUP + SEQUENTIAL + CONCURRENT)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=platform.gateway.url, headers={"X-API-Key": key}, limits=limits, timeout=10
    ) as client:
        for client_id in ids[:WARMUP]:
            await _score(client, client_id)
        sequential = [await _score(client, i) for i in ids[WARMUP : WARMUP + SEQUENTIAL]]
        queue = iter(ids[WARMUP + SEQUENTIAL :])
        concurrent: list[tuple[float, int]] = []

        async def user() -> None:
            for client_id in queue:
                concurrent.append(await _score(client, client_id))

        started = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(CONCURRENCY)))
        wall = time.perf_counter() - started
    latencies = np.array([seconds for seconds, _ in sequential]) * 1000
    return {
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
        "rps": round(CONCURRENT / wall, 1),
        "errors": sum(status != 200 for _, status in sequential + concurrent),
        "error_statuses": dict(Counter(status for _, status in sequential + concurrent if status != 200)),
        "concurrent_p50_ms": round(float(np.percentile([s for s, _ in concurrent], 50)) * 1000, 2),
    }


def run() -> tuple[dict, dict]:
    base = make_url(CommonSettings().database_url)
    mlflow_db = base.set(database=f"mlflow_bench_{uuid.uuid4().hex[:12]}").render_as_string(
        hide_password=False
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mlflow_process, mlflow_uri = start_mlflow(work, mlflow_db)
        try:
            with running_platform(REAL_DATA, work / "platform", mlflow_uri, "100000/second", False) as up:
                engine = make_engine(up.database_url)
                key = create_key(engine, "bench", ["score"], None)[1]
                engine.dispose()
                figures = asyncio.run(_measure(up, key))
        finally:
            mlflow_process.terminate()
            mlflow_process.wait(timeout=60)
            drop_database(mlflow_db)
    params = {
        "clients": 250,
        "sequential": SEQUENTIAL,
        "concurrent": CONCURRENT,
        "concurrency": CONCURRENCY,
        "gateway_workers": 1,
        "explainer_worker": False,
    }
    return params, figures
