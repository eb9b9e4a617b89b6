"""Training quality on real data: repeated stratified CV AUC of the default LightGBM configuration on the
5,000 labelled real applications (application table only), loaded and featurised as a user would
(`credit data load` on a folder holding only that file, then `credit features build`).

On 5,000 rows the fold split alone moves a CV AUC by about 0.005, so the figure is the mean and spread
over REPEATS splits with different seeds; the regularised logistic baseline on the same splits is the
reference. BENCH_TRAIN_REAL_CSV overrides the file (default ../shared/data/real/).
"""

import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from services.common.db import drop_database, ensure_database
from services.data.loader import load_directory
from services.feature_store.build import build
from services.training.baselines import baseline_models, baseline_oof
from services.training.cross_validation import (
    TrainingConfig,
    cross_validate,
    default_params,
    monotone_constraints,
)
from services.training.dataset import TrainingSet, load_training_set

REAL_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "application_train_sample.csv"
CSV = Path(os.environ.get("BENCH_TRAIN_REAL_CSV", str(REAL_CSV)))
REPEATS = 5
CONFIG = TrainingConfig(threads=1)  # one thread: the benchmark shares the machine with others


def _training_set(database_url: str) -> TrainingSet:
    """The application file alone in a folder, loaded, featurised and read back as the training table."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / CSV.name).symlink_to(CSV.resolve())
        load_directory(database_url, Path(tmp))
    build(database_url)
    return load_training_set(database_url)


def _logistic_auc(data: TrainingSet, seed: int) -> float:
    oof = baseline_oof(baseline_models()["logistic_regression"], data.x, data.y, CONFIG.folds, seed)
    return float(roc_auc_score(data.y, oof))


def run() -> tuple[dict, dict]:
    database_url = f"postgresql://postgres@127.0.0.1:5432/credit_bench_train_real_{uuid.uuid4().hex[:10]}"
    ensure_database(database_url)
    try:
        data = _training_set(database_url)
    finally:
        drop_database(database_url)
    params = default_params(len(data.y))
    monotone = monotone_constraints(data.names)
    started = time.perf_counter()
    results = [cross_validate(data.x, data.y, params, CONFIG, monotone, seed) for seed in range(REPEATS)]
    seconds = time.perf_counter() - started
    aucs = np.array([result.auc for result in results])
    logistic = np.array([_logistic_auc(data, seed) for seed in range(REPEATS)])
    bench_params = {"rows": len(data.y), "repeats": REPEATS, "folds": CONFIG.folds, **params}
    figures = {
        "cv_auc_mean": round(float(aucs.mean()), 4),
        "cv_auc_std": round(float(aucs.std()), 4),
        "cv_aucs": [round(float(a), 4) for a in aucs],
        "logistic_cv_auc_mean": round(float(logistic.mean()), 4),
        "rounds_mean": round(float(np.mean([result.best_iteration for result in results])), 1),
        "seconds": round(seconds, 1),
    }
    return bench_params, figures
