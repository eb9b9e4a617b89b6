"""Stratified K-fold cross-validation of LightGBM with early stopping, and the final refit.

Out-of-fold (OOF) predictions are what the calibrator, the decision threshold and the validation AUC are
computed on: every client is scored by a model that never saw it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from services.feature_definitions.families import protected_features
from services.model.policy import REVIEW_SHARE

BASE_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": "auc",
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "max_bin": 63,
    "feature_pre_filter": False,  # the search varies min_child_samples on one binned Dataset
    "verbose": -1,
}
MAX_ROUNDS = 5000
# Above this many training rows trees get 15 leaves and the learning rate doubles: the time per CV grows
# with the rows, and at 80,000 synthetic rows both cut it by a third at the same test AUC.
LARGE_DATA_ROWS = 50_000
# Below this many rows LightGBM runs on one thread whatever `threads` asks: a boosting round is then a few
# milliseconds of work split into many short parallel regions, and waking the second (passive) OpenMP
# thread for each costs more than it saves. Measured on 640 features with the default parameters: 1,200
# rows, `credit train --trials 0` 37 s on one thread and 63 s on two (quiet machine); 5,000 rows 0.8 s
# against 1.2 s per 300 rounds; from 20,000 rows two threads win (1.9 s against 1.5 s).
ONE_THREAD_ROWS = 10_000

# Directions of risk established on the real data (higher external score = safer; older = safer):
# +1 = the PD may only rise with the feature, -1 = only fall. On 5,000 rows a free model bends these
# curves to noise; constrained, it also never explains a higher score as a reason to refuse.
MONOTONE_DIRECTIONS: dict[str, int] = {
    "app_ext_source_1": -1,
    "app_ext_source_2": -1,
    "app_ext_source_3": -1,
    "app_ext_source_mean": -1,
    "app_ext_source_min": -1,
    "app_ext_source_max": -1,
    "app_ext_source_product": -1,
    "app_days_birth": 1,  # negative days: closer to 0 = younger
    "app_age_years": -1,
}


@dataclass(frozen=True)
class TrainingConfig:
    """The training budget; the defaults keep 100,000 clients to minutes on 2 cores."""

    trials: int = 6
    folds: int = 5
    test_size: float = 0.2
    seed: int = 42
    threads: int = 2
    search_rows: int = 30_000  # imbalance options and the search run on at most this many training rows
    confirm_repeats: int = 2  # fresh fold splits a search winner must also win on to replace the defaults
    include_gender: bool = False  # gender is not a model input unless asked (`credit train --include-gender`)
    review_share: float = REVIEW_SHARE  # of the out-of-fold applications nearest the threshold: review


def min_leaf_size(rows: int) -> int:
    """About 1 % of the rows per leaf (20 to 200): at 5,000 rows a leaf then holds ~4 defaults."""
    return int(np.clip(rows // 80, 20, 200))


def default_params(rows: int) -> dict[str, Any]:
    """The parameters training starts from, for `rows` training rows.

    Shallow trees (7 leaves) on a random 30 % of the features per tree, learning slowly: measured by
    repeated CV on the 5,000 real rows and on 20,000 synthetic clients, these beat deeper, faster trees
    (the signal is mostly additive; the application table alone has ~120 informative columns).
    Up to LARGE_DATA_ROWS the trees are also more regularised: half the rows per tree (bagging 0.5
    instead of BASE_PARAMS' 0.8) and L2 50 instead of 10. On the 5,000 real rows this won +0.003 repeated-CV
    AUC, on 14 of 15 fold splits (docs/model.md); the models get 2 to 3 times the rounds. Large data keep
    the settings measured on 100,000 synthetic clients.
    """
    large = rows > LARGE_DATA_ROWS
    return {
        "learning_rate": 0.04 if large else 0.02,
        "num_leaves": 15 if large else 7,
        "min_child_samples": min_leaf_size(rows),
        "feature_fraction": 0.3,
        "lambda_l2": 10.0 if large else 50.0,
        "bagging_fraction": BASE_PARAMS["bagging_fraction"] if large else 0.5,
    }


def without_protected(x: np.ndarray, names: Sequence[str], include_gender: bool = False) -> np.ndarray:
    """The training matrix with the protected columns (gender) made missing, unless asked to keep them.

    A column holding one value is never split on, so the model cannot use gender at all (its SHAP value
    is exactly 0), while the vector keeps the feature set's layout that serving, batch scoring and the
    explainer check. Only the rows the trees are fitted on are masked: predictions ignore the column.
    """
    protected = [i for i, name in enumerate(names) if name in protected_features()]
    if include_gender or not protected:
        return x
    masked = x.copy()
    masked[:, protected] = np.nan
    return masked


def monotone_constraints(names: Sequence[str]) -> tuple[int, ...]:
    """LightGBM's per-feature constraint vector for features ordered as `names`."""
    return tuple(MONOTONE_DIRECTIONS.get(name, 0) for name in names)


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
    best_iteration: int  # also the refit's round count


def cross_validate(
    x: np.ndarray,
    y: np.ndarray,
    params: dict[str, Any],
    config: TrainingConfig,
    monotone: Sequence[int] = (),
    seed: int | None = None,
) -> CvResult:
    """OOF raw scores from `folds` models stopped together at the round with the best mean fold AUC.

    One stopping round for all folds, not one per fold: a single fold's AUC curve (1,000 rows, ~80
    defaults on the real sample) peaks by chance, and OOF scores from models of different lengths do not
    share one scale, which the pooled AUC and the calibrator both need. `seed` (default: the config's)
    draws the folds and LightGBM's sampling.
    """
    seed = config.seed if seed is None else seed
    full = _params(params, monotone, seed, threads_for(len(y), config.threads))
    dataset = lgb.Dataset(x, label=y, params=full, free_raw_data=False)
    folds = list(StratifiedKFold(config.folds, shuffle=True, random_state=seed).split(x, y))
    stop = lgb.early_stopping(patience(full["learning_rate"]), verbose=False)
    result = lgb.cv(full, dataset, MAX_ROUNDS, folds=folds, callbacks=[stop], return_cvbooster=True)
    boosters = result["cvbooster"]
    oof = np.zeros(len(y))
    for booster, (_, valid_idx) in zip(boosters.boosters, folds, strict=True):
        oof[valid_idx] = booster.predict(x[valid_idx], num_iteration=boosters.best_iteration)
    return CvResult(oof=oof, auc=float(roc_auc_score(y, oof)), best_iteration=boosters.best_iteration)


def patience(learning_rate: float) -> int:
    """Early-stopping patience in rounds, longer for slower learning: 150 at 0.02, 75 at 0.04."""
    return max(50, round(3.0 / learning_rate))


def refit(
    x: np.ndarray,
    y: np.ndarray,
    params: dict[str, Any],
    rounds: int,
    config: TrainingConfig,
    monotone: Sequence[int] = (),
) -> lgb.Booster:
    """The final model on every training row, with the round count CV chose."""
    full = _params(params, monotone, config.seed, threads_for(len(y), config.threads))
    return lgb.train(full, lgb.Dataset(x, label=y, params=full), rounds)


def threads_for(rows: int, threads: int) -> int:
    """The LightGBM threads for `rows` training rows: one below ONE_THREAD_ROWS, else `threads`."""
    return 1 if rows < ONE_THREAD_ROWS else threads


def _params(params: dict[str, Any], monotone: Sequence[int], seed: int, threads: int) -> dict[str, Any]:
    """Threads are explicit: LightGBM's OpenMP threads collapse when they outnumber free cores."""
    full = {**BASE_PARAMS, **params, "seed": seed, "num_threads": threads}
    if any(monotone):
        full["monotone_constraints"] = list(monotone)
    return full
