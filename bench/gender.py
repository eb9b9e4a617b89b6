"""The AUC cost of leaving gender out of the model (`credit train`'s default,
services/training/cross_validation.py `without_protected`), paired:
the same stratified CV splits and seeds with gender masked and with it.

Real sample: the 5,000 labelled real applications (application table only), REPEATS_REAL split seeds.
Synthetic: BENCH_GENDER_CLIENTS clients (default 100,000; the generator gives men +0.2 log-odds of
default, services/data/synth/target.py), BENCH_GENDER_REPEATS split seeds (default 1). Both featurised
in-process from the Kaggle-format CSVs by the catalog's feature code, then cross-validated with the
default parameters and monotone constraints of `credit train` (no search).
"""

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from services.data.synth import generate
from services.feature_definitions.catalog import NAMES
from services.feature_store.files import LabelledFeatures, labelled_features
from services.training.cross_validation import (
    TrainingConfig,
    cross_validate,
    default_params,
    monotone_constraints,
    without_protected,
)

REAL_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "application_train_sample.csv"
REPEATS_REAL = 5
CLIENTS = int(os.environ.get("BENCH_GENDER_CLIENTS", "100000"))
REPEATS_SYNTHETIC = int(os.environ.get("BENCH_GENDER_REPEATS", "1"))
SEED = 7
CONFIG = TrainingConfig(threads=2)


def paired_auc(data: LabelledFeatures, repeats: int) -> dict:
    """Mean CV AUC with and without gender over `repeats` split seeds, and the paired change."""
    params, monotone = default_params(len(data.y)), monotone_constraints(NAMES)
    masked = without_protected(data.x, NAMES)
    started = time.perf_counter()
    with_gender, without_gender = [], []
    for seed in range(repeats):
        with_gender.append(cross_validate(data.x, data.y, params, CONFIG, monotone, seed).auc)
        without_gender.append(cross_validate(masked, data.y, params, CONFIG, monotone, seed).auc)
    change = np.array(without_gender) - np.array(with_gender)
    return {
        "rows": len(data.y),
        "default_rate": round(float(data.y.mean()), 4),
        "repeats": repeats,
        "folds": CONFIG.folds,
        "cv_auc_with_gender": round(float(np.mean(with_gender)), 4),
        "cv_auc_without_gender": round(float(np.mean(without_gender)), 4),
        "auc_change_mean": round(float(change.mean()), 4),
        "auc_change_std": round(float(change.std(ddof=1)), 4) if repeats > 1 else None,
        "auc_changes": [round(float(c), 4) for c in change],
        "splits_worse_without_gender": int((change < 0).sum()),
        "cv_seconds": round(time.perf_counter() - started, 1),
    }


def run() -> tuple[dict, dict]:
    real = paired_auc(labelled_features(REAL_CSV), REPEATS_REAL)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        generate(CLIENTS, SEED, Path(tmp))
        data = labelled_features(Path(tmp) / "application_train.csv", Path(tmp))
        preparation = round(time.perf_counter() - started, 1)
    synthetic = paired_auc(data, REPEATS_SYNTHETIC) | {"clients": CLIENTS, "preparation_seconds": preparation}
    params = {"seed": SEED, "threads": CONFIG.threads, **default_params(len(data.y))}
    return params, {"real": real, "synthetic": synthetic}
