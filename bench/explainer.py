"""Explainer benchmark: submit -> done turnaround at light load, and throughput of 2 worker processes
against the ceiling set by TreeSHAP itself (2 cores / single-row TreeSHAP time).

Real parts end to end: a throwaway redis-server, an MLflow server (Postgres backend in a throwaway
database), two `celery worker --pool solo` processes, the ExplainerClient the gateway uses.
A ~500-feature, 500-tree LightGBM stands in for a production-size model.
"""

import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import lightgbm as lgb
import numpy as np
import polars as pl
from sqlalchemy.engine import make_url
from threadpoolctl import threadpool_limits

from services.common.db import drop_database
from services.common.settings import CommonSettings
from services.explainer.client import ExplainerClient
from services.explainer.schemas import Status
from services.explainer.settings import ExplainerSettings
from services.explainer.shap_values import contributions
from services.features.catalog import NAMES
from services.scoring.calibration import fit_calibrator
from services.scoring.model import ScoringModel
from tests.explainer.stack import REPO, RedisServer, Worker, free_port, register_version, wait_for

FEATURES = 500
TREES = 500
TRAIN_ROWS = 3_000
SHAP_SAMPLES = 300
LATENCY_SAMPLES = 300
THROUGHPUT_TASKS = 2_000
WORKERS = 2


def production_size_model() -> tuple[ScoringModel, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(TRAIN_ROWS, FEATURES))
    x[rng.random(x.shape) < 0.1] = np.nan
    z = np.nan_to_num(x[:, :20]) @ rng.normal(size=20) * 0.3 - 2.0
    y = (rng.random(TRAIN_ROWS) < 1 / (1 + np.exp(-z))).astype(int)
    names = list(NAMES[:FEATURES])
    params = {"objective": "binary", "num_leaves": 31, "max_bin": 63, "verbose": -1, "seed": 0}
    booster = lgb.train(params, lgb.Dataset(x, y, feature_name=names), num_boost_round=TREES)
    calibrator = fit_calibrator(booster.predict(x), y)
    return ScoringModel(booster, calibrator, 0.2, tuple(names), "bench"), x


def single_row_shap_seconds(booster: lgb.Booster, x: np.ndarray) -> float:
    """Median wall time of one row's TreeSHAP as a worker runs it: one OpenMP thread per process."""
    times = []
    with threadpool_limits(limits=1, user_api="openmp"):
        for row in x[:SHAP_SAMPLES]:
            start = time.perf_counter()
            contributions(booster, row)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def start_mlflow(directory: Path, database_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, str(REPO / "infra/mlflow/server.py"), "--database-url", database_url,
               "--artifacts", str(directory / "artifacts"), "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    uri = f"http://127.0.0.1:{port}"
    wait_for(lambda: _healthy(uri), "MLflow server healthy")
    return process, uri


def _healthy(uri: str) -> bool:
    try:
        return httpx.get(f"{uri}/health", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def vectors(x: np.ndarray, names: tuple[str, ...], start: int, count: int) -> list[dict[str, float | None]]:
    return [
        {name: None if np.isnan(v) else float(v) for name, v in zip(names, row, strict=True)}
        for row in x[start : start + count]
    ]


def turnaround_seconds(client: ExplainerClient, version: str, features: dict[str, float | None]) -> float:
    """Submit, then poll Redis (as the gateway would) until done."""
    start = time.perf_counter()
    submitted = client.submit(version, features)
    status = submitted.status
    while status not in (Status.DONE, Status.FAILED):
        time.sleep(0.0005)
        status = client.status(submitted.explanation_id).status  # type: ignore[union-attr]
    if status == Status.FAILED:
        raise RuntimeError(f"explanation failed: {client.status(submitted.explanation_id)}")
    return time.perf_counter() - start


def throughput_per_s(client: ExplainerClient, version: str, batch: list[dict[str, float | None]]) -> float:
    """Explanations per second while the workers drain a queued burst. Counted from the end of the
    submissions: the submitting client shares the machine's two cores, a real gateway does not."""
    waiting = [client.submit(version, features).explanation_id for features in batch]
    _drop_finished(client, waiting)
    backlog, start = len(waiting), time.perf_counter()
    while waiting:
        time.sleep(0.01)
        _drop_finished(client, waiting)
    return backlog / (time.perf_counter() - start)


def _drop_finished(client: ExplainerClient, waiting: list[str]) -> None:
    """The queue is FIFO: drop finished ids from the front and stop at the first unfinished one, so
    polling costs next to nothing."""
    while waiting and _finished(client, waiting[0]):
        waiting.pop(0)


def _finished(client: ExplainerClient, explanation_id: str) -> bool:
    status = client.status(explanation_id)
    return status is not None and status.status in (Status.DONE, Status.FAILED)


def run() -> tuple[dict, dict]:
    model, x = production_size_model()
    reference = pl.DataFrame(x[:2000], schema=list(model.feature_names), orient="row")
    base = make_url(CommonSettings().database_url)
    db_url = base.set(database=f"mlflow_bench_{uuid.uuid4().hex[:12]}").render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        mlflow_process, mlflow_uri = start_mlflow(directory, db_url)
        redis_server = RedisServer(directory, appendfsync="everysec")
        redis_server.start()
        workers: list[Worker] = []
        try:
            version = register_version(model, reference, mlflow_uri)
            env = {"REDIS_URL": redis_server.url, "MLFLOW_TRACKING_URI": mlflow_uri}
            for i in range(WORKERS):
                workers.append(Worker(env, directory / "worker.log", f"bench{i}"))
                workers[-1].start()
            client = ExplainerClient(
                ExplainerSettings(redis_url=redis_server.url, mlflow_tracking_uri=mlflow_uri)
            )
            warm = vectors(x, model.feature_names, 0, 20)
            for features in warm:  # both workers load the version before anything is timed
                turnaround_seconds(client, version, features)
            latencies = [
                turnaround_seconds(client, version, features)
                for features in vectors(x, model.feature_names, 20, LATENCY_SAMPLES)
            ]
            rate = throughput_per_s(client, version, vectors(x, model.feature_names, 1000, THROUGHPUT_TASKS))
            shap_seconds = single_row_shap_seconds(model.booster, x)  # right after, same machine load
            client.close()
        finally:
            for worker in workers:
                worker.stop()
            redis_server.stop()
            mlflow_process.terminate()
            mlflow_process.wait(timeout=60)
            drop_database(db_url)
    params = {"features": FEATURES, "trees": TREES, "num_leaves": 31, "workers": WORKERS, "pool": "solo",
              "latency_samples": LATENCY_SAMPLES, "throughput_tasks": THROUGHPUT_TASKS}  # fmt: skip
    figures = {
        "turnaround_p50_ms": round(1000 * float(np.percentile(latencies, 50)), 2),
        "turnaround_p99_ms": round(1000 * float(np.percentile(latencies, 99)), 2),
        "explanations_per_s": round(rate, 1),
        "single_row_shap_ms": round(1000 * shap_seconds, 3),
        "limit_per_s": round(WORKERS / shap_seconds, 1),
        "share_of_limit": round(rate * shap_seconds / WORKERS, 3),
    }
    return params, figures
