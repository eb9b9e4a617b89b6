"""`credit train` as one function on arrays: split, baselines, imbalance options, search, refit,
calibrate, choose the threshold, evaluate on the held-out test split. Logging is the caller's business."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.model_selection import train_test_split

from services.feature_definitions.catalog import FEATURES
from services.model.calibration import fit_calibrator
from services.model.cost import best_threshold
from services.model.evaluation import decision_metrics, global_importance
from services.model.model import ScoringModel
from services.model.policy import InputProfile, ReviewBand
from services.training.baselines import baseline_models, baseline_oof
from services.training.cross_validation import (
    BASE_PARAMS,
    CvResult,
    TrainingConfig,
    cross_validate,
    default_params,
    imbalance_options,
    monotone_constraints,
    refit,
    without_protected,
)
from services.training.dataset import TrainingSet
from services.training.tuning import Candidate, confirm, search

IMPORTANCE_ROWS = 2000
CATEGORICAL = {f.name for f in FEATURES if f.kind == "categorical"}

# Called once per candidate (baseline, imbalance option, search trial): name, params, metrics.
CandidateLogger = Callable[[str, dict[str, Any], dict[str, float]], None]


@dataclass(frozen=True)
class TrainedModel:
    model: ScoringModel
    params: dict[str, Any]
    validation: dict[str, float]
    test: dict[str, float]
    test_ids: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    test_pd: np.ndarray
    importance: pl.DataFrame
    # test_x's columns when they are more than the model's: an imported model using a subset keeps every
    # platform feature in its reference sample, so a champion using others can be scored on its rows.
    test_names: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.test_names or self.model.feature_names

    def model_rows(self, rows: slice) -> np.ndarray:
        """Test rows in the model's feature order."""
        return self.model.columns_of(self.test_x[rows], self.columns)


def train(data: TrainingSet, config: TrainingConfig, log_candidate: CandidateLogger) -> TrainedModel:
    """The whole training recipe; every candidate tried is reported through `log_candidate`."""
    _, ids_te, x_tr, x_te, y_tr, y_te = train_test_split(
        data.client_ids, data.x, data.y, test_size=config.test_size, stratify=data.y, random_state=config.seed
    )
    x_tr = without_protected(x_tr, data.names, config.include_gender)
    monotone = monotone_constraints(data.names)
    params, cv = _choose_params(x_tr, y_tr, monotone, config, log_candidate)
    booster = refit(x_tr, y_tr, params, cv.best_iteration, config, monotone)
    policy = Validation(cv.oof, y_tr, x_tr, config.review_share)
    model, validation_pd = scoring_model(booster, data.names, data.feature_set_hash, policy)
    params = {
        **BASE_PARAMS,
        **params,
        "num_iterations": cv.best_iteration,
        **_monotone_param(data.names, monotone),
        "include_gender": config.include_gender,
    }
    return evaluated(model, params, policy.y, validation_pd, ids_te, x_te, y_te)


@dataclass(frozen=True)
class Validation:
    """What a booster's decision policy is set on: its out-of-fold (or held-out) raw scores and their
    TARGET, and the rows its input profile learns the usual ranges from (model order)."""

    scores: np.ndarray
    y: np.ndarray
    seen_x: np.ndarray
    review_share: float


def scoring_model(
    booster: lgb.Booster, names: tuple[str, ...], feature_set_hash: str, validation: Validation
) -> tuple[ScoringModel, np.ndarray]:
    """The booster as a ScoringModel: isotonic calibration, the cost threshold and the review band on the
    validation scores, the input profile from the rows it saw; also returns the validation PDs."""
    calibrator = fit_calibrator(validation.scores, validation.y)
    validation_pd = calibrator.transform(validation.scores)
    threshold = best_threshold(validation.y, validation_pd).threshold
    review = ReviewBand.around(validation_pd, threshold, validation.review_share)
    gain = booster.feature_importance("gain")
    profile = InputProfile.learn(validation.seen_x, names, CATEGORICAL, gain)
    model = ScoringModel(booster, calibrator, threshold, names, feature_set_hash, review, profile)
    return model, validation_pd


def evaluated(
    model: ScoringModel,
    params: dict[str, Any],
    validation_y: np.ndarray,
    validation_pd: np.ndarray,
    test_ids: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    test_names: tuple[str, ...] = (),
) -> TrainedModel:
    """Validation and test metrics and SHAP importance on the test rows (`test_names`: their columns, when
    more than the model's)."""
    rows = model.columns_of(test_x, test_names or model.feature_names)
    test_pd = model.predict_pd(rows)
    return TrainedModel(
        model=model,
        params=params,
        validation=decision_metrics(validation_y, validation_pd, model.threshold),
        test=decision_metrics(test_y, test_pd, model.threshold),
        test_ids=test_ids,
        test_x=test_x,
        test_y=test_y,
        test_pd=test_pd,
        importance=global_importance(model.booster, rows[:IMPORTANCE_ROWS], model.feature_names),
        test_names=test_names,
    )


def _choose_params(
    x: np.ndarray,
    y: np.ndarray,
    monotone: tuple[int, ...],
    config: TrainingConfig,
    log_candidate: CandidateLogger,
) -> Candidate:
    """Baselines, imbalance options, search and its confirmation on a stratified sample (the budget;
    same rows and folds, so their CV figures compare), then the chosen params cross-validated on every
    training row for the OOF predictions and the number of rounds. Defaults follow the training rows."""
    sample = _search_sample(y, config)
    xs, ys = x[sample], y[sample]
    _run_baselines(xs, ys, config, log_candidate)
    start = _best_imbalance_option(xs, ys, default_params(len(y)), monotone, config, log_candidate)
    trial_numbers = iter(range(1, config.trials + 1))

    def log_trial(params: dict[str, Any], result: CvResult) -> None:
        log_candidate(f"trial-{next(trial_numbers)}", params, {"cv_auc": result.auc})

    def log_confirmation(name: str, params: dict[str, Any], mean_auc: float) -> None:
        log_candidate(f"confirm-{name}", params, {"cv_auc_fresh_folds": mean_auc})

    winner = search(xs, ys, start, config, log_trial, monotone)
    params, cv = confirm(xs, ys, start, winner, config, log_confirmation, monotone)
    if len(sample) < len(y):
        cv = cross_validate(x, y, params, config, monotone)
        log_candidate("chosen-all-rows", params, {"cv_auc": cv.auc})
    return params, cv


def _search_sample(y: np.ndarray, config: TrainingConfig) -> np.ndarray:
    """Row indices for the search: all rows, or a stratified sample of `search_rows`."""
    rows = np.arange(len(y))
    if len(y) <= config.search_rows:
        return rows
    sample, _ = train_test_split(rows, train_size=config.search_rows, stratify=y, random_state=config.seed)
    return np.sort(sample)


def _run_baselines(
    x: np.ndarray, y: np.ndarray, config: TrainingConfig, log_candidate: CandidateLogger
) -> None:
    for name, estimator in baseline_models().items():
        oof = baseline_oof(estimator, x, y, config.folds, config.seed)
        threshold = best_threshold(y, oof).threshold
        log_candidate(f"baseline-{name}", {"estimator": repr(estimator)}, decision_metrics(y, oof, threshold))


def _best_imbalance_option(
    x: np.ndarray,
    y: np.ndarray,
    defaults: dict[str, Any],
    monotone: tuple[int, ...],
    config: TrainingConfig,
    log_candidate: CandidateLogger,
) -> Candidate:
    """Each option with the default parameters; the best by CV AUC is kept fixed during the search."""
    tried = []
    for name, option in imbalance_options(y).items():
        params = {**defaults, **option}
        result = cross_validate(x, y, params, config, monotone)
        log_candidate(f"imbalance-{name}", {"imbalance": name, **params}, {"cv_auc": result.auc})
        tried.append((params, result))
    return max(tried, key=lambda item: item[1].auc)


def _monotone_param(names: tuple[str, ...], monotone: tuple[int, ...]) -> dict[str, str]:
    """The constrained features as one readable MLflow param (the raw vector has one entry per feature)."""
    directions = [f"{name}:{d:+d}" for name, d in zip(names, monotone, strict=True) if d]
    return {"monotone_constraints": " ".join(directions)}
