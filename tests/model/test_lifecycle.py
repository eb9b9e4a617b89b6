"""The governed lifecycle end to end on a real MLflow registry (SQLite) and a real Postgres audit table:
four eyes, gates blocking or forced with a justification, the report artifacts, rollback, history."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest
from mlflow import MlflowClient

from services.model import audit, lifecycle, registry
from services.model.audit import Event
from services.model.gates import GateSettings, Status
from services.model.model_store import resolve_alias
from tests.model.versions import NAMES, fit, register, rows

# Models of 3,000 rows differ more between seeds than trained ones: a wider changed-decisions allowance.
GATES = GateSettings(bootstrap_rounds=100, max_changed_share=0.3)


def promote(version: str, uri: str, db: str, justification: str | None = None) -> lifecycle.Promotion:
    return lifecycle.promote(version, "carol", GATES, db, uri, justification)


def test_four_eyes_gates_force_and_rollback_leave_a_complete_audit(tracking_uri: str, audit_db: str) -> None:
    first = register(fit(seed=1), author="alice")
    with pytest.raises(lifecycle.LifecycleRefused, match="no approval"):
        promote(first, tracking_uri, audit_db)
    with pytest.raises(lifecycle.LifecycleRefused, match="must be someone else"):
        lifecycle.approve(audit_db, first, " Alice ", "looked at it myself")
    lifecycle.approve(audit_db, first, "bob", "report read, gates pass")
    assert registry.version_tags(first)["approved_by"] == "bob"

    done = promote(first, tracking_uri, audit_db)  # no champion yet: comparisons not applicable
    statuses = {g.name: g.status for g in done.report.gates}
    assert statuses["discrimination"] == statuses["score_stability"] == Status.NOT_APPLICABLE
    assert statuses["calibration_ece"] == statuses["approval_ratio_gender"] == Status.PASS
    assert statuses["approval_ratio_age_band"] == Status.PASS
    assert resolve_alias(registry.CHAMPION) == first and done.previous is None

    second = register(fit(seed=2), author="alice")
    lifecycle.approve(audit_db, second, "bob", "similar model, new seed")
    assert promote(second, tracking_uri, audit_db).report.passed

    noise = register(fit(seed=3, signal=0.0), author="dave")
    lifecycle.approve(audit_db, noise, "bob", "approved to test the gates")
    with pytest.raises(lifecycle.LifecycleRefused, match="fails the gates discrimination"):
        promote(noise, tracking_uri, audit_db)
    assert resolve_alias(registry.CHAMPION) == second
    forced = promote(noise, tracking_uri, audit_db, justification="regulator asked for the simpler model")
    assert forced.forced and "discrimination" in forced.report.failed

    assert lifecycle.rollback(audit_db, "erin", "forced model misbehaves") == (second, noise)
    assert lifecycle.rollback(audit_db, "erin", "back to the first") == (first, second)
    assert resolve_alias(registry.CHAMPION) == first
    with pytest.raises(lifecycle.LifecycleRefused, match="no earlier champion"):
        lifecycle.rollback(audit_db, "erin", "again")

    events = [(r.event, r.version, r.actor) for r in audit.history(audit_db)]
    assert events == [
        (Event.APPROVED, first, "bob"),
        (Event.PROMOTED, first, "carol"),
        (Event.APPROVED, second, "bob"),
        (Event.PROMOTED, second, "carol"),
        (Event.APPROVED, noise, "bob"),
        (Event.FORCED, noise, "carol"),
        (Event.ROLLED_BACK, second, "erin"),
        (Event.ROLLED_BACK, first, "erin"),
    ]
    forced_row = audit.history(audit_db, noise)[-1]
    assert forced_row.detail["justification"] == "regulator asked for the simpler model"
    assert forced_row.detail["previous"] == second and "discrimination" in forced_row.detail["failed_gates"]


def test_the_report_is_logged_as_json_and_markdown_on_the_candidates_run(
    tracking_uri: str, audit_db: str
) -> None:
    champion = register(fit(seed=1), author="alice")
    registry.set_champion(champion)
    candidate = register(fit(seed=2), author="alice")
    report, artifact = lifecycle.report(candidate, GATES, audit_db, tracking_uri)
    run_id = MlflowClient().get_model_version(registry.MODEL_NAME, candidate).run_id
    logged = {a.path for a in MlflowClient().list_artifacts(run_id, "promotion")}
    assert logged == {artifact, artifact.replace(".json", ".md")}
    assert artifact == f"promotion/report-{candidate}-vs-{champion}.json"
    assert report.champion == champion and report.validation_rows == 2000
    assert report.traffic.startswith("validation rows (0 logged decisions")  # nothing logged yet
    data = json.loads(Path(MlflowClient().download_artifacts(run_id, artifact)).read_text())
    assert data["passed"] is report.passed and len(data["gates"]) == 8
    assert "| discrimination |" in report.to_markdown()


def test_the_audit_table_refuses_updates_and_deletes(audit_db: str) -> None:
    audit.record(audit_db, Event.TRAINED, "1", "alice", {"run_id": "r"})
    for statement in (
        "UPDATE model_audit SET actor = 'mallory'",
        "DELETE FROM model_audit",
        "TRUNCATE model_audit",
    ):
        with (
            psycopg2.connect(audit_db) as conn,
            conn.cursor() as cur,
            pytest.raises(psycopg2.Error, match="append-only"),
        ):
            cur.execute(statement)
    assert [r.actor for r in audit.history(audit_db)] == ["alice"]


def test_a_rollback_refuses_when_the_alias_was_moved_outside_the_lifecycle(
    tracking_uri: str, audit_db: str
) -> None:
    first, second, third = (register(fit(seed=s), author="alice") for s in (1, 2, 3))
    for version in (first, second):
        registry.set_champion(version)
        audit.record(audit_db, Event.PROMOTED, version, "carol", {})
    registry.set_champion(third)  # by hand
    with pytest.raises(lifecycle.LifecycleRefused, match=f"points at version {third}"):
        lifecycle.rollback(audit_db, "erin", "undo")


def test_stability_and_changes_are_measured_on_logged_decisions_when_there_are_enough(
    tracking_uri: str, audit_db: str
) -> None:
    champion = register(fit(seed=1), author="alice")
    registry.set_champion(champion)
    candidate = register(fit(seed=2), author="alice")
    x, _ = rows(60, seed=7)
    with psycopg2.connect(audit_db) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO feature_name_sets VALUES ('h', %s)", (list(NAMES),))
        for i, vector in enumerate(x):
            cur.execute(
                "INSERT INTO decision_log (request_id, decided_at, model_version, names_hash, feature_values,"
                " pd, decision, threshold, latency_ms, source) VALUES (%s, now(), %s, 'h', %s, 0.1,"
                " 'approved', 0.5, 1.0, 'api')",
                (f"r{i}", champion, vector.tolist()),
            )
    settings = GATES.model_copy(update={"min_traffic_rows": 50})
    report, _ = lifecycle.report(candidate, settings, audit_db, tracking_uri)
    assert report.traffic == "decision log, latest 60 decisions"
    stability = next(g for g in report.gates if g.name == "score_stability")
    assert stability.status != Status.NOT_APPLICABLE and stability.figures["rows"] == report.traffic


def test_a_promotion_waits_while_another_holds_the_champion_and_then_sees_it(
    tracking_uri: str, audit_db: str
) -> None:
    first, second = (register(fit(seed=s), author="alice") for s in (1, 2))
    for version in (first, second):
        lifecycle.approve(audit_db, version, "bob", "read the report")
    with ThreadPoolExecutor(1) as pool:
        with audit.champion_lock(audit_db):  # another person's promotion in progress
            waiting = pool.submit(promote, second, tracking_uri, audit_db)
            time.sleep(1.5)
            assert not waiting.done(), "a promotion went ahead while another held the champion"
            registry.set_champion(first)
            audit.record(audit_db, Event.PROMOTED, first, "carol", {})
        done = waiting.result(timeout=120)
    assert done.previous == first  # it compared with, and replaced, the champion the other one set
    assert audit.champion_line(audit.history(audit_db)) == [first, second]
    assert resolve_alias(registry.CHAMPION) == second
