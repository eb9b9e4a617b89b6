"""`credit train` on a laptop: a standard MLflow URI (a SQLite file or a local folder) needs no server."""

from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from services.cli import app
from services.data.loader import load_directory
from services.data.synth import generate
from services.feature_store.build import build

FAST = ["--trials", "0", "--folds", "3", "--threads", "1"]


@pytest.mark.parametrize("store", ["sqlite", "folder"])
def test_train_registers_then_scores_without_a_tracking_server(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}" if store == "sqlite" else (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)  # artifacts of a SQLite store default to ./mlruns
    generate(300, seed=5, out=tmp_path / "synth")
    load_directory(database_url, tmp_path / "synth")
    build(database_url)
    try:
        trained = CliRunner().invoke(app, ["train", *FAST, "--experiment", f"laptop-{store}"])
        assert trained.exit_code == 0, trained.output
        assert "registered credit-scoring version 1 as 'challenger'" in trained.output
        listed = CliRunner().invoke(app, ["model", "list"])
        assert listed.exit_code == 0, listed.output
        assert "challenger" in listed.output
        client = CliRunner().invoke(app, ["score", "--client", "100002", "--alias", "challenger"])
        assert client.exit_code == 0, client.output
        assert '"MODEL_VERSION": "1"' in client.output
    finally:
        mlflow.set_tracking_uri(None)  # the next test in this worker starts from its own URI
