"""The thin shared package: settings from env vars, JSON log lines, database creation."""

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import pytest
from sqlalchemy import text

from services.common.db import ReadPool, ensure_database, make_engine
from services.common.logging import JsonFormatter, log_fields, request_id_var
from services.common.settings import CommonSettings


def test_settings_read_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/x")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    settings = CommonSettings()
    assert settings.database_url == "postgresql://u@db:5432/x"
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.mlflow_tracking_uri == "http://mlflow:5000"


def test_settings_default_to_local_services(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    settings = CommonSettings()
    assert "127.0.0.1:5432" in settings.database_url
    assert settings.redis_url.startswith("redis://127.0.0.1:6379")


def test_json_log_line_carries_request_id_and_fields() -> None:
    record = logging.LogRecord("svc", logging.INFO, __file__, 1, "scored %s", ("c1",), None)
    record.fields = log_fields(latency_ms=1.5)["fields"]
    token = request_id_var.set("req-42")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "scored c1"
    assert line["request_id"] == "req-42"
    assert line["latency_ms"] == 1.5
    assert line["level"] == "INFO"


def test_ensure_database_is_idempotent(database_url: str) -> None:
    ensure_database(database_url)
    ensure_database(database_url)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()


def _backend_pid(conn: psycopg2.extensions.connection) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def test_read_pool_reuses_connections_and_replaces_a_dead_one(database_url: str) -> None:
    pool = ReadPool(database_url)
    try:
        first = pool.run(_backend_pid)
        assert pool.run(_backend_pid) == first  # kept open between reads
        with psycopg2.connect(database_url) as admin, admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (first,))  # as a Postgres restart would
        replaced = pool.run(_backend_pid)  # the dead connection is noticed, the read still answers
        assert replaced != first
        assert pool.run(_backend_pid) == replaced
    finally:
        pool.close()


def test_read_pool_keeps_a_connection_after_a_query_error(database_url: str) -> None:
    pool = ReadPool(database_url)

    def bad_query(conn: psycopg2.extensions.connection) -> None:
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM no_such_table")

    try:
        first = pool.run(_backend_pid)
        with pytest.raises(psycopg2.errors.UndefinedTable):
            pool.run(bad_query)
        assert pool.run(_backend_pid) == first  # autocommit: no aborted transaction left behind
    finally:
        pool.close()


def test_json_log_line_survives_values_json_cannot_hold() -> None:
    record = logging.LogRecord("svc", logging.INFO, __file__, 1, "odd input", (), None)
    record.fields = log_fields(client_id=2**70, ratio=float("nan"), where=Path("/data"))["fields"]
    line = json.loads(JsonFormatter().format(record))
    assert line["client_id"] == str(2**70)  # beyond 64 bits: written as text, not dropped
    assert line["message"] == "odd input"
    assert line["where"] == "/data"


def test_read_pool_runs_at_most_max_active_reads_at_once(database_url: str) -> None:
    pool = ReadPool(database_url, max_active=2)
    running, most = 0, 0
    lock = threading.Lock()

    def slow_read(conn: psycopg2.extensions.connection) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(0.05)")
        with lock:
            running -= 1

    try:
        with ThreadPoolExecutor(6) as threads:
            list(threads.map(lambda _: pool.run(slow_read), range(12)))
    finally:
        pool.close()
    assert most == 2
