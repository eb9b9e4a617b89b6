"""The reference sample of a registered model version: `reference_sample.parquet` logged on its run.

It holds held-out rows with every model feature plus SK_ID_CURR, TARGET, PD and DECISION (see
services/training/tracking.py); drift is measured against it. Samples are cached per version: a version's
artifacts never change. The version's validation AUC is read from its tags beside it.
"""

import functools
import tempfile
from pathlib import Path

import mlflow
import polars as pl
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from services.model.model_store import resolve_alias
from services.model.registry import MODEL_NAME

REFERENCE_ARTIFACT = "reference_sample.parquet"
NON_FEATURE_COLUMNS = ("SK_ID_CURR", "TARGET", "PD", "DECISION")


class ReferenceUnavailable(LookupError):
    """No version behind the alias: nothing to compare with yet (the run is skipped)."""


class ModelUnreadable(RuntimeError):
    """The serving version exists but its registry entry or reference sample cannot be read (the run
    fails: something that should be there is broken)."""


def serving_version(tracking_uri: str, alias: str) -> str:
    """The version behind the alias the scoring service follows."""
    version = resolve_alias(alias, MlflowClient(tracking_uri))
    if version is None:
        raise ReferenceUnavailable(f"no version of {MODEL_NAME} has alias '{alias}'")
    return version


@functools.lru_cache(maxsize=4)
def reference_sample(tracking_uri: str, version: str) -> pl.DataFrame:
    client = MlflowClient(tracking_uri)
    try:
        run_id = client.get_model_version(MODEL_NAME, version).run_id
    except MlflowException as error:
        raise ModelUnreadable(f"{MODEL_NAME} version {version} cannot be read: {error}") from None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=tmp, tracking_uri=tracking_uri
            )
        except (MlflowException, OSError) as error:
            raise ModelUnreadable(
                f"version {version} (run {run_id}) has no readable {REFERENCE_ARTIFACT}: {error}"
            ) from None
        return pl.read_parquet(Path(local))


def validation_auc(tracking_uri: str, version: str) -> float | None:
    """The version's validation AUC (tag `val_roc_auc`, set by training), the figure estimates are held to."""
    try:
        tags = MlflowClient(tracking_uri).get_model_version(MODEL_NAME, version).tags
    except MlflowException as error:
        raise ModelUnreadable(f"{MODEL_NAME} version {version} cannot be read: {error}") from None
    return float(tags["val_roc_auc"]) if "val_roc_auc" in tags else None


def feature_columns(reference: pl.DataFrame) -> list[str]:
    return [c for c in reference.columns if c not in NON_FEATURE_COLUMNS]
