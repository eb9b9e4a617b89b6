"""The decision log: every stream entry lands in Postgres exactly once, whatever goes down meanwhile."""

import json
import time
from contextlib import closing
from pathlib import Path

import psycopg2
import redis
from fastapi.testclient import TestClient

from loopback.processes import RedisServer, wait_for
from services.monitoring.app import create_app
from services.monitoring.consumer import StreamConsumer, run_in_thread
from services.monitoring.metrics import CONSUMER_ERRORS
from services.monitoring.settings import MonitoringSettings
from tests.monitoring.factories import count, decision, publish, write_decisions

N = 250


def pending(client: redis.Redis, settings: MonitoringSettings, stream: str) -> int:
    return int(client.xpending(stream, settings.consumer_group)["pending"])


def test_backlog_published_while_monitoring_is_down_is_written_exactly_once(
    settings: MonitoringSettings, redis_client: redis.Redis
) -> None:
    first = StreamConsumer(settings.model_copy(update={"consumer_batch": 40}), name="first")
    first.drain()  # the group exists: entries published from now on wait for monitoring
    events = [decision() for _ in range(N)]
    publish(redis_client, settings.decisions_stream, events)
    publish(redis_client, settings.decisions_stream, events[:30])  # replayed by a retrying producer
    assert first.drain() == N + 30
    assert count(settings, "decision_log") == N
    assert pending(redis_client, settings, settings.decisions_stream) == 0
    first.close()


def test_service_drains_the_backlog_when_it_comes_back(
    settings: MonitoringSettings, redis_client: redis.Redis
) -> None:
    StreamConsumer(settings, name="earlier").drain()  # monitoring ran once, then went down
    publish(redis_client, settings.decisions_stream, [decision() for _ in range(N)])
    assert count(settings, "decision_log") == 0
    with TestClient(create_app(settings.model_copy(update={"run_consumer": True}))):
        deadline = time.monotonic() + 30
        while count(settings, "decision_log") < N and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)  # anything extra would have landed by now
        assert count(settings, "decision_log") == N
    assert pending(redis_client, settings, settings.decisions_stream) == 0


def test_entries_of_a_dead_consumer_are_claimed(
    settings: MonitoringSettings, redis_client: redis.Redis
) -> None:
    consumer = StreamConsumer(settings.model_copy(update={"claim_idle_ms": 0}), name="survivor")
    consumer.ensure_groups()
    publish(redis_client, settings.decisions_stream, [decision() for _ in range(20)])
    # A consumer that read the entries and died before writing them: they stay pending under its name.
    redis_client.xreadgroup(settings.consumer_group, "dead", {settings.decisions_stream: ">"}, count=100)
    assert pending(redis_client, settings, settings.decisions_stream) == 20
    assert consumer.drain() == 20
    assert count(settings, "decision_log") == 20
    assert pending(redis_client, settings, settings.decisions_stream) == 0
    consumer.close()


def test_entries_left_unacknowledged_by_a_crash_are_replayed_without_duplicates(
    settings: MonitoringSettings, redis_client: redis.Redis
) -> None:
    """The process died between the commit and XACK: its rows exist, its entries are still pending."""
    StreamConsumer(settings, name="restarted").ensure_groups()
    events = [decision() for _ in range(10)]
    publish(redis_client, settings.decisions_stream, events)
    redis_client.xreadgroup(settings.consumer_group, "restarted", {settings.decisions_stream: ">"})
    write_decisions(settings, events)
    consumer = StreamConsumer(settings, name="restarted")  # same name after the restart
    assert consumer.drain() == 10  # its own backlog, re-read from id 0
    consumer.close()
    assert count(settings, "decision_log") == 10
    assert pending(redis_client, settings, settings.decisions_stream) == 0


def test_malformed_entries_are_kept_with_their_reason_and_acknowledged(
    settings: MonitoringSettings, redis_client: redis.Redis
) -> None:
    good = decision()
    redis_client.xadd(settings.decisions_stream, {"data": json.dumps(good)})
    redis_client.xadd(settings.decisions_stream, {"data": json.dumps({**decision(), "pd": 1.7})})
    redis_client.xadd(settings.decisions_stream, {"data": "{not json"})
    redis_client.xadd(settings.decisions_stream, {"payload": "x"})
    consumer = StreamConsumer(settings, name="strict")
    assert consumer.drain() == 4
    consumer.close()
    assert count(settings, "decision_log") == 1
    with closing(psycopg2.connect(settings.database_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT reason FROM rejected_entries ORDER BY entry_id")
        reasons = [row[0] for row in cur.fetchall()]
    assert len(reasons) == 3
    assert "pd" in reasons[0] and "data" in reasons[2]


def test_shadow_scores_are_logged_and_joined_on_request_id(
    settings: MonitoringSettings, redis_client: redis.Redis
) -> None:
    event = decision(pd=0.12, client_id=100002)
    publish(redis_client, settings.decisions_stream, [event])
    shadow = {
        "request_id": event["request_id"],
        "row": "0",
        "champion_version": "1",
        "champion_pd": "0.12",
        "challenger_version": "2",
        "challenger_pd": "0.2",
        "time": "1764342000.5",
    }  # as scoring sends it
    redis_client.xadd(settings.shadow_stream, shadow)
    redis_client.xadd(settings.shadow_stream, shadow)  # fmt: skip
    consumer = StreamConsumer(settings, name="joiner")
    assert consumer.drain() == 3
    consumer.close()
    with closing(psycopg2.connect(settings.database_url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT d.pd, s.challenger_version, s.challenger_pd FROM decision_log d"
            " JOIN shadow_scores s USING (request_id)"
        )
        assert cur.fetchall() == [(0.12, "2", 0.2)]
    assert count(settings, "shadow_scores") == 1


def test_a_redis_outage_mid_drain_leaves_exact_counts(settings: MonitoringSettings, tmp_path: Path) -> None:
    """Redis crashes while the consumer works through a backlog and comes back from its append-only file:
    entries read but not acknowledged are read again, and every decision is in the log exactly once."""
    server = RedisServer(tmp_path)
    server.start()
    local = settings.model_copy(update={"redis_url": server.url, "consumer_batch": 25})
    producer = redis.Redis.from_url(server.url)
    StreamConsumer(local, name="setup").ensure_groups()
    events = [decision() for _ in range(2000)]
    publish(producer, local.decisions_stream, events)
    errors = CONSUMER_ERRORS._value.get()
    thread, stop = run_in_thread(local)
    try:
        wait_for(lambda: count(local, "decision_log") > 0, "the consumer to start", 60)
        server.kill()
        wait_for(lambda: CONSUMER_ERRORS._value.get() > errors, "the consumer to notice", 30)
        assert count(local, "decision_log") < len(events)
        server.start()
        publish(producer, local.decisions_stream, events[:100])  # a producer retrying after the outage
        wait_for(lambda: count(local, "decision_log") == len(events), "the backlog to drain", 120)
        wait_for(
            lambda: pending(producer, local, local.decisions_stream) == 0, "every entry acknowledged", 30
        )
        assert count(local, "decision_log") == len(events)
    finally:
        stop.set()
        thread.join(timeout=10)
        producer.close()
        server.stop()
