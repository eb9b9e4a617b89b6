"""A real Prometheus (Debian's package, through infra/prometheus/server.py) scrapes the monitoring service
and sees the drift figures."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import httpx
import polars as pl
import psycopg2
import pytest
import uvicorn

from loopback.processes import free_port
from services.monitoring import drift_store
from services.monitoring.app import create_app
from services.monitoring.drift import compare
from services.monitoring.drift_store import RunRecord
from services.monitoring.settings import MonitoringSettings
from tests.monitoring.prometheus import prometheus_server, query

STARTUP_SECONDS = 60


def wait_until(check: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            found = check()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def monitoring_url(settings: MonitoringSettings) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{url}/healthz").status_code == 200, "the monitoring service")
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def prometheus(monitoring_url: str, tmp_path: Path) -> Iterator[str]:
    target = monitoring_url.removeprefix("http://")
    with prometheus_server.serve(tmp_path, free_port(), {"monitoring": target}) as url:
        yield url


def store_drift_run(settings: MonitoringSettings) -> float:
    """A real comparison (feature `a` shifted, `b` not) stored as the latest run; returns its drift share."""
    reference = pl.DataFrame(
        {"a": [float(i % 50) for i in range(2000)], "b": [float(i % 7) for i in range(2000)]}
    )
    current = reference.with_columns(pl.col("a") + 30.0)
    result = compare(reference, current, ["a", "b"], 0.5)
    now = datetime.now(UTC)
    record = RunRecord("ok", now, now, 1.5, model_version="1", current_rows=2000, reference_rows=2000)
    with closing(psycopg2.connect(settings.database_url)) as conn:
        drift_store.save_run(conn, record, result)
    return result.drift_share


def test_prometheus_scrapes_the_drift_share(settings: MonitoringSettings, prometheus: str) -> None:
    share = store_drift_run(settings)
    assert share == 0.5

    result = wait_until(
        lambda: query(prometheus, "monitoring_drift_share"), "Prometheus to scrape monitoring_drift_share"
    )
    assert float(result[0]["value"][1]) == share
    assert result[0]["metric"]["job"] == "monitoring"
