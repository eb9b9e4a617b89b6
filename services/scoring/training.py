"""Stratified K-fold cross-validation of LightGBM with early stopping, and the final refit.

Out-of-fold (OOF) predictions are what the calibrator, the decision threshold and the validation AUC are
computed on: every client is scored by a model that never saw it.
"""

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

BASE_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": "auc",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 100,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 10.0,
    "max_bin": 63,
    "feature_pre_filter": False,  # the search varies min_child_samples on one binned Dataset
    "verbose": -1,
}
MAX_ROUNDS = 2000
EARLY_STOPPING_ROUNDS = 50


@dataclass(frozen=True)
class TrainingConfig:
    """The training budget; the defaults keep 100,000 clients to minutes on 2 cores."""

    trials: int = 6
    folds: int = 5
    test_size: float = 0.2
    seed: int = 42
    threads: int = 2
    search_rows: int = 30_000  # imbalance options and the search run on at most this many training rows


def imbalance_options(y: np.ndarray) -> dict[str, dict[str, Any]]:
    """The ways of handling the rare default class that training compares by CV AUC."""
    positives = float(np.sum(y == 1))
    return {
        "none": {},
        "is_unbalance": {"is_unbalance": True},
        "scale_pos_weight_sqrt": {"scale_pos_weight": float(np.sqrt((len(y) - positives) / positives))},
    }


@dataclass(frozen=True)
class CvResult:
    oof: np.ndarray
    auc: float
    best_iterations: tuple[int, ...]

    @property
    def refit_rounds(self) -> int:
        """Rounds for the refit on all training rows: the folds' mean early-stopping point."""
        return max(1, round(float(np.mean(self.best_iterations))))


def cross_validate(x: np.ndarray, y: np.ndarray, params: dict[str, Any], config: TrainingConfig) -> CvResult:
    """OOF raw scores from `folds` models, each early-stopped on its own held-out fold.

    The features are binned once for all folds (as `lgb.cv` does); folds are row subsets of that Dataset.
    """
    full = _params(params, config.seed, config.threads)
    dataset = lgb.Dataset(x, label=y, params=full, free_raw_data=False).construct()
    oof = np.zeros(len(y))
    iterations = []
    for train_idx, valid_idx in StratifiedKFold(config.folds, shuffle=True, random_state=config.seed).split(
        x, y
    ):
        train_part, valid_part = dataset.subset(train_idx), dataset.subset(valid_idx)
        stop = lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)
        booster = lgb.train(full, train_part, MAX_ROUNDS, valid_sets=[valid_part], callbacks=[stop])
        oof[valid_idx] = booster.predict(x[valid_idx], num_iteration=booster.best_iteration)
        iterations.append(booster.best_iteration)
    return CvResult(oof=oof, auc=float(roc_auc_score(y, oof)), best_iterations=tuple(iterations))


def refit(
    x: np.ndarray, y: np.ndarray, params: dict[str, Any], rounds: int, config: TrainingConfig
) -> lgb.Booster:
    """The final model on every training row, with the round count CV chose."""
    full = _params(params, config.seed, config.threads)
    return lgb.train(full, lgb.Dataset(x, label=y, params=full), rounds)


def _params(params: dict[str, Any], seed: int, threads: int) -> dict[str, Any]:
    """Threads are explicit: LightGBM's OpenMP threads collapse when they outnumber free cores."""
    return {**BASE_PARAMS, **params, "seed": seed, "num_threads": threads}
