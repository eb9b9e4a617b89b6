"""Small real models registered in the real MLflow registry, in the format training writes.

The booster, calibrator and threshold come from the training code's own functions on planted data; the
version gets its `scoring/` plain files and the training tags (`registry.tag_new_version`). The pyfunc
flavour is left out: the service never loads it, and inferring its pip requirements takes ~20 s.
"""

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import polars as pl
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from scoring.planted import planted_training_set

from services.model.calibration import fit_calibrator
from services.model.cost import best_threshold
from services.model.evaluation import decision_metrics
from services.model.model import ScoringModel
from services.model.model_store import SCORING_ARTIFACT_DIR
from services.model.policy import REVIEW_SHARE, InputProfile, ReviewBand
from services.model.registry import MODEL_NAME, tag_new_version
from services.training.pipeline import TrainedModel

ROWS = 600
ROUNDS = 20


def small_model(seed: int, feature_set_hash: str) -> ScoringModel:
    """A LightGBM + isotonic calibrator on planted data; `seed` makes versions predict differently."""
    data = planted_training_set(ROWS, seed)
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "seed": seed, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(data.x, data.y), num_boost_round=ROUNDS)
    raw = booster.predict(data.x)
    calibrator = fit_calibrator(raw, data.y)
    pd_values = calibrator.transform(raw)
    threshold = best_threshold(data.y, pd_values).threshold
    review = ReviewBand.around(pd_values, threshold, REVIEW_SHARE)
    profile = InputProfile.learn(data.x, data.names, set(), booster.feature_importance("gain"))
    return ScoringModel(booster, calibrator, threshold, data.names, feature_set_hash, review, profile)


def register(model: ScoringModel, seed: int, damage: Callable[[Path], None] | None = None) -> str:
    """Log `model`'s plain files in a run, register it, tag it like training does; returns the version.

    `damage` may alter the saved files before they are logged (corrupt or missing artifacts)."""
    data = planted_training_set(ROWS, seed)
    pd_values = model.predict_pd(data.x)
    metrics = decision_metrics(data.y, pd_values, model.threshold)
    trained = TrainedModel(
        model, {}, metrics, metrics, data.client_ids, data.x, data.y, pd_values, pl.DataFrame()
    )
    # Name the experiment: mlflow caches the active experiment id per process, and another test may have
    # set one on a different tracking server.
    mlflow.set_experiment("scoring-service-tests")
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run() as run:
        model.save(Path(tmp))
        if damage is not None:
            damage(Path(tmp))
        mlflow.log_artifacts(tmp, SCORING_ARTIFACT_DIR)
        source = mlflow.get_artifact_uri(SCORING_ARTIFACT_DIR)
    client = MlflowClient()
    with contextlib.suppress(MlflowException):  # already registered by an earlier version
        client.create_registered_model(MODEL_NAME)
    version = str(client.create_model_version(MODEL_NAME, source, run.info.run_id).version)
    tag_new_version(version, run.info.run_id, trained, author="tests")
    return version


def register_small(seed: int, feature_set_hash: str) -> str:
    return register(small_model(seed, feature_set_hash), seed)


def planted_rows(n: int, seed: int) -> list[dict[str, float | None]]:
    """Request rows (null for missing) with the planted feature names."""
    data = planted_training_set(n, seed)
    return [
        {name: None if np.isnan(v) else float(v) for name, v in zip(data.names, row, strict=True)}
        for row in data.x
    ]
