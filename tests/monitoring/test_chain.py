"""The decision log's hash chain: an intact log verifies; an edited, deleted, swapped or smuggled-in row is
named; redelivery and concurrent consumers neither extend nor fork a chain; pruning keeps it verifiable."""

import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
import redis
from alembic import command
from alembic.config import Config
from typer.testing import CliRunner

from services.cli import app
from services.common.db import ensure_database
from services.common.migrations import MIGRATIONS
from services.monitoring import chain
from services.monitoring.consumer import StreamConsumer
from services.monitoring.settings import MonitoringSettings
from tests.monitoring.factories import count, decision, publish

N = 120
NOW = datetime.now(UTC)


def varied(i: int, time: datetime | None = None) -> dict[str, object]:
    """Decisions with every kind of field the hash covers: missing values, -0.0, bands, warnings."""
    event = decision(
        pd=(i % 17) / 20, features={"app_ext_source_2": None if i % 3 else i / 7, "app_age_years": -0.0},
        client_id=None if i % 5 == 0 else 100_000 + i, time=time or NOW - timedelta(seconds=N - i),
    )  # fmt: skip
    if i % 4 == 0:
        event |= {"decision": "review", "review_band": {"low": 0.25, "high": 0.35, "share": 0.1}}
        event["warnings"] = [{"field": "app_amt_income_total", "value": 1e20, "unusual": "outside"}]
    return event


def consume(settings: MonitoringSettings, client: redis.Redis, events: list[dict[str, object]]) -> None:
    consumer = StreamConsumer(settings, name="chain")
    consumer.ensure_groups()
    publish(client, settings.decisions_stream, events)
    consumer.drain()
    consumer.close()


def failures(settings: MonitoringSettings) -> list[chain.Failure]:
    with closing(psycopg2.connect(settings.database_url)) as conn:
        return chain.verify(conn).failures


def sql(settings: MonitoringSettings, statement: str, *args: object) -> list[tuple]:
    with closing(psycopg2.connect(settings.database_url)) as conn, conn.cursor() as cur:
        cur.execute(statement, args)
        found = cur.fetchall() if cur.description else []
        conn.commit()
        return found


def link_of(settings: MonitoringSettings, request_id: str) -> tuple[int, int]:
    return sql(
        settings, "SELECT chain_partition, chain_seq FROM decision_log WHERE request_id = %s", request_id
    )[0]


@pytest.fixture
def logged(settings: MonitoringSettings, redis_client: redis.Redis) -> list[dict[str, object]]:
    events = [varied(i) for i in range(N)]
    consume(settings, redis_client, events)
    assert failures(settings) == []
    return events


def a_middle_row(settings: MonitoringSettings) -> tuple[int, int, str]:
    """(partition, seq, request id) of a row with rows before and after it in its chain."""
    return sql(
        settings,
        "SELECT chain_partition, chain_seq, request_id FROM decision_log d"
        " WHERE chain_seq > 1 AND chain_seq <"
        " (SELECT seq FROM decision_chain_heads h WHERE h.partition = d.chain_partition)"
        " ORDER BY chain_partition, chain_seq LIMIT 1",
    )[0]


@pytest.mark.parametrize(
    "edit",
    [
        "pd = pd + 1e-15",
        "feature_values[1] = 0.5000000000000001",
        "feature_values = array_append(feature_values, 'NaN')",
        "decision = CASE decision WHEN 'approved' THEN 'refused' ELSE 'approved' END",
        "decided_at = decided_at + interval '1 microsecond'",
        'warnings = warnings || \'[{"field": "app_days_birth", "value": 1, "unusual": "outside"}]\'::jsonb',
    ],
)
def test_an_edited_field_is_named_by_partition_sequence_and_request(
    settings: MonitoringSettings, logged: list[dict[str, object]], edit: str
) -> None:
    partition, seq, request_id = a_middle_row(settings)
    sql(settings, f"UPDATE decision_log SET {edit} WHERE request_id = %s", request_id)
    assert [(f.partition, f.seq, f.request_id, f.check) for f in failures(settings)] == [
        (partition, seq, request_id, "hash")
    ]


def test_a_deleted_row_is_named_by_the_gap_it_leaves(
    settings: MonitoringSettings, logged: list[dict[str, object]]
) -> None:
    partition, seq, request_id = a_middle_row(settings)
    sql(settings, "DELETE FROM decision_log WHERE request_id = %s", request_id)
    (found,) = failures(settings)
    after = sql(
        settings,
        "SELECT request_id FROM decision_log WHERE chain_partition = %s AND chain_seq = %s",
        partition,
        seq + 1,
    )[0][0]
    assert (found.partition, found.seq, found.request_id, found.check) == (
        partition,
        seq + 1,
        after,
        "sequence",
    )
    assert f"seq {seq}..{seq} missing" in found.detail


def test_a_deleted_last_row_is_caught_by_the_head(
    settings: MonitoringSettings, logged: list[dict[str, object]]
) -> None:
    partition, last = sql(settings, "SELECT partition, seq FROM decision_chain_heads ORDER BY partition")[0]
    sql(settings, "DELETE FROM decision_log WHERE chain_partition = %s AND chain_seq = %s", partition, last)
    (found,) = failures(settings)
    assert (found.partition, found.seq, found.check) == (partition, last, "head")


def test_two_swapped_rows_are_named_at_the_first_of_them(
    settings: MonitoringSettings, logged: list[dict[str, object]]
) -> None:
    partition, seq, first = a_middle_row(settings)
    second = sql(
        settings,
        "SELECT request_id FROM decision_log WHERE chain_partition = %s AND chain_seq = %s",
        partition,
        seq + 1,
    )[0][0]
    sql(settings, "UPDATE decision_log SET chain_seq = -1 WHERE request_id = %s", first)
    sql(settings, "UPDATE decision_log SET chain_seq = %s WHERE request_id = %s", seq, second)
    sql(settings, "UPDATE decision_log SET chain_seq = %s WHERE request_id = %s", seq + 1, first)
    assert [(f.partition, f.seq, f.request_id, f.check) for f in failures(settings)] == [
        (partition, seq, second, "hash")
    ]


def test_a_row_written_around_the_consumer_is_reported_unchained(
    settings: MonitoringSettings, logged: list[dict[str, object]]
) -> None:
    sql(
        settings,
        "INSERT INTO decision_log (request_id, decided_at, model_version, names_hash, feature_values, pd,"
        " decision, threshold, latency_ms, source)"
        " SELECT 'smuggled', now(), model_version, names_hash, feature_values, 0.01, 'approved', threshold,"
        " 1.0, source FROM decision_log LIMIT 1",
    )
    assert [(f.request_id, f.check) for f in failures(settings)] == [("smuggled", "unchained")]


def test_a_redelivered_batch_does_not_extend_the_chain(
    settings: MonitoringSettings, redis_client: redis.Redis, logged: list[dict[str, object]]
) -> None:
    heads = sql(settings, "SELECT partition, seq, hash FROM decision_chain_heads ORDER BY partition")
    consume(settings, redis_client, logged[:50] + logged[:50])  # redelivered, and twice in one batch
    assert sql(settings, "SELECT partition, seq, hash FROM decision_chain_heads ORDER BY partition") == heads
    assert count(settings, "decision_log") == N
    assert failures(settings) == []


def test_two_consumers_writing_concurrently_keep_every_chain_intact(
    settings: MonitoringSettings, redis_client: redis.Redis
) -> None:
    small = settings.model_copy(update={"consumer_batch": 25})
    consumers = [StreamConsumer(small, name=f"c{i}") for i in range(2)]
    consumers[0].ensure_groups()
    events = [varied(i) for i in range(600)]
    publish(redis_client, settings.decisions_stream, events + events[::7])  # with redeliveries
    threads = [threading.Thread(target=c.drain) for c in consumers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for consumer in consumers:
        consumer.close()
    assert count(settings, "decision_log") == 600
    assert sql(settings, "SELECT sum(seq) FROM decision_chain_heads")[0][0] == 600
    assert failures(settings) == []


def test_pruning_drops_old_segments_and_the_rest_still_verifies(
    settings: MonitoringSettings, redis_client: redis.Redis
) -> None:
    old = [varied(i, NOW - timedelta(days=3000 - i)) for i in range(40)]
    recent = [varied(i, NOW - timedelta(days=1, seconds=-i)) for i in range(40, 80)]
    consume(settings, redis_client, old)
    consume(settings, redis_client, recent)
    with closing(psycopg2.connect(settings.database_url)) as conn:
        pruned = chain.prune(conn, NOW - timedelta(days=2557))
    assert sum(p.deleted for p in pruned) == 40 and count(settings, "decision_log") == 40
    assert failures(settings) == []
    partition, seq = link_of(settings, str(recent[0]["request_id"]))
    sql(settings, "UPDATE decision_log SET pd = 0.99 WHERE request_id = %s", recent[0]["request_id"])
    assert [(f.partition, f.seq) for f in failures(settings)] == [(partition, seq)]


def test_the_migration_chains_existing_decisions_in_time_order(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    ensure_database(database_url)
    command.upgrade(config, "0009")
    with closing(psycopg2.connect(database_url)) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO feature_name_sets VALUES ('h', ARRAY['a', 'b'])")
        for i in range(30):
            cur.execute(
                "INSERT INTO decision_log (request_id, decided_at, model_version, names_hash, feature_values,"
                " pd, decision, threshold, latency_ms, source, warnings) VALUES (%s, %s, '1', 'h',"
                " ARRAY[%s, 'NaN']::float8[], 0.1, 'approved', 0.3, 1.0, 'client_id', '[]')",
                (f"r{i:02d}", NOW - timedelta(minutes=i), i / 3),
            )
        conn.commit()
    command.upgrade(config, "head")
    with closing(psycopg2.connect(database_url)) as conn:
        assert chain.verify(conn).failures == []
        with conn.cursor() as cur:
            cur.execute("SELECT request_id FROM decision_log ORDER BY chain_partition, chain_seq")
            by_chain = [r[0] for r in cur.fetchall()]
    for partition in range(chain.PARTITIONS):
        mine = [r for r in by_chain if chain.partition_of(r, chain.PARTITIONS) == partition]
        assert mine == sorted(mine, reverse=True)  # older (higher i) first


def test_verify_command_exits_non_zero_naming_the_row(
    settings: MonitoringSettings, logged: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    intact = CliRunner().invoke(app, ["decisions", "verify"])
    assert intact.exit_code == 0, intact.output
    assert f"{N} decisions checked, 0 failure(s)" in intact.output
    partition, seq, request_id = a_middle_row(settings)
    # always a change (setting 0.5 was none for a row logged with 0.5, and failed CI)
    sql(settings, "UPDATE decision_log SET pd = pd + 0.001 WHERE request_id = %s", request_id)
    broken = CliRunner().invoke(app, ["decisions", "verify"])
    assert broken.exit_code == 1
    assert f"FAILED partition {partition} seq {seq} request {request_id}: hash check failed" in broken.output
