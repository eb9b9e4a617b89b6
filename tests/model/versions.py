"""Small real model versions for the lifecycle tests: LightGBM + isotonic calibration on synthetic rows
that carry the application's gender code and age (the fairness gates read them), registered in a real
MLflow registry with training's tags, plain model files and reference sample (tracking.reference_sample)."""

import tempfile
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import polars as pl
from mlflow import MlflowClient

from services.model.calibration import fit_calibrator
from services.model.cost import best_threshold
from services.model.evaluation import decision_metrics
from services.model.mlflow_uri import use_experiment
from services.model.model import ScoringModel
from services.model.model_store import SCORING_ARTIFACT_DIR
from services.model.policy import REVIEW_SHARE, ReviewBand
from services.model.registry import MODEL_NAME, tag_new_version
from services.training.pipeline import TrainedModel
from services.training.tracking import reference_sample

NAMES = ("feature_0", "feature_1", "feature_2", "app_code_gender_code", "app_age_years")
ROWS = 3000
EXPERIMENT = "lifecycle-tests"


def rows(n: int, seed: int, signal: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Features and TARGET: risk from feature_0 and feature_1 (scaled by `signal`), genders F/M coded
    0/1, ages 21-68 with no effect of their own."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [rng.normal(size=(n, 3)), rng.integers(0, 2, n).astype(float), rng.uniform(21, 68, n)]
    )
    z = -2.2 + signal * (1.3 * x[:, 0] - 0.9 * x[:, 1])
    return x, (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int64)


def fit(seed: int, signal: float = 1.0) -> ScoringModel:
    x, y = rows(ROWS, seed, signal)
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "seed": seed, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=30)
    calibrator = fit_calibrator(booster.predict(x), y)
    pd_values = calibrator.transform(booster.predict(x))
    threshold = best_threshold(y, pd_values).threshold
    review = ReviewBand.around(pd_values, threshold, REVIEW_SHARE)
    return ScoringModel(booster, calibrator, threshold, NAMES, "lifecycle-test-hash", review)


def register(model: ScoringModel, author: str, holdout_seed: int = 99) -> str:
    """One run with the plain model files and a reference sample of held-out rows; returns the version."""
    x, y = rows(2000, holdout_seed)
    pd_values = model.predict_pd(x)
    metrics = decision_metrics(y, pd_values, model.threshold)
    ids = np.arange(len(y))
    trained = TrainedModel(model, {}, metrics, metrics, ids, x, y, pd_values, pl.DataFrame())
    use_experiment(EXPERIMENT)  # artifacts beside the SQLite registry
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run() as run:
        model.save(Path(tmp) / "scoring")
        mlflow.log_artifacts(str(Path(tmp) / "scoring"), SCORING_ARTIFACT_DIR)
        reference_sample(trained).write_parquet(Path(tmp) / "reference_sample.parquet")
        mlflow.log_artifact(str(Path(tmp) / "reference_sample.parquet"))
        source = mlflow.get_artifact_uri(SCORING_ARTIFACT_DIR)
    client = MlflowClient()
    if not client.search_registered_models(f"name = '{MODEL_NAME}'"):
        client.create_registered_model(MODEL_NAME)
    version = str(client.create_model_version(MODEL_NAME, source, run.info.run_id).version)
    tag_new_version(version, run.info.run_id, trained.model, (trained.validation, trained.test), author)
    return version
