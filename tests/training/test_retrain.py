"""Continuous training on real parts: synthetic clients loaded into Postgres and their features built, a
real Celery training worker process on a throwaway redis-server, the real MLflow server. A trigger makes a
challenger with a stored promotion report, never a champion; a trigger during a running retraining starts
no second one; a killed worker's job is redone; promotion still needs a person's approval."""

import re
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from loopback.processes import RedisServer, Worker, wait_for
from services.cli import app as credit
from services.common.migrations import migrate
from services.contracts.training import RetrainRequest, Trigger
from services.data.loader import load_directory
from services.data.synth import generate
from services.feature_store.build import build
from services.model import audit, lifecycle, registry
from services.model.audit import Event
from services.model.gates import GateSettings
from services.model.model_store import resolve_alias
from services.monitoring import celery_app as monitoring_celery
from services.monitoring import drift_store
from services.monitoring.drift import DriftResult, FeatureDrift
from services.monitoring.drift_store import RunRecord
from services.monitoring.retraining import after_drift_run, retrain_request
from services.monitoring.settings import MonitoringSettings
from services.training.cli import train_and_register
from services.training.cross_validation import TrainingConfig
from services.training.dataset import load_training_set
from services.training.queue import QueueUnavailable, request_manual
from services.training.settings import TrainingSettings
from services.training.tasks import SCHEDULE_TASK, create_app

CLIENTS = 400
JOB_SECONDS = 180  # a retraining of 400 clients takes seconds; generous for a loaded machine
GATES = GateSettings(bootstrap_rounds=100)


@pytest.fixture
def labelled(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated database with synthetic clients and their materialised features."""
    migrate(database_url)
    generate(CLIENTS, seed=11, out=tmp_path / "synth")
    load_directory(database_url, tmp_path / "synth")
    build(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def champion(labelled: str, tracking_uri: str) -> str:
    """Version 1, trained by a person and serving: what a retrained challenger is compared with."""
    data = load_training_set(labelled)
    trained = train_and_register(data, TrainingConfig(trials=0, folds=2, threads=1), "retrain-tests", "alice")
    registry.set_champion(trained.version)
    return trained.version


@pytest.fixture
def broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    monkeypatch.setenv("REDIS_URL", server.url)
    yield server
    server.stop()


class Workers:
    """Training workers on the broker, the database and MLflow; one log for all of them."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.log = directory / "training-worker.log"
        self.env = env
        self.started: list[Worker] = []

    def start(self) -> Worker:
        worker = Worker(self.env, self.log, f"train{len(self.started)}", app="services.training.tasks")
        worker.start()
        self.started.append(worker)
        return worker

    def count(self, text: str) -> int:
        return self.log.read_text().count(text) if self.log.exists() else 0

    def wait_for_line(self, text: str, times: int = 1) -> None:
        wait_for(lambda: self.count(text) >= times, f"{text!r} x{times} in {self.log}", JOB_SECONDS)


@pytest.fixture
def workers(labelled: str, tracking_uri: str, broker: RedisServer, tmp_path: Path) -> Iterator[Workers]:
    env = {
        "DATABASE_URL": labelled,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "REDIS_URL": broker.url,
        "TRAINING_TRIALS": "0",
        "TRAINING_FOLDS": "2",
        "TRAINING_THREADS": "1",
        "TRAINING_EXPERIMENT": "retrain-tests",
        "TRAINING_TASK_DELAY_S": "4",  # the lock is held this long before training: time to trigger again
        "TRAINING_VISIBILITY_TIMEOUT_S": "3",
        "TRAINING_BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
        "GATES_BOOTSTRAP_ROUNDS": "100",
    }
    found = Workers(tmp_path, env)
    yield found
    for worker in found.started:
        worker.stop()


def drifted_run(database_url: str, version: str) -> int:
    """A stored drift run of `version` that found dataset drift."""
    now = datetime.now(UTC)
    features = [FeatureDrift(f"f{i}", "psi", 0.5, 0.1, True) for i in range(3)]
    result = DriftResult(features, drift_share=1.0, dataset_drift=True, score_psi=0.3)
    record = RunRecord("ok", now, now, 1.0, model_version=version, current_rows=500, validation_auc=0.7)
    with closing(psycopg2.connect(database_url)) as conn:
        return drift_store.save_run(conn, record, result)


def retrained(database_url: str) -> list[audit.AuditRow]:
    return [row for row in audit.history(database_url) if row.event == Event.RETRAINED]


def monitoring(database_url: str, redis_url: str, tmp_path: Path, **flags: bool) -> MonitoringSettings:
    return MonitoringSettings(
        database_url=database_url,
        redis_url=redis_url,
        beat_schedule_file=str(tmp_path / "monitoring-beat"),
        **flags,
    )


def test_a_drift_trigger_makes_a_challenger_with_its_report_and_a_second_trigger_starts_nothing(
    labelled: str, champion: str, tracking_uri: str, broker: RedisServer, workers: Workers, tmp_path: Path
) -> None:
    workers.start()
    settings = monitoring(labelled, broker.url, tmp_path, retrain_on_drift=True)
    producer = monitoring_celery.create_app(settings)
    job = after_drift_run(producer, settings, drifted_run(labelled, champion))
    assert job is not None
    workers.wait_for_line("retraining started: drift")

    result = CliRunner().invoke(credit, ["model", "retrain", "--note", "new labels arrived", "--by", "dan"])
    assert result.exit_code == 0, result.output
    assert "retraining queued" in result.output and "retrain:manual" in result.output
    workers.wait_for_line("retraining skipped: manual request")
    assert workers.count("retraining started") == 1

    [row] = retrained(labelled)
    version = row.version
    assert row.actor == "retrain:drift" and row.detail["job_id"] == job
    assert row.detail["trigger"] == "drift" and "features drifted" in row.detail["reason"]
    assert row.detail["report"] == f"promotion/report-{version}-vs-{champion}.json"
    client = MlflowClient(tracking_uri)
    run_id = client.get_model_version(registry.MODEL_NAME, version).run_id
    logged = {item.path for item in client.list_artifacts(run_id, "promotion")}
    assert row.detail["report"] in logged and row.detail["report"].replace(".json", ".md") in logged
    assert resolve_alias(registry.CHAMPION) == champion  # never promoted by itself
    assert resolve_alias(registry.CHALLENGER) == version
    tags = registry.version_tags(version)
    assert tags["author"] == "retrain:drift" and "approved_by" not in tags and tags["trigger"] == "drift"
    assert [v.version for v in registry.list_versions()] == [version, champion]  # one retraining only

    with pytest.raises(lifecycle.LifecycleRefused, match="has no approval"):
        lifecycle.promote(version, "carol", GATES, labelled, tracking_uri)
    with pytest.raises(lifecycle.LifecycleRefused, match="must be someone else"):
        lifecycle.approve(labelled, version, "retrain:drift", "the machine approving itself")
    lifecycle.approve(labelled, version, "bob", "report read")
    done = lifecycle.promote(version, "carol", GATES, labelled, tracking_uri, justification="tiny test data")
    assert resolve_alias(registry.CHAMPION) == version and done.previous == champion
    events = [(r.event, r.actor) for r in audit.history(labelled, version)]
    assert events[:2] == [(Event.RETRAINED, "retrain:drift"), (Event.APPROVED, "bob")]


def test_a_killed_workers_retraining_is_redone_once(
    labelled: str, tracking_uri: str, broker: RedisServer, workers: Workers
) -> None:
    queued = CliRunner().invoke(credit, ["train", "--queue", "--author", "dan"])
    assert queued.exit_code == 0, queued.output
    job = re.search(r"retraining queued \(job ([0-9a-f-]+), requested by dan\)", queued.output).group(1)
    first = workers.start()
    workers.wait_for_line("retraining started: manual")
    first.kill()  # mid-job: the message is unacknowledged, the advisory lock dies with the connection
    assert retrained(labelled) == []
    workers.start()
    workers.wait_for_line("retraining started: manual", times=2)
    wait_for(lambda: retrained(labelled), "the redone retraining's audit event", JOB_SECONDS)
    [row] = retrained(labelled)
    assert row.detail["job_id"] == job and row.actor == "retrain:manual"
    assert row.detail["requested_by"] == "dan" and row.detail["reason"] == "credit train --queue"
    assert resolve_alias(registry.CHALLENGER) == row.version
    assert resolve_alias(registry.CHAMPION) is None  # nothing was serving, and nothing serves now
    assert len(registry.list_versions()) == 1


def test_triggers_fire_only_when_switched_on_and_past_their_thresholds(tmp_path: Path) -> None:
    run = {"id": 7, "status": "ok", "dataset_drift": True, "drifted_features": 80, "features_tested": 150,
           "drift_share": 0.53, "validation_auc": 0.76}  # fmt: skip
    off = MonitoringSettings()
    assert retrain_request(run, 0.60, off) is None
    drift = retrain_request(run, None, off.model_copy(update={"retrain_on_drift": True}))
    assert drift is not None and drift.trigger == Trigger.DRIFT and "80 of 150 features" in drift.reason
    estimated = off.model_copy(update={"retrain_on_estimated_auc": True, "estimated_auc_margin": 0.05})
    low = retrain_request({**run, "dataset_drift": False}, 0.70, estimated)
    assert low is not None and low.trigger == Trigger.ESTIMATED_PERFORMANCE
    assert "estimated AUC 0.7000" in low.reason and "validation AUC 0.7600" in low.reason
    assert retrain_request({**run, "dataset_drift": False}, 0.72, estimated) is None  # within the margin
    both = retrain_request(run, 0.70, estimated.model_copy(update={"retrain_on_drift": True}))
    assert both is not None and both.trigger == Trigger.DRIFT and "estimated AUC" in both.reason
    assert RetrainRequest(trigger=Trigger.SCHEDULE, reason="tick").author == "retrain:schedule"


def test_the_schedule_is_off_by_default_and_ticks_at_its_interval(tmp_path: Path) -> None:
    base = TrainingSettings(beat_schedule_file=str(tmp_path / "beat"))
    assert create_app(base).conf.beat_schedule == {}
    scheduled = create_app(base.model_copy(update={"retrain_interval_s": 86_400.0})).conf.beat_schedule
    assert scheduled["retrain"]["task"] == SCHEDULE_TASK and scheduled["retrain"]["schedule"] == 86_400.0


def test_queueing_with_redis_down_is_one_clear_line() -> None:
    with pytest.raises(QueueUnavailable, match="not reachable"):
        request_manual("redis://127.0.0.1:1/0", "why", "dan")
