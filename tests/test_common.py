"""The thin shared package: settings from env vars, JSON log lines, database creation."""

import json
import logging

import pytest
from sqlalchemy import text

from services.common.db import ensure_database, make_engine
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
