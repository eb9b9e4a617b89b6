"""`credit bootstrap`, the first-run step `make demo` and Compose share: a fresh registry gets a champion
through the governed lifecycle; a second run with a champion that loads does nothing; a champion whose
artifacts are gone (as after `make clean`, the registry kept) is replaced by a new training, its
promotion forced with the recorded justification. A SQLite registry: no server is under test here."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient

from services.model.registry import CHAMPION, MODEL_NAME

CLIENTS = "300"


def bootstrap(env: dict[str, str], cwd: Path) -> str:
    finished = subprocess.run(
        ["credit", "bootstrap", str(cwd / "data"), CLIENTS, "0"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert finished.returncode == 0, (finished.stdout + finished.stderr)[-6000:]
    return finished.stdout


def test_bootstrap_makes_a_champion_keeps_it_and_replaces_one_without_artifacts(
    database_url: str, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # artifacts beside it, in artifacts/ (mlflow_uri.py)
    env = {**os.environ, "DATABASE_URL": database_url, "MLFLOW_TRACKING_URI": uri,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    client = MlflowClient(uri)

    first = bootstrap(env, tmp_path)
    assert "generating 300 synthetic clients" in first
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version) == "1"

    assert "version 1 is the champion already; nothing to do" in bootstrap(env, tmp_path)

    shutil.rmtree(tmp_path / "artifacts")  # as `make clean` does; the registry stays
    again = bootstrap(env, tmp_path)
    assert "champion version 1 cannot be loaded (its artifacts are gone); training a new one" in again
    assert "generating" not in again  # the data folder is kept
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version) == "2"
    history = subprocess.run(
        ["credit", "model", "history"], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert "forced" in history and "has lost its artifacts" in history
