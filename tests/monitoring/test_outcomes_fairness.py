"""Realised and estimated performance and fairness from the decision log, over HTTP."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from services.common.db import drop_database
from services.monitoring.app import create_app
from services.monitoring.settings import MonitoringSettings
from tests.monitoring.factories import decision, write_decisions


@pytest.fixture
def client(settings: MonitoringSettings) -> TestClient:
    with TestClient(create_app(settings)) as found:
        yield found


def outcome(client_id: int, defaulted: bool, request_id: str | None = None) -> dict[str, object]:
    return {"client_id": client_id, "defaulted": defaulted, "time": datetime.now(UTC).isoformat(),
            "request_id": request_id}  # fmt: skip


def test_realised_and_estimated_performance_count_each_decision_once(
    settings: MonitoringSettings, client: TestClient
) -> None:
    # PD ranks the outcomes perfectly except one pair; decisions at threshold 0.3.
    scored = [(0.05, False), (0.1, False), (0.2, True), (0.25, False), (0.4, True), (0.6, True)]
    events = [decision(pd=pd, client_id=200000 + i) for i, (pd, _) in enumerate(scored)]
    events.append(decision(pd=0.1, client_id=300000))  # no outcome yet
    earlier = [  # earlier decisions of the same clients: an outcome without request id settles the latest
        decision(pd=0.9, client_id=200000 + i, time=datetime.now(UTC) - timedelta(days=2)) for i in range(6)
    ]
    write_decisions(settings, events + earlier)
    # Half name their decision's request id, the others settle their client's latest decision.
    outcomes = [
        outcome(200000 + i, defaulted, event["request_id"] if i % 2 else None)
        for i, ((_, defaulted), event) in enumerate(zip(scored, events, strict=False))
    ]
    for attempt in range(3):  # a client retrying after a 503 sends the same outcomes again
        settled = client.post("/outcomes", json={"outcomes": outcomes}).json()
        assert settled["rejected"] == []
        assert [a["request_id"] for a in settled["accepted"]] == [e["request_id"] for e in events[:6]]
        assert {a["result"] for a in settled["accepted"]} == {"unchanged" if attempt else "recorded"}
    found = client.get("/performance").json()
    assert found["decisions"] == 13
    realised, estimated = found["realised"], found["estimated"]
    assert realised["with_outcome"] == 6
    assert realised["default_rate"] == pytest.approx(0.5)
    assert realised["auc"] == pytest.approx(8 / 9)  # 8 of the 9 (defaulter, repayer) pairs ordered right
    assert realised["ks"] == pytest.approx(2 / 3)
    assert realised["cost"] == 10.0  # one approved defaulter (PD 0.2), no refused repayer
    assert realised["cost_per_decision"] == pytest.approx(10 / 6)
    pds = [pd for pd, _ in scored] + [0.1] + [0.9] * 6
    assert estimated["decisions"] == 13
    assert estimated["default_rate"] == pytest.approx(sum(pds) / 13)
    approved_pds, refused_pds = [p for p in pds if p < 0.3], [p for p in pds if p >= 0.3]
    assert estimated["cost"] == pytest.approx(10 * sum(approved_pds) + sum(1 - p for p in refused_pds))
    assert 0.5 < estimated["auc"] < 1.0


def test_approval_ratios_by_gender_and_age_band(settings: MonitoringSettings, client: TestClient) -> None:
    women = [
        decision(pd=0.1, features={"app_code_gender_code": 0.0, "app_age_years": 30.0}) for _ in range(40)
    ]
    men = [
        decision(pd=0.1 if i < 30 else 0.5, features={"app_code_gender_code": 1.0, "app_age_years": 50.0})
        for i in range(40)
    ]
    young = [
        decision(pd=0.5, features={"app_code_gender_code": 2.0, "app_days_birth": -8000.0}) for _ in range(5)
    ]
    write_decisions(settings, women + men + young)
    groups = {(g["attribute"], g["group"]): g for g in client.get("/fairness").json()["groups"]}
    assert groups["gender", "F"]["approval_rate"] == 1.0 and groups["gender", "F"]["ratio"] == 1.0
    assert groups["gender", "M"]["approval_rate"] == 0.75 and groups["gender", "M"]["ratio"] == 0.75
    assert groups["gender", "XNA"]["ratio"] is None  # too few decisions to judge
    assert groups["age_band", "25-34"]["decisions"] == 40
    assert groups["age_band", "45-54"]["ratio"] == 0.75
    assert groups["age_band", "<25"]["decisions"] == 5  # age from DAYS_BIRTH: about 21.9 years
    metrics = client.get("/metrics").text
    assert 'monitoring_fairness_min_approval_ratio{attribute="gender"} 0.75' in metrics
    assert "monitoring_approval_rate 0.8" in metrics


def test_bad_outcomes_get_a_422_naming_the_field(client: TestClient) -> None:
    response = client.post(
        "/outcomes", json={"outcomes": [{"client_id": "x", "defaulted": True, "time": "yesterday"}]},
        headers={"X-Request-ID": "req-42"},
    )  # fmt: skip
    body = response.json()
    assert response.status_code == 422
    assert body["error"]["code"] == "invalid_input"
    assert body["error"]["request_id"] == "req-42" == response.headers["x-request-id"]
    assert {d["field"] for d in body["error"]["details"]} == {"outcomes.0.client_id", "outcomes.0.time"}


def test_unknown_run_and_report_are_404(client: TestClient) -> None:
    assert client.get("/drift/runs/999").json()["error"]["code"] == "not_found"
    assert client.get("/drift/reports/999").status_code == 404
    assert client.get("/readyz").json() == {"status": "ready"}


def test_database_outage_is_a_503(settings: MonitoringSettings, client: TestClient) -> None:
    assert client.get("/performance").status_code == 200
    drop_database(settings.database_url)  # as Postgres going away under a running service
    response = client.get("/performance")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"
