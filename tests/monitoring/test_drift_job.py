"""Drift jobs end to end: logged decisions vs the serving version's reference sample from MLflow, results
and the Evidently report stored in Postgres and served over HTTP."""

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from services.cli import app as credit
from services.feature_definitions.catalog import NAMES
from services.model.reference import REFERENCE_ARTIFACT
from services.monitoring.app import create_app
from services.monitoring.settings import MonitoringSettings
from services.monitoring.window import PD_COLUMN, load_window
from tests.monitoring.factories import (
    decision,
    decisions_from_features,
    reference_from_features,
    write_decisions,
)
from tests.support.registered import VALIDATION_AUC, registry_with_version

# The application features (the first 150 include every drifted application column): the full feature
# set is tested in test_drift.py; here the job around the tests is under test, so keep it quick.
COLUMNS = ["sk_id_curr", *NAMES[:150]]


@pytest.fixture(scope="session")
def registry_uri(tmp_path_factory: pytest.TempPathFactory, feature_sets: dict[str, pl.DataFrame]) -> str:
    """Version 1 is the champion; its reference sample is the undrifted reference set."""
    reference = reference_from_features(feature_sets["reference"].select(COLUMNS), seed=1)
    return registry_with_version(tmp_path_factory.mktemp("registry"), reference)


@pytest.fixture
def drifted_log(
    settings: MonitoringSettings, feature_sets: dict[str, pl.DataFrame], registry_uri: str
) -> MonitoringSettings:
    """Drifted traffic logged under version 1."""
    write_decisions(settings, decisions_from_features(feature_sets["drifted"].select(COLUMNS), "1", seed=2))
    return settings.model_copy(update={"mlflow_tracking_uri": registry_uri})


def test_drift_run_stores_results_and_serves_the_report(drifted_log: MonitoringSettings) -> None:
    with TestClient(create_app(drifted_log)) as client:
        run = client.post("/drift/run").json()
        assert run["status"] == "ok", run["error"]
        assert run["model_version"] == "1"
        assert run["current_rows"] == 2000 and run["reference_rows"] == 2000
        assert run["features_tested"] > 140
        assert 10 < run["drifted_features"] < 0.5 * run["features_tested"]
        assert not run["dataset_drift"]
        assert run["score_psi"] is not None
        assert run["top_features"][0]["drifted"]
        assert client.get("/drift/latest").json()["id"] == run["id"]
        report = client.get(run["report_url"])
        assert report.status_code == 200
        assert report.headers["content-type"].startswith("text/html")
        assert run["top_features"][0]["feature"] in report.text
        metrics = client.get("/metrics").text
        assert f"monitoring_drifted_features {float(run['drifted_features'])}" in metrics
        assert 'monitoring_drift_runs_total{status="ok"} 1.0' in metrics
        assert f"monitoring_validation_auc {VALIDATION_AUC}" in metrics


def test_drift_cli_prints_the_run(drifted_log: MonitoringSettings) -> None:
    env = {
        "DATABASE_URL": drifted_log.database_url,
        "MLFLOW_TRACKING_URI": drifted_log.mlflow_tracking_uri,
        "MONITORING_DRIFT_MIN_ROWS": "50",
        "MONITORING_DRIFT_REPORT_FEATURES": "3",
    }
    result = CliRunner().invoke(credit, ["monitor", "drift", "--window", "500"], env=env)
    assert result.exit_code == 0, result.output
    assert '"current_rows": 500' in result.output


def test_too_few_decisions_is_a_skipped_run(
    settings: MonitoringSettings, feature_sets: dict[str, pl.DataFrame], registry_uri: str
) -> None:
    write_decisions(settings, decisions_from_features(feature_sets["current"].head(10), "1", seed=3))
    with TestClient(create_app(settings.model_copy(update={"mlflow_tracking_uri": registry_uri}))) as client:
        run = client.post("/drift/run").json()
        assert run["status"] == "skipped"
        assert "10 decisions of version 1" in run["error"]
        assert run["report_url"] is None
        assert client.get(f"/drift/reports/{run['id']}").status_code == 404


def test_no_serving_version_is_a_skipped_run(settings: MonitoringSettings, registry_uri: str) -> None:
    unused_alias = settings.model_copy(update={"mlflow_tracking_uri": registry_uri, "model_alias": "nobody"})
    with TestClient(create_app(unused_alias)) as client:
        assert client.get("/drift/latest").status_code == 404
        run = client.post("/drift/run").json()
        assert run["status"] == "skipped"
        assert "alias 'nobody'" in run["error"]


def test_window_reads_the_latest_vectors_back_with_missing_values(settings: MonitoringSettings) -> None:
    older = decision(features={"a": 1.0, "b": None}, pd=0.2, time=datetime(2026, 1, 1, tzinfo=UTC))
    newer = [decision(features={"a": 2.0, "b": 3.5}, pd=0.4, time=datetime(2026, 1, 2, tzinfo=UTC))]
    other_version = decision(features={"a": 9.0}, model_version="2")
    write_decisions(settings, [older, *newer, other_version])
    window = load_window(settings.database_url, "1", ["a", "b", "c"], rows=10)
    assert window.frame.to_dicts() == [
        {"a": 2.0, "b": 3.5, "c": None, PD_COLUMN: 0.4},
        {"a": 1.0, "b": None, "c": None, PD_COLUMN: 0.2},
    ]
    assert window.start == datetime(2026, 1, 1, tzinfo=UTC) and window.end == datetime(2026, 1, 2, tzinfo=UTC)
    assert load_window(settings.database_url, "1", ["a"], rows=1).frame["a"].to_list() == [2.0]
    assert load_window(settings.database_url, "3", ["a"], rows=10).rows == 0


def test_a_version_whose_files_cannot_be_read_is_a_failed_run(
    settings: MonitoringSettings, feature_sets: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    reference = reference_from_features(feature_sets["reference"].select(COLUMNS[:20]), seed=1)
    uri = registry_with_version(tmp_path, reference)
    shutil.rmtree(tmp_path / "artifacts")  # the version is registered, its files are gone
    with TestClient(create_app(settings.model_copy(update={"mlflow_tracking_uri": uri}))) as client:
        run = client.post("/drift/run").json()
        metrics = client.get("/metrics").text
    assert run["status"] == "failed"
    assert run["error"].startswith("ModelUnreadable: version 1") and REFERENCE_ARTIFACT in run["error"]
    assert 'monitoring_drift_runs_total{status="failed"} 1.0' in metrics
    assert 'monitoring_drift_job_duration_seconds{status="failed"}' in metrics


def test_two_drift_jobs_started_at_once_run_one_and_refuse_the_other(drifted_log: MonitoringSettings) -> None:
    start = threading.Barrier(2)
    with TestClient(create_app(drifted_log)) as client:

        def run() -> tuple[int, dict]:
            start.wait()
            response = client.post("/drift/run")
            return response.status_code, response.json()

        with ThreadPoolExecutor(2) as pool:
            answers = sorted(pool.map(lambda _: run(), range(2)), key=lambda answer: answer[0])
        assert [status for status, _ in answers] == [200, 409]
        assert answers[0][1]["status"] == "ok"
        assert answers[1][1]["error"]["code"] == "job_running"
        assert client.get("/metrics").text.count('monitoring_drift_runs_total{status="ok"} 1.0') == 1
