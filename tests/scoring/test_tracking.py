"""A full small training run against a real MLflow registry (SQLite): runs, metrics, artifacts, registry."""

import socket

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from services.cli import app
from services.model import mlflow_uri, model_store, registry
from services.training.cli import train_and_register
from services.training.cross_validation import TrainingConfig
from tests.support.models import planted_training_set

SMALL = TrainingConfig(trials=1, folds=3, threads=1)  # one thread per xdist worker
EXPECTED_ARTIFACTS = {
    "plots/roc_curve.png", "plots/pr_curve.png", "plots/cost_vs_threshold.png", "plots/calibration_curve.png",
    "plots/confusion_matrix.png", "plots/shap_importance.png", "shap_importance.csv", "features.json",
    "reference_sample.parquet", "scoring/model.txt", "scoring/calibrator.json", "scoring/model.json",
}  # fmt: skip


def artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> set[str]:
    found = set()
    for item in client.list_artifacts(run_id, path):
        found |= artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return found


def test_training_run_logs_parent_children_artifacts_and_registers_challenger(tracking_uri: str) -> None:
    mlflow_uri.connect(tracking_uri)
    data = planted_training_set(2000, seed=1)
    report = train_and_register(data, SMALL, "test-full-run")
    run_id, version = report.run_id, report.version
    client = MlflowClient()
    run = client.get_run(run_id)
    for metric in ("val_roc_auc", "test_roc_auc", "test_cost_per_app", "test_ks", "test_brier", "test_ece",
                   "test_approval_rate", "threshold"):  # fmt: skip
        assert metric in run.data.metrics
    assert run.data.params["objective"] == "binary"
    assert run.data.params["include_gender"] == "False"
    assert artifact_paths(client, run_id) >= EXPECTED_ARTIFACTS
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'"
    )
    names = {child.info.run_name for child in children}
    assert {"baseline-dummy", "baseline-logistic_regression", "trial-1"} <= names
    assert str(client.get_model_version_by_alias(registry.MODEL_NAME, registry.CHALLENGER).version) == version
    tags = client.get_model_version(registry.MODEL_NAME, version).tags
    assert tags["feature_set_hash"] == "planted-hash"
    assert 0 < float(tags["threshold"]) < 1
    assert float(tags["val_roc_auc"]) == pytest.approx(run.data.metrics["val_roc_auc"], abs=1e-6)

    # the pyfunc and the plain files the scoring service loads give the same PDs
    pyfunc = mlflow.pyfunc.load_model(f"models:/{registry.MODEL_NAME}@{registry.CHALLENGER}")
    plain, loaded_version = model_store.load_alias(registry.CHALLENGER)
    predicted = pyfunc.predict(pd.DataFrame(data.x[:50], columns=list(data.names)))
    assert loaded_version == version
    assert predicted["PD"].to_numpy() == pytest.approx(plain.predict_pd(data.x[:50]))
    assert set(predicted["DECISION"]) <= {"approved", "review", "refused"}


def test_tracking_server_down_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket is closed
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    result = CliRunner().invoke(app, ["model", "list"])
    assert result.exit_code == 1
    assert f"MLflow tracking server at http://127.0.0.1:{port} is not reachable" in result.output
    assert "Traceback" not in result.output
