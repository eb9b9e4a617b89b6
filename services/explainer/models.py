"""Model versions as the worker needs them, loaded once per process and kept in a small LRU.

A version is immutable in the registry, so a cached copy never goes stale; the LRU only bounds memory.
"""

import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import httpx
import mlflow
import polars as pl
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from services.explainer.metrics import MODEL_CACHE
from services.explainer.reasons import Families
from services.model.model import ScoringModel
from services.model.model_store import ModelVersionNotFound, load_version
from services.model.registry import MODEL_NAME

REFERENCE_ARTIFACT = "reference_sample.parquet"


class TrackingUnreachable(ConnectionError):
    """MLflow cannot be reached: transient, the task is retried."""


@dataclass(frozen=True)
class LoadedVersion:
    model: ScoringModel
    repaid_medians: dict[str, float]  # per feature over the reference sample's repaid clients
    families: Families


def loaded_version(model: ScoringModel, reference: pl.DataFrame) -> LoadedVersion:
    """The model with what its reasons need: its families, and typical repaid clients (TARGET 0)."""
    repaid = reference.filter(pl.col("TARGET") == 0).select(model.feature_names)
    medians = repaid.median().row(0, named=True)
    known = {name: float(value) for name, value in medians.items() if value is not None}
    return LoadedVersion(model, known, Families.of(model.feature_names))


class VersionCache:
    def __init__(self, tracking_uri: str, size: int) -> None:
        self.tracking_uri = tracking_uri
        self.size = size
        self._versions: OrderedDict[str, LoadedVersion] = OrderedDict()

    def get(self, version: str) -> LoadedVersion:
        if version in self._versions:
            MODEL_CACHE.labels("hit").inc()
            self._versions.move_to_end(version)
            return self._versions[version]
        MODEL_CACHE.labels("miss").inc()
        loaded = self._load(version)
        self._versions[version] = loaded
        if len(self._versions) > self.size:
            self._versions.popitem(last=False)
        return loaded

    def reference(self, version: str) -> pl.DataFrame:
        """The version's reference sample (features + SK_ID_CURR, TARGET, PD, DECISION) from its run."""
        self._require_tracking()
        client = MlflowClient(self.tracking_uri)
        try:
            run_id = client.get_model_version(MODEL_NAME, version).run_id
        except MlflowException:
            raise ModelVersionNotFound(f"{MODEL_NAME} has no version {version}") from None
        with tempfile.TemporaryDirectory() as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=tmp, tracking_uri=self.tracking_uri
            )
            return pl.read_parquet(Path(path))

    def _load(self, version: str) -> LoadedVersion:
        self._require_tracking()
        model = load_version(version, MlflowClient(self.tracking_uri))
        return loaded_version(model, self.reference(version))

    def _require_tracking(self) -> None:
        """Ask /health first: MLflow's client would retry an outage for minutes, and the registry lookup
        reports an outage as "no such version", which must not fail a task for good."""
        try:
            httpx.get(f"{self.tracking_uri.rstrip('/')}/health", timeout=2.0).raise_for_status()
        except httpx.HTTPError as error:
            raise TrackingUnreachable(f"MLflow at {self.tracking_uri} is unreachable ({error})") from None
