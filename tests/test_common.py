"""The thin shared package: settings from env vars, JSON log lines, databases, the service skeleton."""

import importlib
import json
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import text

from services.common.db import ReadPool, ensure_database, make_engine
from services.common.http import ApiError
from services.common.logging import JsonFormatter, log_fields, request_id_var
from services.common.metrics import RequestMetrics
from services.common.service import create_service, service_state
from services.common.settings import CommonSettings, ServiceSettings
from services.explainer.settings import ExplainerSettings
from services.features.settings import FeaturesSettings
from services.gateway.settings import GatewaySettings
from services.monitoring.settings import MonitoringSettings
from services.scoring.settings import ScoringSettings


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


@dataclass
class Probed:
    """The state of the tiny service below: what its readiness check raises, if anything."""

    problem: Exception | None = None
    closed: bool = False


@asynccontextmanager
async def open_probed(settings: ServiceSettings) -> AsyncIterator[Probed]:
    state = Probed()
    OPENED.append(state)
    yield state
    state.closed = True


async def probed_ready(state: Probed) -> str:
    if state.problem is not None:
        raise state.problem
    return "ready"


OPENED: list[Probed] = []
tiny = APIRouter()


@tiny.get("/state")
async def read_state(state: Annotated[Probed, Depends(service_state)]) -> dict[str, bool]:
    return {"is_opened_state": state is OPENED[-1]}


TINY = create_service(
    title="tiny",
    settings=ServiceSettings(),
    metrics=RequestMetrics("tiny", buckets=(0.01, 0.1, 1.0)),
    open_state=open_probed,
    ready=probed_ready,
    routers=[tiny],
)


def test_service_probes_answer_and_state_is_typed_and_closed() -> None:
    with TestClient(TINY) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}
        assert client.get("/state").json() == {"is_opened_state": True}
    assert OPENED[-1].closed


@pytest.mark.parametrize(
    ("problem", "code"),
    [
        (ApiError(503, "model_not_loaded", "no model yet", headers={"Retry-After": "1"}), "model_not_loaded"),
        (ConnectionError("database down"), "not_ready"),
    ],
)
def test_readiness_failing_is_a_503_in_the_one_error_shape(problem: Exception, code: str) -> None:
    with TestClient(TINY) as client:
        OPENED[-1].problem = problem
        response = client.get("/readyz", headers={"X-Request-ID": "probe-1"})
    assert response.status_code == 503
    assert response.headers["X-Request-ID"] == "probe-1"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert (error["code"], error["request_id"]) == (code, "probe-1")


def test_request_id_is_echoed_or_created() -> None:
    with TestClient(TINY) as client:
        assert client.get("/healthz", headers={"X-Request-ID": "abc-42"}).headers["X-Request-ID"] == "abc-42"
        assert len(client.get("/healthz").headers["X-Request-ID"]) == 32


def test_request_metrics_are_named_by_the_service_rule() -> None:
    with TestClient(TINY) as client:
        client.get("/healthz")
        exposed = client.get("/metrics").text
    assert 'tiny_http_requests_total{route="/healthz",status="200"}' in exposed
    assert 'tiny_http_request_duration_seconds_bucket{le="0.01",route="/healthz"}' in exposed


def test_every_service_metric_starts_with_its_service_name() -> None:
    modules = {
        name: importlib.import_module(f"services.{name}.metrics")
        for name in ("gateway", "features", "scoring", "monitoring", "explainer")
    }
    for name, module in modules.items():
        if name != "explainer":  # a worker, no HTTP
            assert module.HTTP.requests._name == f"{name}_http_requests"
            assert module.HTTP.latency._name == f"{name}_http_request_duration_seconds"
    names = {metric.name for metric in REGISTRY.collect()}
    platform = {name for name in names if not name.startswith(("python_", "process_", "tiny_"))}
    assert platform, "no service metric registered"
    assert all(name.split("_")[0] in modules for name in platform), sorted(platform)


SERVICE_SETTINGS = {
    "GATEWAY_": GatewaySettings,
    "FEATURES_": FeaturesSettings,
    "SCORING_": ScoringSettings,
    "MONITORING_": MonitoringSettings,
    "EXPLAINER_": ExplainerSettings,
}
PLATFORM_VARIABLES = {
    *CommonSettings.variables(),
    *("FEATURES_URL", "SCORING_URL", "MONITORING_URL", "MODEL_ALIAS", "CHALLENGER_ALIAS"),
    *("DECISIONS_STREAM", "SHADOW_STREAM", "RECOURSE_STREAM"),
}


@pytest.mark.parametrize("prefix", SERVICE_SETTINGS)
def test_settings_follow_one_prefix_and_unit_rule(prefix: str) -> None:
    settings = SERVICE_SETTINGS[prefix]
    assert not [name for name in settings.model_fields if name.endswith(("_seconds", "_sec", "_secs"))]
    assert {name for name in settings.variables() if not name.startswith(prefix)} <= PLATFORM_VARIABLES


def test_service_settings_read_prefixed_and_platform_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCORING_RELOAD_INTERVAL_S", "0.25")
    monkeypatch.setenv("RELOAD_INTERVAL_S", "9")  # unprefixed: not the scoring service's
    monkeypatch.setenv("FEATURES_URL", "http://features:8001")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/1")
    settings = ScoringSettings()
    assert settings.reload_interval_s == 0.25
    assert (settings.features_url, settings.redis_url) == ("http://features:8001", "redis://cache:6379/1")
    assert ScoringSettings(features_url="http://elsewhere").features_url == "http://elsewhere"
