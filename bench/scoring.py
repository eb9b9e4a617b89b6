"""Scoring service latency and throughput, side by side with `mlflow models serve` for the same model.

A throwaway MLflow server (Postgres-backed registry) gets a ~500-feature LightGBM trained and registered
by the training pipeline itself (`train_and_register`, so the pyfunc flavour is the real one) and promoted
to champion. Then, in one run: the scoring service under uvicorn (thread-pool scoring, then inline
scoring, the default), and `mlflow models serve --env-manager local` on the same version, each hit with
the same single-vector payload by wrk (bench/_wrk.py): one connection alone for latency, then CONNECTIONS
at once for throughput. `python -m bench scoring`; BENCH_SCORING_SECONDS sets each load phase's length.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy.engine import make_url

from bench._wrk import WrkRequest
from bench._wrk import load as wrk_load
from services.common.db import drop_database
from services.common.settings import CommonSettings
from services.feature_definitions.catalog import FEATURE_SET_HASH
from services.model import registry
from services.scoring.settings import ScoringSettings
from services.training.cli import train_and_register
from services.training.dataset import TrainingSet
from services.training.pipeline import TrainingConfig

REPO = Path(__file__).resolve().parents[1]
FEATURES = 500
ROWS = 3000
SECONDS = float(os.environ.get("BENCH_SCORING_SECONDS", "10"))
CONNECTIONS = 4  # for the throughput phase
WARMUP_SECONDS = 2
TIMEOUT_SECONDS = 30  # mlflow serve answers in ~100 ms alone, several times that under load
STARTUP_SECONDS = 300


def run() -> tuple[dict, dict]:
    data = synthetic_training_set(FEATURES, ROWS, seed=5)
    row = np.nan_to_num(data.x[0])  # MLflow's signature check wants every column present
    with tempfile.TemporaryDirectory(prefix="bench_scoring_") as tmp, mlflow_server(Path(tmp)) as mlflow_uri:
        mlflow_uri.connect(mlflow_uri)
        os.environ["MLFLOW_TRACKING_URI"] = mlflow_uri  # registry helpers use the default client
        version = train_and_register(data, TrainingConfig(trials=0, folds=2), "bench-scoring").version
        registry.set_champion(version)
        ours = {"features": dict(zip(data.names, row.tolist(), strict=True))}
        theirs = {"dataframe_split": {"columns": list(data.names), "data": [row.tolist()]}}
        with features_service(Path(tmp)) as features_url:
            threaded = measure_service(Path(tmp), mlflow_uri, features_url, inline_max_rows=0, body=ours)
            inline = measure_service(Path(tmp), mlflow_uri, features_url, inline_max_rows=1, body=ours)
        with mlflow_serve(Path(tmp), mlflow_uri, version) as url:
            mlflow_figures = load(url, "/invocations", theirs)
    params = {
        "features": FEATURES,
        "seconds_per_phase": SECONDS,
        "connections": CONNECTIONS,
        "load_generator": "wrk",
        "cpus": os.cpu_count(),
    }
    default = inline if ScoringSettings.model_fields["inline_max_rows"].default >= 1 else threaded
    figures = {  # headline: the default configuration; latency from one client alone
        "p50_ms": default["sequential"]["p50_ms"],
        "p99_ms": default["sequential"]["p99_ms"],
        "rps": default["concurrent"]["rps"],
        "mlflow_serve_rps": mlflow_figures["concurrent"]["rps"],
        "ratio_vs_mlflow": round(default["concurrent"]["rps"] / mlflow_figures["concurrent"]["rps"], 1),
        "errors": sum(phase["errors"] for run in (default, mlflow_figures) for phase in run.values()),
        "inline": inline,
        "thread_pool": threaded,
        "mlflow_serve": mlflow_figures,
        "load_average_1m": round(os.getloadavg()[0], 1),
    }
    return params, figures


def synthetic_training_set(features: int, rows: int, seed: int) -> TrainingSet:
    """Planted signal in a few columns, noise elsewhere, 10% missing; labelled with the served hash."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    z = -2.0 + 1.2 * x[:, 0] - 0.8 * x[:, 1] ** 2 + (x[:, 2] > 0.5) * x[:, 3]
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(np.int64)
    x[rng.random(x.shape) < 0.1] = np.nan
    names = tuple(f"f_{i:03d}" for i in range(features))
    return TrainingSet(np.arange(rows, dtype=np.int64), x, y, names, FEATURE_SET_HASH)


def measure_service(tmp: Path, mlflow_uri: str, features_url: str, inline_max_rows: int, body: dict) -> dict:
    env = {
        "MLFLOW_TRACKING_URI": mlflow_uri,
        "FEATURES_URL": features_url,
        "SCORING_INLINE_MAX_ROWS": str(inline_max_rows),
    }
    command = [sys.executable, "-m", "uvicorn", "services.scoring.app:app", "--no-access-log"]
    with subprocess_on_port(command, env, tmp / f"scoring_{inline_max_rows}.log", "/readyz") as url:
        return load(url, "/predict", body)


@contextmanager
def mlflow_server(tmp: Path) -> Iterator[str]:
    base = make_url(CommonSettings().database_url)
    db_url = base.set(database=f"mlflow_bench_{uuid.uuid4().hex[:12]}").render_as_string(hide_password=False)
    command = [sys.executable, str(REPO / "infra/mlflow/server.py"), "--database-url", db_url,
               "--artifacts", str(tmp / "artifacts")]  # fmt: skip
    try:
        with subprocess_on_port(command, {}, tmp / "mlflow.log", "/health") as url:
            yield url
    finally:
        drop_database(db_url)


@contextmanager
def features_service(tmp: Path) -> Iterator[str]:
    command = [sys.executable, "-m", "uvicorn", "services.features.app:app"]
    with subprocess_on_port(command, {}, tmp / "features.log", "/features/schema") as url:
        yield url


@contextmanager
def mlflow_serve(tmp: Path, mlflow_uri: str, version: str) -> Iterator[str]:
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    model_uri = f"models:/{registry.MODEL_NAME}/{version}"
    command = [mlflow, "models", "serve", "-m", model_uri, "--env-manager", "local"]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # it execs `uvicorn`
    env = {"MLFLOW_TRACKING_URI": mlflow_uri, "PATH": path}
    with subprocess_on_port(command, env, tmp / "mlflow_serve.log", "/ping") as url:
        yield url


@contextmanager
def subprocess_on_port(command: list[str], env: dict[str, str], log: Path, ready_path: str) -> Iterator[str]:
    """Start `command --port P` on a free port, wait until `ready_path` answers 200, stop it after."""
    port = _free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, **env},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}{ready_path}", process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load(base_url: str, path: str, body: dict) -> dict:
    """One connection alone (latency), then CONNECTIONS at once (throughput), after a short warm-up."""
    requests = [WrkRequest("POST", path, json.dumps(body))]
    headers = {"Content-Type": "application/json"}

    def phase(seconds: float, connections: int) -> dict:
        return wrk_load(base_url, requests, headers, seconds, connections, TIMEOUT_SECONDS)

    phase(WARMUP_SECONDS, 1)
    return {"sequential": phase(SECONDS, 1), "concurrent": phase(SECONDS, CONNECTIONS)}
