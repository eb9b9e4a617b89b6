"""Outcomes settle decisions: one per decision, idempotent re-sends, corrections with history, rejections
with reasons, concurrent posts, and 0004's outcome rows migrated by the same rule."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient

from services.common.db import ensure_database
from services.common.migrations import MIGRATIONS, migrate
from services.monitoring.app import create_app
from services.monitoring.settings import MonitoringSettings
from tests.monitoring.factories import count, decision, write_decisions

NOW = datetime.now(UTC)


@pytest.fixture
def client(settings: MonitoringSettings) -> TestClient:
    with TestClient(create_app(settings)) as found:
        yield found


def outcome(client_id: int, defaulted: bool, request_id: str | None = None, **extra: object) -> dict:
    """Observed now unless `time` is given."""
    now = datetime.now(UTC).isoformat()
    return {"client_id": client_id, "defaulted": defaulted, "time": now, "request_id": request_id, **extra}


def post(client: TestClient, *outcomes: dict) -> dict:
    response = client.post("/outcomes", json={"outcomes": list(outcomes)})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_correction_replaces_the_outcome_and_keeps_its_history(
    settings: MonitoringSettings, client: TestClient
) -> None:
    event = decision(client_id=100, pd=0.2)
    write_decisions(settings, [event])
    rid = event["request_id"]
    first = post(client, outcome(100, False, rid))["accepted"]
    assert first == [{"item": 0, "client_id": 100, "request_id": rid, "result": "recorded", "revision": 1}]
    assert post(client, outcome(100, False, rid))["accepted"][0]["result"] == "unchanged"
    corrected = post(client, outcome(100, True, rid, time=(NOW + timedelta(days=30)).isoformat()))
    assert corrected["accepted"][0] | {"item": 0} == {**first[0], "result": "corrected", "revision": 2}
    assert client.get("/performance").json()["realised"]["default_rate"] == 1.0
    record = client.get(f"/outcomes/{rid}").json()
    assert record["current"]["defaulted"] and record["current"]["revision"] == 2
    assert [(h["revision"], h["defaulted"]) for h in record["history"]] == [(1, False)]
    assert record["history"][0]["replaced_at"] is not None
    assert client.get("/outcomes/nobody").status_code == 404


def test_a_batch_reads_as_its_items_sent_one_after_the_other(
    settings: MonitoringSettings, client: TestClient
) -> None:
    event = decision(client_id=7)
    write_decisions(settings, [event])
    rid = event["request_id"]
    settled = post(client, outcome(7, False, rid), outcome(7, False), outcome(7, True, rid))["accepted"]
    assert [(a["result"], a["revision"]) for a in settled] == [
        ("recorded", 1),
        ("unchanged", 1),
        ("corrected", 2),
    ]
    assert count(settings, "outcomes") == 1 and count(settings, "outcome_history") == 1


def test_outcomes_that_settle_nothing_are_rejected_with_the_reason_and_not_stored(
    settings: MonitoringSettings, client: TestClient
) -> None:
    event = decision(client_id=42, time=NOW - timedelta(days=1))
    write_decisions(settings, [event])
    rid = event["request_id"]
    settled = post(
        client,
        outcome(42, True),  # the client's latest decision: accepted
        outcome(43, True),  # never scored
        outcome(42, True, "no-such-decision"),
        outcome(41, True, rid),  # someone else's decision
        outcome(42, True, rid, time=(NOW - timedelta(days=2)).isoformat()),  # observed before the decision
        outcome(42, True, time=(NOW - timedelta(days=2)).isoformat()),  # no decision of 42 by then
    )
    assert [a["item"] for a in settled["accepted"]] == [0]
    reasons = {r["item"]: r["reason"] for r in settled["rejected"]}
    assert reasons[1].startswith("client 43 has no decision at or before")
    assert reasons[2] == "no decision has request_id 'no-such-decision'"
    assert reasons[3] == f"decision '{rid}' is of client 42, not 41"
    assert reasons[4].startswith("outcome time") and "is before decision" in reasons[4]
    assert reasons[5].startswith("client 42 has no decision at or before")
    assert count(settings, "outcomes") == 1
    assert client.get("/performance").json()["realised"]["with_outcome"] == 1


def test_concurrent_posts_of_the_same_outcomes_store_them_once(
    settings: MonitoringSettings, client: TestClient
) -> None:
    events = [decision(client_id=500 + i) for i in range(200)]
    write_decisions(settings, events)
    body = {"outcomes": [outcome(500 + i, i % 3 == 0, e["request_id"]) for i, e in enumerate(events)]}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: client.post("/outcomes", json=body).json(), range(8)))
    results = [a["result"] for answer in answers for a in answer["accepted"]]
    assert results.count("recorded") == 200 and results.count("unchanged") == 7 * 200
    assert count(settings, "outcomes") == 200 and count(settings, "outcome_history") == 0


def write_0004_decisions(database_url: str, events: list[dict[str, object]]) -> None:
    """Decisions as revision 0004's log held them (later revisions add columns the current code writes)."""
    with closing(psycopg2.connect(database_url)) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO feature_name_sets VALUES ('h', ARRAY['app_ext_source_2'])")
        cur.executemany(
            "INSERT INTO decision_log (request_id, decided_at, client_id, model_version, names_hash,"
            " feature_values, pd, decision, threshold, latency_ms, source)"
            " VALUES (%(request_id)s, %(time)s, %(client_id)s, %(model_version)s, 'h', ARRAY[0.5],"
            " %(pd)s, %(decision)s, %(threshold)s, %(latency_ms)s, %(source)s)",
            events,
        )
        conn.commit()


def test_0004_outcomes_migrate_to_the_decisions_they_settle(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    ensure_database(database_url)
    command.upgrade(config, "0004")
    old, new = (
        decision(client_id=1, time=NOW - timedelta(days=60)),
        decision(client_id=1, time=NOW - timedelta(days=5)),
    )
    other = decision(client_id=2, time=NOW - timedelta(days=5))
    write_0004_decisions(database_url, [old, new, other])
    # (key, client, request id, defaulted, observed), as 0004 stored gateway posts and stream entries
    rows = [
        ("post-1:1", 1, "post-1", False, NOW - timedelta(days=3)),  # client 1's latest decision: `new`
        ("post-2:1", 1, "post-2", False, NOW - timedelta(days=2)),  # the same outcome again
        ("post-3:1", 1, "post-3", True, NOW - timedelta(days=1)),  # corrected
        (f"{old['request_id']}:1", 1, old["request_id"], True, NOW - timedelta(days=4)),  # names `old`
        ("post-4:3", 3, "post-4", True, NOW),  # client 3 was never scored
    ]
    with closing(psycopg2.connect(database_url)) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO outcomes (outcome_key, client_id, request_id, defaulted, observed_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
        conn.commit()
    migrate(database_url)
    with closing(psycopg2.connect(database_url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT request_id, defaulted, revision, matched_by, source_request_id FROM outcomes"
            " ORDER BY revision"
        )
        assert cur.fetchall() == [
            (old["request_id"], True, 1, "request_id", None),
            (new["request_id"], True, 2, "latest_decision", "post-3"),
        ]
        cur.execute("SELECT request_id, revision, defaulted, source_request_id FROM outcome_history")
        assert cur.fetchall() == [(new["request_id"], 1, False, "post-1")]
        cur.execute("SELECT entry_id, reason FROM rejected_entries WHERE stream = 'outcomes'")
        (entry_id, reason), *more = cur.fetchall()
    assert entry_id == "migrated:post-4:3" and reason.startswith("settles no decision: client 3") and not more
