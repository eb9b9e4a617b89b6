"""A real MLflow registry in a temporary directory (SQLite store, local artifacts): one registered version
whose run carries a reference sample and whose tags carry its validation AUC, as training leaves them."""

from pathlib import Path

import polars as pl
from mlflow import MlflowClient

from services.model.registry import CHAMPION, MODEL_NAME
from services.monitoring.reference import REFERENCE_ARTIFACT

VALIDATION_AUC = 0.78


def registry_with_version(root: Path, reference: pl.DataFrame) -> str:
    """Tracking URI of a fresh registry holding version 1, the champion, with `reference` logged."""
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("monitoring-tests", artifact_location=(root / "artifacts").as_uri())
    run = client.create_run(experiment)
    path = root / REFERENCE_ARTIFACT
    reference.write_parquet(path)
    client.log_artifact(run.info.run_id, str(path))
    client.set_terminated(run.info.run_id)
    client.create_registered_model(MODEL_NAME)
    version = client.create_model_version(MODEL_NAME, run.info.artifact_uri, run_id=run.info.run_id)
    client.set_model_version_tag(MODEL_NAME, version.version, "val_roc_auc", str(VALIDATION_AUC))
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, version.version)
    return uri
