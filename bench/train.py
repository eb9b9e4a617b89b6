"""Training at scale against the oracle: synthetic clients (generator -> loader -> features build), then
`credit train`'s pipeline with the default budget, logged to a real MLflow server.

BENCH_TRAIN_CLIENTS overrides the scale (default 100,000). Figures: test AUC and cost per application of
the trained model, the same for the oracle (TRUE_PD, at its own best threshold) on the same test rows,
and the training seconds (MLflow logging and registration included; data preparation reported apart).
"""

import os
import socket
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score

from infra.mlflow.server import serve
from services.common.db import drop_database, ensure_database
from services.data.loader import load_directory
from services.data.synth import generate
from services.feature_store.build import build
from services.model import mlflow_uri
from services.model.cost import best_threshold
from services.training.cli import train_and_register
from services.training.cross_validation import TrainingConfig
from services.training.dataset import load_training_set

CLIENTS = int(os.environ.get("BENCH_TRAIN_CLIENTS", "100000"))
SEED = 7


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _prepare(database_url: str, directory: Path) -> float:
    """Synthetic tables loaded and features materialised; returns the seconds it took."""
    started = time.perf_counter()
    generate(CLIENTS, seed=SEED, out=directory)
    load_directory(database_url, directory)
    build(database_url)
    return time.perf_counter() - started


def _oracle_figures(directory: Path, test_ids: np.ndarray, test_y: np.ndarray) -> tuple[float, float]:
    oracle = pl.read_csv(directory / "oracle.csv")
    true_pd = dict(zip(oracle["SK_ID_CURR"].to_list(), oracle["TRUE_PD"].to_list(), strict=True))
    oracle_pd = np.array([true_pd[int(i)] for i in test_ids])
    return float(roc_auc_score(test_y, oracle_pd)), best_threshold(test_y, oracle_pd).cost_per_application


def run() -> tuple[dict, dict]:
    suffix = uuid.uuid4().hex[:10]
    data_url = f"postgresql://postgres@127.0.0.1:5432/credit_bench_train_{suffix}"
    mlflow_url = f"postgresql://postgres@127.0.0.1:5432/mlflow_bench_train_{suffix}"
    config = TrainingConfig()
    ensure_database(data_url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            prepare_seconds = _prepare(data_url, root / "synth")
            with serve(mlflow_url, root / "artifacts", _free_port(), root / "mlflow.log") as uri:
                mlflow_uri.connect(uri)
                started = time.perf_counter()
                report = train_and_register(load_training_set(data_url), config, "bench-train")
                seconds = time.perf_counter() - started
            trained = report.trained
            oracle_auc, oracle_cost = _oracle_figures(root / "synth", trained.test_ids, trained.test_y)
    finally:
        drop_database(data_url)
        drop_database(mlflow_url)
    params = {"clients": CLIENTS, "features": len(trained.model.feature_names), **vars(config)}
    figures = {
        "auc_test": round(trained.test["roc_auc"], 4),
        "oracle_auc": round(oracle_auc, 4),
        "cost_per_app": round(trained.test["cost_per_app"], 4),
        "oracle_cost_per_app": round(oracle_cost, 4),
        "seconds": round(seconds, 1),
        "prepare_seconds": round(prepare_seconds, 1),
        "threshold": round(trained.model.threshold, 4),
        "test_ece": round(trained.test["ece"], 4),
    }
    return params, figures
