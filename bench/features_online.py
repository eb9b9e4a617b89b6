"""Features service latency over keep-alive HTTP against a uvicorn process.

GET /features/{id} for materialised vectors (the hot path) and for clients computed on the fly from
their stored rows; POST /features/compute with the application and its history in the body; and
POST /features/compute/batch with 100 applications (with their history, or stored history) per request.
Every request is distinct, its clients drawn from the synthetic population without replacement.
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
from typing import Any

import httpx
import numpy as np
import orjson

from bench.features_build import synthetic_database
from services.common.db import raw_connection
from services.data.bodies import rows_of
from services.feature_definitions.raw import HISTORY_TABLES, RawTables, read_raw, spec_for
from services.feature_store.build import build

CLIENTS = int(os.environ.get("BENCH_ONLINE_CLIENTS", "20000"))
SEED = 5
REQUESTS = 3000
COMPUTED_CLIENTS = 300
PAYLOAD_CLIENTS = 300
BATCH = 100
BATCHES = 20
STORED_BATCHES = 10
CONCURRENCY = 4
SMALL_HISTORY = 200  # issue #18: one application with up to ~200 history rows


def run() -> tuple[dict, dict]:
    with synthetic_database(CLIENTS, SEED) as url:
        build(url)
        ids = _client_ids(url)
        unmaterialised = ids[:COMPUTED_CLIENTS]
        _forget_vectors(url, unmaterialised)
        materialised = ids[COMPUTED_CLIENTS:]
        drawn = random.Random(2).sample(materialised, PAYLOAD_CLIENTS + BATCH * (BATCHES + STORED_BATCHES))
        bodies = _bodies(url, drawn)
        computed_rows = [_history_rows(b) for b in _bodies(url, unmaterialised)]
        with_history, stored_history = bodies[: -BATCH * STORED_BATCHES], bodies[-BATCH * STORED_BATCHES :]
        payloads = [orjson.dumps(b) for b in with_history[:PAYLOAD_CLIENTS]]
        batches = _batches(with_history[PAYLOAD_CLIENTS:])
        stored = _batches([{"application": b["application"]} for b in stored_history])
        with _service(url) as base:
            chosen = random.Random(1).choices(materialised, k=REQUESTS)
            figures = {
                "materialised": _latencies(base, [f"/features/{i}" for i in chosen]),
                "on_the_fly": _latencies(base, [f"/features/{i}" for i in unmaterialised], computed_rows),
                "on_the_fly_payload": _latencies(
                    base,
                    [("/features/compute", b) for b in payloads],
                    [_history_rows(b) for b in with_history[:PAYLOAD_CLIENTS]],
                ),
                "batch_100_with_history": _batch_figures(base, batches),
                "batch_100_stored_history": _batch_figures(base, stored),
                "healthz_floor": _latencies(base, ["/healthz"] * REQUESTS),
                "rps_materialised": _throughput(base, materialised),
            }
    params = {
        "clients": CLIENTS,
        "requests": REQUESTS,
        "concurrency_for_rps": CONCURRENCY,
        "payload_history_rows_mean": round(float(np.mean([_history_rows(b) for b in with_history])), 1),
        "batch_size": BATCH,
    }
    return params, figures


def _bodies(url: str, client_ids: list[int]) -> list[dict[str, object]]:
    """`POST /features/compute` bodies of stored clients: the application and its history rows, Kaggle
    field names, nulls left out, as a front office sends a new applicant."""
    raw = read_raw(url, client_ids)
    kaggle = {t: {c.lower(): c for c in spec_for(t).columns} for t in ("application", *HISTORY_TABLES)}
    owner = dict(zip(raw.bureau["sk_id_bureau"].to_list(), raw.bureau["sk_id_curr"].to_list(), strict=True))
    history: dict[int, dict[str, list[dict[str, object]]]] = {
        i: {t: [] for t in HISTORY_TABLES} for i in client_ids
    }
    for table in HISTORY_TABLES:
        for row in _kaggle_rows(raw, table, kaggle[table]):
            client = row["SK_ID_CURR"] if "SK_ID_CURR" in row else owner[row["SK_ID_BUREAU"]]
            history[int(client)][table].append(row)
    applications = {int(a["SK_ID_CURR"]): a for a in _kaggle_rows(raw, "application", kaggle["application"])}
    return [{"application": applications[i], "history": history[i]} for i in client_ids]


def _kaggle_rows(raw: RawTables, table: str, names: dict[str, str]) -> list[dict[str, object]]:
    return [{names[k]: v for k, v in row.items()} for row in rows_of(getattr(raw, table))]


def _history_rows(body: dict[str, object]) -> int:
    history = body["history"]
    assert isinstance(history, dict)
    return sum(len(rows) for rows in history.values())


def _batches(bodies: list[dict[str, object]]) -> list[tuple[str, bytes]]:
    return [
        ("/features/compute/batch", orjson.dumps({"applications": bodies[i : i + BATCH]}))
        for i in range(0, len(bodies), BATCH)
    ]


def _batch_figures(base: str, requests: list[tuple[str, bytes]]) -> dict[str, Any]:
    """Latency per batch request and the applications per second they make, one connection."""
    figures = _latencies(base, requests)
    return {**figures, "applications_per_s": round(BATCH * 1000 / figures["mean_ms"], 1)}


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


Request = str | tuple[str, bytes]  # a GET path, or a POST path and its JSON body


def _latencies(base: str, requests: list[Request], rows: list[int] | None = None) -> dict[str, Any]:
    """Sequential requests over one keep-alive connection (the first also once before, to warm the
    connection and pool); /healthz gives the HTTP floor of this machine. With each request's history
    rows given, also the p99 of the requests of at most SMALL_HISTORY rows (the target's case)."""
    timings = []
    load = os.getloadavg()[0]
    with httpx.Client(base_url=base, timeout=60) as client:
        _send(client, requests[0])
        for request in requests:
            started = time.perf_counter()
            _send(client, request)
            timings.append(time.perf_counter() - started)
    ms = np.array(timings) * 1000
    figures = {
        "requests": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "mean_ms": round(float(ms.mean()), 2),
        "load_average_1m_at_start": round(load, 2),
    }
    if rows is not None:
        small = ms[np.array(rows) <= SMALL_HISTORY]
        figures |= {
            "history_rows_p50_max": [int(np.percentile(rows, 50)), max(rows)],
            f"requests_up_to_{SMALL_HISTORY}_rows": len(small),
            f"p99_ms_up_to_{SMALL_HISTORY}_rows": round(float(np.percentile(small, 99)), 2),
        }
    return figures


def _send(client: httpx.Client, request: Request) -> None:
    if isinstance(request, str):
        client.get(request).raise_for_status()
    else:
        path, body = request
        client.post(path, content=body, headers={"content-type": "application/json"}).raise_for_status()


def _throughput(base: str, client_ids: list[int]) -> float:
    """Materialised GETs per second over CONCURRENCY connections."""

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
