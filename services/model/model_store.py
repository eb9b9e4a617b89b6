"""Fetch registered model versions from MLflow as plain ScoringModel files (no pyfunc on the hot path).

Used by the scoring service (follows an alias) and the explainer (asks for an exact version).
"""

import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from services.model.model import ScoringModel
from services.model.registry import MODEL_NAME

SCORING_ARTIFACT_DIR = "scoring"


class ModelVersionNotFound(LookupError):
    """The registry has no such version or alias; the message names it."""


def resolve_alias(alias: str, client: MlflowClient | None = None) -> str | None:
    """The version number behind `alias`, or None when no version carries it."""
    try:
        version = (client or MlflowClient()).get_model_version_by_alias(MODEL_NAME, alias)
    except MlflowException:
        return None
    return str(version.version)


def load_version(version: str, client: MlflowClient | None = None) -> ScoringModel:
    """Download and load the booster, calibrator and metadata logged with `version`."""
    client = client or MlflowClient()
    try:
        run_id = client.get_model_version(MODEL_NAME, version).run_id
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise  # an outage is not a missing version: callers retry it
        raise ModelVersionNotFound(f"{MODEL_NAME} has no version {version}") from None
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=SCORING_ARTIFACT_DIR, dst_path=tmp, tracking_uri=client.tracking_uri
        )  # the client's server, not the process-wide default: a service may be given its own URI
        return ScoringModel.load(Path(local))


def load_alias(alias: str, client: MlflowClient | None = None) -> tuple[ScoringModel, str]:
    """The model behind `alias` and its version number (batch scoring, one-off jobs)."""
    client = client or MlflowClient()
    version = resolve_alias(alias, client)
    if version is None:
        raise ModelVersionNotFound(
            f"no version of {MODEL_NAME} has alias '{alias}'; train one or promote a version"
        )
    return load_version(version, client), version
