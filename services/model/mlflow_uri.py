"""Any MLflow tracking URI MLflow accepts: a server (checked first), a database, or a local folder."""

from pathlib import Path
from urllib.parse import urlparse

import httpx
import mlflow


class TrackingUnavailable(RuntimeError):
    """The MLflow tracking server cannot be reached; the message names the URI."""


def connect(tracking_uri: str) -> None:
    """Use any MLflow tracking URI: a server is checked first, to fail fast with one clear line instead of
    MLflow's minutes of retries; a database (`sqlite:///mlflow.db`) needs no server, and neither does a
    local folder, kept as a SQLite registry inside it (MLflow 3 retired its plain-file store)."""
    if tracking_uri.startswith(("http://", "https://")):
        try:
            httpx.get(f"{tracking_uri.rstrip('/')}/health", timeout=5.0).raise_for_status()
        except httpx.HTTPError as error:
            raise TrackingUnavailable(
                f"MLflow tracking server at {tracking_uri} is not reachable ({error}); start it with "
                "`python infra/mlflow/server.py`, or set MLFLOW_TRACKING_URI to sqlite:///mlflow.db"
            ) from None
    folder = _local_folder(tracking_uri)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking_uri)


def _local_folder(tracking_uri: str) -> Path | None:
    """The folder a `file:` URI or a plain path names; None for any other scheme."""
    if tracking_uri.startswith("file:"):
        return Path(urlparse(tracking_uri).path).resolve()
    if "://" not in tracking_uri and not tracking_uri.startswith(("sqlite:", "databricks")):
        return Path(tracking_uri).resolve()
    return None


def use_experiment(name: str) -> None:
    """Make `name` the active experiment, created on first use with its artifacts beside a SQLite registry
    (MLflow's default would be ./mlruns of the current folder)."""
    if mlflow.get_experiment_by_name(name) is None:
        mlflow.create_experiment(name, artifact_location=_artifact_root())
    mlflow.set_experiment(name)


def _artifact_root() -> str | None:
    uri = mlflow.get_tracking_uri()
    return (
        (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
        if uri.startswith("sqlite:///")
        else None
    )
