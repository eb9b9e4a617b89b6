"""Small champions registered in an MLflow registry as the training pipeline lays them out (`scoring/`
plain files, `reference_sample.parquet`, the validation AUC tag, an alias)."""

import tempfile
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import polars as pl
from mlflow import MlflowClient
from sklearn.metrics import roc_auc_score

from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.model.calibration import fit_calibrator
from services.model.model import ScoringModel
from services.model.policy import REVIEW_SHARE, InputProfile, ReviewBand
from services.model.registry import MODEL_NAME


def register_version(model: ScoringModel, reference: pl.DataFrame, tracking_uri: str) -> str:
    """Log `scoring/` and `reference_sample.parquet` as the training pipeline does; register a version."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("explainer-tests")
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run() as run:
        model.save(Path(tmp) / "scoring")
        mlflow.log_artifacts(str(Path(tmp) / "scoring"), "scoring")
        reference.write_parquet(Path(tmp) / "reference_sample.parquet")
        mlflow.log_artifact(str(Path(tmp) / "reference_sample.parquet"))
    client = MlflowClient(tracking_uri)
    if not client.search_registered_models(f"name = '{MODEL_NAME}'"):
        client.create_registered_model(MODEL_NAME)
    version = client.create_model_version(MODEL_NAME, f"runs:/{run.info.run_id}/scoring", run.info.run_id)
    return str(version.version)


# What the platform's champion "saw in training": the features' vectors are not its random training rows,
# so the profile is set by hand, one rule of each kind the gateway tests exercise.
PROFILE = InputProfile(
    ranges={"app_amt_income_total": (25_000.0, 5_000_000.0)},
    categories={"app_code_gender_code": (0.0, 1.0)},  # F, M: XNA is unseen
    relied_on=("app_ext_source_1", "app_ext_source_2", "app_ext_source_3"),
    min_present=1,
)


def champion_on_catalog_names(
    tracking_uri: str, rows: int = 2000, seed: int = 11, alias: str = "champion"
) -> str:
    """A small LightGBM ScoringModel over the catalog's feature names (so the features service's vectors fit
    it), registered as the training pipeline lays it out (with its AUC as `val_roc_auc`) and given `alias`;
    returns its version. Risk falls with the external scores, as in the real data."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(NAMES)))
    safe = [NAMES.index(n) for n in ("app_ext_source_2", "app_ext_source_3")]
    y = (rng.random(rows) < 1 / (1 + np.exp(1.5 + x[:, safe].sum(axis=1)))).astype(int)
    params = {"objective": "binary", "num_leaves": 8, "learning_rate": 0.1, "verbose": -1, "seed": seed}
    booster = lgb.train(params, lgb.Dataset(x, y, feature_name=list(NAMES)), num_boost_round=30)
    calibrator = fit_calibrator(booster.predict(x), y)
    pd_values = calibrator.transform(booster.predict(x))
    threshold = float(np.quantile(pd_values, 0.8))
    review = ReviewBand.around(pd_values, threshold, REVIEW_SHARE)
    model = ScoringModel(booster, calibrator, threshold, NAMES, FEATURE_SET_HASH, review, PROFILE)
    reference = pl.DataFrame(x[:300], schema=list(NAMES), orient="row").with_columns(
        pl.Series("SK_ID_CURR", np.arange(300)),
        pl.Series("TARGET", y[:300]),
        pl.Series("PD", pd_values[:300]),
        pl.Series("DECISION", model.decide(pd_values[:300])),
    )
    version = register_version(model, reference, tracking_uri)
    client = MlflowClient(tracking_uri)
    client.set_model_version_tag(MODEL_NAME, version, "val_roc_auc", f"{roc_auc_score(y, pd_values):.6f}")
    client.set_registered_model_alias(MODEL_NAME, alias, version)
    return version
