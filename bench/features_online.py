"""Features service latency: GET /features/{id} over keep-alive HTTP against a uvicorn process.

Two paths: materialised vectors (the hot path) and clients computed on the fly from their raw rows.
`python -m bench features_online`; BENCH_ONLINE_CLIENTS sets the synthetic population (default 20,000).
"""

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import numpy as np

from bench.features_build import synthetic_database
from services.common.db import raw_connection
from services.feature_store.build import build

CLIENTS = int(os.environ.get("BENCH_ONLINE_CLIENTS", "20000"))
SEED = 5
REQUESTS = 3000
COMPUTED_CLIENTS = 300
CONCURRENCY = 4


def run() -> tuple[dict, dict]:
    with synthetic_database(CLIENTS, SEED) as url:
        build(url)
        ids = _client_ids(url)
        unmaterialised = ids[:COMPUTED_CLIENTS]
        _forget_vectors(url, unmaterialised)
        materialised = ids[COMPUTED_CLIENTS:]
        with _service(url) as base:
            chosen = random.Random(1).choices(materialised, k=REQUESTS)
            figures = {
                "materialised": _latencies(base, [f"/features/{i}" for i in chosen]),
                "on_the_fly": _latencies(base, [f"/features/{i}" for i in unmaterialised]),
                "healthz_floor": _latencies(base, ["/healthz"] * REQUESTS),
                "rps_materialised": _throughput(base, materialised),
            }
    params = {"clients": CLIENTS, "requests": REQUESTS, "concurrency_for_rps": CONCURRENCY}
    return params, figures


def _client_ids(url: str) -> list[int]:
    with raw_connection(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT sk_id_curr FROM feature_values ORDER BY sk_id_curr")
        return [row[0] for row in cur.fetchall()]


def _forget_vectors(url: str, client_ids: list[int]) -> None:
    with raw_connection(url) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM feature_values WHERE sk_id_curr = ANY(%s)", (client_ids,))


@contextmanager
def _service(url: str) -> Iterator[str]:
    """uvicorn serving the features app on a free local port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", "services.features.app:app", "--port", str(port)]
    env = {**os.environ, "DATABASE_URL": url}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("features service did not become ready within 30 s")


def _latencies(base: str, paths: list[str]) -> dict[str, float]:
    """Sequential GETs over one keep-alive connection; /healthz gives the HTTP floor of this machine."""
    timings = []
    with httpx.Client(base_url=base) as client:
        client.get(paths[0]).raise_for_status()  # warm the connection and pool
        for path in paths:
            started = time.perf_counter()
            client.get(path).raise_for_status()
            timings.append(time.perf_counter() - started)
    ms = np.array(timings) * 1000
    return {
        "requests": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
    }


def _throughput(base: str, client_ids: list[int]) -> float:
    def worker(seed: int) -> int:
        chosen = random.Random(seed).choices(client_ids, k=REQUESTS // CONCURRENCY)
        with httpx.Client(base_url=base) as client:
            for client_id in chosen:
                client.get(f"/features/{client_id}").raise_for_status()
        return len(chosen)

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        done = sum(pool.map(worker, range(CONCURRENCY)))
    return round(done / (time.perf_counter() - started), 1)
