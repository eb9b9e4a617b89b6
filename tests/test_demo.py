"""`DEMO_ONCE=1 make demo` end to end: throwaway databases, run folder and free ports. A second run over a
champion that lost its artifacts is tests/test_bootstrap.py's (the step handling it), not a second demo."""

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from services.common.db import drop_database

REPO = Path(__file__).resolve().parents[1]
PORTS = ("GATEWAY_PORT", "FEATURES_PORT", "SCORING_PORT", "MONITORING_PORT", "MLFLOW_PORT",
         "EXPLAINER_METRICS_PORT", "PROMETHEUS_PORT")  # fmt: skip


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.fixture
def mlflow_database_url(database_url: str) -> Iterator[str]:
    url = make_url(database_url)
    mlflow_url = url.set(database=f"{url.database}_mlflow").render_as_string(hide_password=False)
    yield mlflow_url
    drop_database(mlflow_url)


def test_demo_runs_end_to_end(database_url: str, mlflow_database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DEMO_ONCE": "1",
        "DATABASE_URL": database_url,
        "MLFLOW_DATABASE_URL": mlflow_database_url,
        "DEMO_RUN_DIR": str(tmp_path),
        "DEMO_CLIENTS": "1500",
        "DEMO_TRIALS": "0",
        "DEMO_DRIFTED": "250",
        **{name: str(port) for name, port in zip(PORTS, free_ports(len(PORTS)), strict=True)},
    }
    result = run_demo(env)
    assert "default rate" in result.stdout
    assert "champion: credit-scoring v1" in result.stdout
    scores = re.findall(r"^(?:client \d+|new applicant): [A-Z]+  PD ", result.stdout, flags=re.MULTILINE)
    assert len(scores) == 4  # three known clients and one new applicant
    assert "\n  - " in result.stdout  # reason codes arrived from the explainer
    assert "outcome recorded" in result.stdout
    assert_mlops_loop(result.stdout)
    assert "demo finished" in result.stdout


def assert_mlops_loop(stdout: str) -> None:
    """Drifted traffic scored, outcomes settled once, a drift run, performance, vintages, alerts."""
    assert "250 drifted applications scored through the gateway" in stdout
    assert re.search(r"sent again: \d+ unchanged, 1 rejected", stdout)
    assert re.search(r"drift share [\d.]+% \(\d+ of \d+ features\)", stdout)
    assert "score PSI" in stdout and "/drift/reports/" in stdout
    assert re.search(r"realised +0\.\d{3}", stdout) and re.search(r"estimated +0\.\d{3}", stdout)
    assert "== vintages" in stdout and "Jeffreys 95%" in stdout
    assert re.search(r"firing: .*(ScoreDistributionShift|DataDriftHigh|DatasetDrift)", stdout)  # drifted


def run_demo(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", "scripts/demo.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    return result
