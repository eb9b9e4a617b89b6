"""Replaying logged decisions with their registry version: exact PDs and outcomes (review band and
unusual-input rule included); a deleted version, replaced artifacts or renamed features are named."""

import random
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import psycopg2
import pytest
import redis
from mlflow import MlflowClient
from typer.testing import CliRunner

from services.cli import app
from services.model.model_store import SCORING_ARTIFACT_DIR, load_version
from services.model.registry import MODEL_NAME
from services.monitoring.consumer import StreamConsumer
from services.monitoring.replay import DigestRecorder, Models, replay_one, replay_window
from services.monitoring.settings import MonitoringSettings
from services.scoring.serving import LoadedModel
from tests.monitoring.factories import decision, publish
from tests.support.models import planted_rows, small_model
from tests.support.registered import register

ROWS = 60
UNUSUAL = 1e6  # far outside any planted feature's training range: scored, sent to review


def scored_events(version: str) -> list[dict[str, object]]:
    """Decisions as the scoring service makes them (its hot-path predict and outcome rule), the vector in
    the features service's order, not the model's."""
    loaded = LoadedModel(version, "champion", load_version(version), {})
    model = loaded.model
    events = []
    for i, row in enumerate(planted_rows(ROWS, seed=5)):
        if i % 10 == 0:
            row[model.profile.relied_on[0]] = UNUSUAL
        names = list(row)
        random.Random(i).shuffle(names)
        row = {name: row[name] for name in names}
        pd_value = loaded.predict_pd(loaded.matrix([("instances[0]", row)]))
        warnings = model.warnings(row)
        outcome = str(model.outcome(pd_value, np.array([bool(warnings)]))[0])
        event = decision(features=row, pd=float(pd_value[0]), decision=outcome, model_version=version)
        band = model.review
        event |= {
            "threshold": model.threshold,
            "review_band": {"low": band.low, "high": band.high, "share": band.share},
            "warnings": [{"field": w.field, "value": w.value, "unusual": w.unusual} for w in warnings],
        }
        events.append(event)
    return events


@pytest.fixture
def logged(
    settings: MonitoringSettings, redis_client: redis.Redis, tracking_uri: str
) -> tuple[str, list[dict[str, object]]]:
    """A registered version's decisions, consumed by a consumer that digests versions (as the service's)."""
    version = register(small_model(seed=1, feature_set_hash="planted"), seed=1)
    events = scored_events(version)
    consumer = StreamConsumer(
        settings, name="replay", digests=DigestRecorder(settings.database_url, tracking_uri)
    )
    consumer.ensure_groups()
    publish(redis_client, settings.decisions_stream, events)
    consumer.drain()
    consumer.close()
    deadline = time.monotonic() + 60
    while not digested(settings, version):
        assert time.monotonic() < deadline, "the consumer never recorded the version's digest"
        time.sleep(0.2)
    return version, events


def digested(settings: MonitoringSettings, version: str) -> bool:
    with closing(psycopg2.connect(settings.database_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM model_digests WHERE model_version = %s", (version,))
        return cur.fetchone() is not None


def replay_all(settings: MonitoringSettings, tracking_uri: str) -> list:
    with closing(psycopg2.connect(settings.database_url)) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT min(decided_at), max(decided_at) + interval '1 second' FROM decision_log")
            start, end = cur.fetchone()
        return list(replay_window(conn, start, end, Models(MlflowClient(tracking_uri))))


def cli(settings: MonitoringSettings, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(app, ["decisions", "replay", *args])
    return result.exit_code, result.output


def test_logged_decisions_replay_to_the_same_pd_and_outcome(
    settings: MonitoringSettings, tracking_uri: str, logged: tuple[str, list[dict[str, object]]]
) -> None:
    _, events = logged
    outcomes = {str(e["decision"]) for e in events}
    assert outcomes >= {"approved", "review"}, outcomes  # the unusual-input rule and the band both decide
    replayed = {r.request_id: r for r in replay_all(settings, tracking_uri)}
    assert len(replayed) == ROWS
    for event in events:
        found = replayed[str(event["request_id"])]
        assert found.matched, found.reasons
        assert found.notes == ()
        assert abs(found.pd - float(event["pd"])) <= 1e-12 and found.decision == event["decision"]


def test_the_replay_command_prints_counts_and_exits_zero_when_all_match(
    settings: MonitoringSettings, logged: tuple[str, list[dict[str, object]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, events = logged
    code, output = cli(settings, monkeypatch, str(events[0]["request_id"]))
    assert code == 0 and "match: pd" in output and "matched 1, mismatched 0" in output, output
    code, output = cli(settings, monkeypatch, "--since", "2000-01-01")
    assert code == 0 and f"matched {ROWS}, mismatched 0" in output, output


def test_a_deleted_version_is_the_reason_and_the_exit_code_says_so(
    settings: MonitoringSettings,
    tracking_uri: str,
    logged: tuple[str, list[dict[str, object]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version, _ = logged
    MlflowClient(tracking_uri).delete_model_version(MODEL_NAME, version)
    code, output = cli(settings, monkeypatch, "--since", "2000-01-01")
    assert code == 1 and f"matched 0, mismatched {ROWS}" in output
    assert f"model version {version} is missing from the registry" in output


def test_replaced_artifacts_are_named_with_the_pd_they_change(
    settings: MonitoringSettings, tracking_uri: str, logged: tuple[str, list[dict[str, object]]]
) -> None:
    version, events = logged
    client = MlflowClient(tracking_uri)
    run_id = client.get_model_version(MODEL_NAME, version).run_id
    with tempfile.TemporaryDirectory() as tmp:  # same version number, another model's files
        small_model(seed=2, feature_set_hash="planted").save(Path(tmp))
        client.log_artifacts(run_id, tmp, SCORING_ARTIFACT_DIR)
    with closing(psycopg2.connect(settings.database_url)) as conn:
        one = replay_one(conn, str(events[1]["request_id"]), Models(client))
    assert one is not None and one.reasons[0].startswith(f"artifacts changed: version {version} digest")
    replayed = replay_all(settings, tracking_uri)
    assert all(found.reasons[0].startswith("artifacts changed") for found in replayed)
    assert any(reason.startswith("PD differs by") for found in replayed for reason in found.reasons)


def test_renamed_features_are_named(
    settings: MonitoringSettings, tracking_uri: str, logged: tuple[str, list[dict[str, object]]]
) -> None:
    with closing(psycopg2.connect(settings.database_url)) as conn, conn.cursor() as cur:
        cur.execute("UPDATE feature_name_sets SET names[1] = 'renamed'")
        conn.commit()
    replayed = replay_all(settings, tracking_uri)
    assert all(any(r.startswith("feature names changed") for r in found.reasons) for found in replayed)
    assert all("renamed" in " ".join(found.reasons) for found in replayed)
