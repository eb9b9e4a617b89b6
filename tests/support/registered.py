"""Real MLflow registries for tests: an empty SQLite registry per test where no server is under test
(`empty_registry`), and versions in the format training writes (`register`: plain `scoring/` files and
the training tags; the pyfunc flavour is left out, the service never loads it and inferring its pip
requirements takes ~20 s; `registry_with_version`: a registry holding a champion)."""

import atexit
import contextlib
import functools
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import mlflow
import polars as pl
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from services.model.evaluation import decision_metrics
from services.model.mlflow_uri import use_experiment
from services.model.model import ScoringModel
from services.model.model_store import SCORING_ARTIFACT_DIR
from services.model.reference import REFERENCE_ARTIFACT
from services.model.registry import CHAMPION, MODEL_NAME, tag_new_version
from tests.support.models import ROWS, planted_training_set

VALIDATION_AUC = 0.78
EXPERIMENT = "scoring-service-tests"
REGISTRY_FILE = "mlflow.db"  # its artifacts go beside it, in artifacts/ (services/model/mlflow_uri.py)


def empty_registry(root: Path) -> str:
    """Tracking URI of an empty SQLite registry in `root`: a copy of one migrated once per process
    (MLflow's schema migrations take ~2.5 s per new database, the copy ~0.05 s)."""
    shutil.copy(_migrated_registry(), root / REGISTRY_FILE)
    return f"sqlite:///{root / REGISTRY_FILE}"


@functools.cache
def _migrated_registry() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="mlflow-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / REGISTRY_FILE
    MlflowClient(f"sqlite:///{path}").search_experiments()  # creates and migrates the schema
    return path


def registry_with_version(root: Path, reference: pl.DataFrame) -> str:
    """Tracking URI of a fresh registry holding version 1, the champion, with `reference` logged."""
    uri = empty_registry(root)
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


def register(model: ScoringModel, seed: int, damage: Callable[[Path], None] | None = None) -> str:
    """Log `model`'s plain files in a run, register it, tag it like training does; returns the version.

    `damage` may alter the saved files before they are logged (corrupt or missing artifacts)."""
    data = planted_training_set(ROWS, seed)
    pd_values = model.predict_pd(data.x)
    metrics = decision_metrics(data.y, pd_values, model.threshold)
    # Name the experiment: mlflow caches the active experiment id per process, and another test may have
    # set one on a different tracking server. On a SQLite registry its artifacts go beside the file.
    use_experiment(EXPERIMENT)
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
    tag_new_version(version, run.info.run_id, model, (metrics, metrics), author="tests")
    return version
