"""Scoring service latency and throughput, side by side with the servers a team would pick instead.

A throwaway MLflow server (Postgres-backed registry) gets a ~500-feature LightGBM trained and registered
by the training pipeline itself (`train_and_register`, so the pyfunc flavour is the real one) and promoted
to champion. Then every server is started on that one booster: the scoring service under uvicorn (inline
scoring, the default, and thread-pool scoring), `mlflow models serve --env-manager local`, MLServer with its
LightGBM runtime (adaptive batching off and on) and BentoML (bench/_alternatives.py: their own virtual
environments). All get OMP_NUM_THREADS=1, so every prediction runs on one thread, as ours does
(`num_threads=1`). In ROUNDS alternating rounds, each server in turn gets the same one-application
payload in its own protocol from wrk (bench/_wrk.py): one connection alone (latency), then CONNECTIONS at
once (throughput); the figures are the medians over rounds, each phase's p50, p99 and req/s together.
Ours does more per request than the others (calibration, decision, review band, points, grade, input
warnings); they return the booster's raw probability.
`python -m bench scoring`; BENCH_SCORING_SECONDS sets each phase's length, BENCH_SCORING_ROUNDS the rounds.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy.engine import make_url

from bench import _alternatives as alternatives
from bench._alternatives import Server
from bench._wrk import WrkRequest
from bench._wrk import load as wrk_load
from services.common.db import drop_database
from services.common.settings import CommonSettings
from services.feature_definitions.catalog import FEATURE_SET_HASH
from services.model import registry
from services.model.mlflow_uri import connect
from services.model.model_store import load_version
from services.training.cli import train_and_register
from services.training.dataset import TrainingSet
from services.training.pipeline import TrainingConfig

REPO = Path(__file__).resolve().parents[1]
FEATURES = 500
ROWS = 3000
SECONDS = float(os.environ.get("BENCH_SCORING_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_SCORING_ROUNDS", "3"))
CONNECTIONS = 4  # for the throughput phase
WARMUP_SECONDS = 1
TIMEOUT_SECONDS = 30  # mlflow serve answers in ~100 ms alone, several times that under load
STARTUP_SECONDS = 300
ONE_THREAD = {"OMP_NUM_THREADS": "1"}
OURS = "ours_inline"


def run() -> tuple[dict, dict]:
    data = synthetic_training_set(FEATURES, ROWS, seed=5)
    row = np.nan_to_num(data.x[0]).tolist()  # MLflow's signature check wants every column present
    with tempfile.TemporaryDirectory(prefix="bench_scoring_") as name, mlflow_server(Path(name)) as uri:
        tmp = Path(name)
        connect(uri)
        os.environ["MLFLOW_TRACKING_URI"] = uri  # registry helpers use the default client
        version = train_and_register(data, TrainingConfig(trials=0, folds=2), "bench-scoring").version
        registry.set_champion(version)
        booster = tmp / "model.txt"
        load_version(version).booster.save_model(str(booster))
        with features_service(tmp) as features_url, ExitStack() as stack:
            named = dict(zip(data.names, row, strict=True))
            servers = _servers(tmp, uri, features_url, version, booster, named)
            urls = {server.name: stack.enter_context(running(server, tmp)) for server in servers}
            rounds = [{s.name: measure(urls[s.name], s) for s in servers} for _ in range(ROUNDS)]
    params = {
        "features": FEATURES,
        "seconds_per_phase": SECONDS,
        "rounds": ROUNDS,
        "connections": CONNECTIONS,
        "threads_per_prediction": 1,
        "load_generator": "wrk",
        "cpus": os.cpu_count(),
    }
    return params, summarise(rounds)


def _servers(
    tmp: Path, mlflow_uri: str, features_url: str, version: str, booster: Path, named: dict[str, float]
) -> list[Server]:
    row = list(named.values())
    ours = {"features": named}
    return [
        scoring_service(mlflow_uri, features_url, inline_max_rows=1, body=ours),
        scoring_service(mlflow_uri, features_url, inline_max_rows=0, body=ours),
        mlflow_serve(mlflow_uri, version, row),
        alternatives.mlserver(tmp, booster, row, (_free_port(), _free_port(), _free_port()), batching=False),
        alternatives.mlserver(tmp, booster, row, (_free_port(), _free_port(), _free_port()), batching=True),
        alternatives.bentoml(booster, row, _free_port()),
    ]


def summarise(rounds: list[dict[str, dict]]) -> dict:
    """Per server, the median of each phase's figures over the rounds; ours against the best other."""
    servers = {
        name: {
            phase: {
                key: statistics.median(r[name][phase][key] for r in rounds)
                for key in ("rps", "p50_ms", "p99_ms")
            }
            | {"errors": sum(r[name][phase]["errors"] for r in rounds)}
            for phase in ("sequential", "concurrent")
        }
        for name in rounds[0]
    }
    others = {name: f for name, f in servers.items() if not name.startswith("ours")}
    best = max(others, key=lambda name: others[name]["concurrent"]["rps"])
    ours = servers[OURS]
    return {  # headline: the default configuration, p50/p99/rps of the same phase
        "rps": ours["concurrent"]["rps"],
        "p99_ms_at_rps": ours["concurrent"]["p99_ms"],
        "p50_ms_alone": ours["sequential"]["p50_ms"],
        "p99_ms_alone": ours["sequential"]["p99_ms"],
        "best_other": best,
        "best_other_rps": others[best]["concurrent"]["rps"],
        "ratio_vs_best_other_rps": round(ours["concurrent"]["rps"] / others[best]["concurrent"]["rps"], 2),
        "ratio_vs_each_rps": {
            name: round(ours["concurrent"]["rps"] / f["concurrent"]["rps"], 2) for name, f in others.items()
        },
        "errors": sum(f[phase]["errors"] for f in servers.values() for phase in ("sequential", "concurrent")),
        "servers": servers,
        "rounds": rounds,
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


def synthetic_training_set(features: int, rows: int, seed: int) -> TrainingSet:
    """Planted signal in a few columns, noise elsewhere, 10% missing; labelled with the served hash."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    z = -2.0 + 1.2 * x[:, 0] - 0.8 * x[:, 1] ** 2 + (x[:, 2] > 0.5) * x[:, 3]
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(np.int64)
    x[rng.random(x.shape) < 0.1] = np.nan
    names = tuple(f"f_{i:03d}" for i in range(features))
    return TrainingSet(np.arange(rows, dtype=np.int64), x, y, names, FEATURE_SET_HASH)


def scoring_service(mlflow_uri: str, features_url: str, inline_max_rows: int, body: dict) -> Server:
    port = _free_port()
    env = {
        "MLFLOW_TRACKING_URI": mlflow_uri,
        "FEATURES_URL": features_url,
        "SCORING_INLINE_MAX_ROWS": str(inline_max_rows),
    }
    app = "services.scoring.app:app"
    command = [sys.executable, "-m", "uvicorn", app, "--no-access-log", "--port", str(port)]
    name = OURS if inline_max_rows >= 1 else "ours_thread_pool"
    return Server(name, command, env, REPO, port, "/readyz", "/predict", body)


@contextmanager
def mlflow_server(tmp: Path) -> Iterator[str]:
    base = make_url(CommonSettings().database_url)
    db_url = base.set(database=f"mlflow_bench_{uuid.uuid4().hex[:12]}").render_as_string(hide_password=False)
    port = _free_port()
    command = [sys.executable, str(REPO / "infra/mlflow/server.py"), "--database-url", db_url,
               "--artifacts", str(tmp / "artifacts"), "--port", str(port)]  # fmt: skip
    try:
        with running(Server("mlflow", command, {}, REPO, port, "/health"), tmp) as url:
            yield url
    finally:
        drop_database(db_url)


@contextmanager
def features_service(tmp: Path) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "services.features.app:app", "--port", str(port)]
    with running(Server("features", command, {}, REPO, port, "/features/schema"), tmp) as url:
        yield url


def mlflow_serve(mlflow_uri: str, version: str, row: list[float]) -> Server:
    port = _free_port()
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    model_uri = f"models:/{registry.MODEL_NAME}/{version}"
    command = [mlflow, "models", "serve", "-m", model_uri, "--env-manager", "local", "--port", str(port)]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # it execs `uvicorn`
    env = {"MLFLOW_TRACKING_URI": mlflow_uri, "PATH": path}
    body = {"dataframe_split": {"columns": [f"f_{i:03d}" for i in range(len(row))], "data": [row]}}
    return Server("mlflow_serve", command, env, REPO, port, "/ping", "/invocations", body)


@contextmanager
def running(server: Server, tmp: Path) -> Iterator[str]:
    """Start `server` with one OpenMP thread, wait until its ready path answers 200, stop it after."""
    log = tmp / f"{server.name}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            server.command,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=server.cwd,
            env={**os.environ, **ONE_THREAD, **server.env},
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{server.port}"
    try:
        _wait_ready(f"{url}{server.ready_path}", process, log)
        yield url
    finally:
        os.killpg(process.pid, 15)  # MLServer and BentoML run worker processes of their own
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


def measure(base_url: str, server: Server) -> dict:
    """One connection alone (latency), then CONNECTIONS at once (throughput), after a short warm-up."""
    requests = [WrkRequest("POST", server.predict_path, json.dumps(server.body))]
    headers = {"Content-Type": "application/json"}

    def phase(seconds: float, connections: int) -> dict:
        return wrk_load(base_url, requests, headers, seconds, connections, TIMEOUT_SECONDS)

    phase(WARMUP_SECONDS, 1)
    return {"sequential": phase(SECONDS, 1), "concurrent": phase(SECONDS, CONNECTIONS)}
