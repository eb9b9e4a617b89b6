"""Gateway latency and throughput: `POST /v1/scores` by client id through every hop (auth, rate limit,
features, scoring, explanation claimed and queued, decision logged) against uvicorn processes, loaded by wrk.

p50/p99 come from one connection (one request at a time: the latency a single front-office call sees);
rps from CONCURRENCY connections, each sending its next request as soon as the last is answered. Errors
count every non-2xx answer and socket error of both phases. CPU per request of each service (concurrent
phase, from /proc) is printed too: on a shared machine it moves much less than req/s. No explainer worker
runs, so explanations only queue (their SHAP work would compete for the same cores). Redis keeps its
append-only file with an fsync every second, as deployed by docker-compose.yml (the tests fsync every
write).
`python -m bench gateway`; BENCH_GATEWAY_SECONDS sets each phase's length.
"""

import json
import os
import random
import tempfile
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from bench._measure import cpu_seconds
from bench._wrk import WrkRequest, load
from bench.explainer import start_mlflow
from loopback.platform import Platform, running_platform
from services.common.db import drop_database, make_engine
from services.common.settings import CommonSettings
from services.gateway.key_store import create_key

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
SECONDS = float(os.environ.get("BENCH_GATEWAY_SECONDS", "15"))
WARMUP_SECONDS = 3
REQUESTS = 5000  # request bodies cycled by wrk, each a random one of the known clients
CONCURRENCY = 8  # connections for the throughput phase


def _measure(platform: Platform, key: str) -> dict[str, object]:
    ids = random.Random(3).choices(platform.client_ids, k=REQUESTS)
    requests = [WrkRequest("POST", "/v1/scores", json.dumps({"client_id": i})) for i in ids]
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    url = platform.gateway.url
    load(url, requests, headers, WARMUP_SECONDS, CONCURRENCY)
    sequential = load(url, requests, headers, SECONDS, 1)
    services = {s.name: s.process.pid for s in (platform.gateway, platform.features, platform.scoring)}
    before = {name: cpu_seconds(pid) for name, pid in services.items()}
    concurrent = load(url, requests, headers, SECONDS, CONCURRENCY)
    cpu_ms = {
        name: round(1000 * (cpu_seconds(pid) - before[name]) / concurrent["requests"], 3)
        for name, pid in services.items()
    }
    return {
        "p50_ms": sequential["p50_ms"],
        "p99_ms": sequential["p99_ms"],
        "rps": concurrent["rps"],
        "errors": sequential["errors"] + concurrent["errors"],
        "sequential": sequential,
        "concurrent": concurrent,
        "cpu_ms_per_request": cpu_ms,
        "load_average_1m": round(os.getloadavg()[0], 1),
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
            with running_platform(
                REAL_DATA, work / "platform", mlflow_uri, "100000/second", False, "everysec"
            ) as up:
                engine = make_engine(up.database_url)
                key = create_key(engine, "bench", ["score"], None)[1]
                engine.dispose()
                figures = _measure(up, key)
        finally:
            mlflow_process.terminate()
            mlflow_process.wait(timeout=60)
            drop_database(mlflow_db)
    params = {
        "clients": 250,
        "seconds_per_phase": SECONDS,
        "concurrency": CONCURRENCY,
        "load_generator": "wrk",
        "gateway_workers": 1,
        "explainer_worker": False,
    }
    return params, figures
