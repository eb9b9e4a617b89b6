"""Every query of every Grafana dashboard panel returns data from a real Prometheus scraping the running
platform (Grafana itself cannot be installed here): traffic through the gateway, a challenger in shadow,
outcomes, a drift run, then each panel's PromQL evaluated as Grafana would. The alert rules load and
evaluate on the same live series without error."""

import json
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from loopback.platform import Platform
from loopback.processes import free_port, wait_for
from loopback.registry import champion_on_catalog_names
from services.model.registry import CHALLENGER, MODEL_NAME
from tests.gateway.test_reviews import UNUSUAL
from tests.monitoring.prometheus import prometheus_server, query

DASHBOARDS = Path(__file__).resolve().parents[2] / "infra" / "grafana" / "dashboards"
SCORED = 210  # above the drift job's 200-decision minimum
DATA_WITHIN_S = 90.0
RECENT = 20  # applications scored just before the queries are evaluated


def panel_queries() -> list[tuple[str, str]]:
    """(where: board / panel / legend, PromQL) of every target of every panel."""
    return [
        (f"{path.stem} / {panel['title']} / {target.get('legendFormat', target['refId'])}", target["expr"])
        for path in sorted(DASHBOARDS.glob("*.json"))
        for panel in json.loads(path.read_text())["panels"]
        for target in panel["targets"]
    ]


def host(url: str) -> str:
    return url.removeprefix("http://")


@pytest.fixture
def challenger(stack: Platform) -> Iterator[str]:
    """A second version as challenger, so scoring shadow-scores; the alias is removed after."""
    tracking = stack.settings().mlflow_tracking_uri
    version = champion_on_catalog_names(tracking, rows=500, seed=12, alias=CHALLENGER)
    wait_for(
        lambda: f'role="{CHALLENGER}",version="{version}"' in httpx.get(f"{stack.scoring.url}/metrics").text,
        "scoring to load the challenger",
        60,
    )
    yield version
    MlflowClient(tracking).delete_registered_model_alias(MODEL_NAME, CHALLENGER)


def traffic(stack: Platform, key: str) -> None:
    """Scores, one unknown client, outcomes settling the scored decisions, an officer's review of an
    unusual application, one drift run, then recent applications."""
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=stack.gateway.url, headers=headers, timeout=30) as gateway:
        with ThreadPoolExecutor(4) as pool:
            scores = list(
                pool.map(
                    lambda i: gateway.post("/v1/scores", json={"client_id": i}).json(),
                    stack.client_ids[:SCORED],
                )
            )
        assert gateway.post("/v1/scores", json={"client_id": 1}).status_code == 404
        outcomes = [
            {"client_id": s["client_id"], "defaulted": i % 4 == 0, "request_id": s["request_id"]}
            for i, s in enumerate(scores)
        ]
        deadline = time.monotonic() + 30
        while outcomes and time.monotonic() < deadline:  # decisions reach the log a moment after scoring
            rejected = gateway.post("/v1/outcomes", json={"outcomes": outcomes}).json()["rejected"]
            outcomes = [outcomes[r["item"]] for r in rejected]
        assert outcomes == [], "some decisions never reached the log"
        unusual = {"application": UNUSUAL, "history": {}}
        scored = gateway.post("/v1/scores", json=unusual, headers={"X-Request-ID": "dashboard-review"})
        assert scored.json()["decision"] == "review", scored.text
        review = {"decision": "approved", "reason": "income_verified"}
        deadline = time.monotonic() + 30
        reviewed = gateway.post("/v1/decisions/dashboard-review/review", json=review)
        while reviewed.status_code in (404, 503) and time.monotonic() < deadline:
            time.sleep(0.2)  # not consumed into the log yet, or monitoring busy for a moment
            reviewed = gateway.post("/v1/decisions/dashboard-review/review", json=review)
        assert reviewed.status_code == 200, reviewed.text
    run = httpx.post(f"{stack.monitoring.url}/drift/run", timeout=300).json()
    assert run["status"] == "ok", run["error"]
    recent_traffic(stack, key)


def recent_traffic(stack: Platform, key: str) -> None:
    """Fresh applications (each a new vector, so a new explanation task) after the drift run, however
    long it took: the panels' 5-minute rates need requests inside their window."""
    with httpx.Client(base_url=stack.gateway.url, headers={"X-API-Key": key}, timeout=30) as gateway:
        for i in range(1, RECENT + 1):
            application = {**UNUSUAL, "AMT_INCOME_TOTAL": UNUSUAL["AMT_INCOME_TOTAL"] + i}
            reply = gateway.post("/v1/scores", json={"application": application, "history": {}})
            assert reply.status_code == 200, reply.text


def missing_data(prometheus: str) -> list[str]:
    """Queries whose answer is empty or holds no finite value (Grafana would draw nothing)."""
    missing = []
    for where, expr in panel_queries():
        values = [float(sample["value"][1]) for sample in query(prometheus, expr)]
        if not any(math.isfinite(v) for v in values):
            missing.append(f"{where}: {expr} -> {values}")
    return missing


def test_every_dashboard_query_returns_data(
    stack: Platform, make_key: object, challenger: str, tmp_path: Path
) -> None:
    assert stack.worker_metrics is not None
    assert len(panel_queries()) > 50, "dashboards not found"
    port = free_port()
    targets = {
        "gateway": host(stack.gateway.url),
        "features": host(stack.features.url),
        "scoring": host(stack.scoring.url),
        "monitoring": host(stack.monitoring.url),
        "explainer": stack.worker_metrics,
        "prometheus": f"127.0.0.1:{port}",
    }
    with prometheus_server.serve(tmp_path, port, targets) as prometheus:
        traffic(stack, make_key())  # type: ignore[operator]
        deadline = time.monotonic() + DATA_WITHIN_S
        while (missing := missing_data(prometheus)) and time.monotonic() < deadline:
            time.sleep(1.0)
        assert missing == [], "\n".join(missing)
        rules = httpx.get(f"{prometheus}/api/v1/rules").json()["data"]["groups"]
        unhealthy = [
            (r["name"], r.get("lastError")) for g in rules for r in g["rules"] if r["health"] != "ok"
        ]
        assert rules and unhealthy == []
