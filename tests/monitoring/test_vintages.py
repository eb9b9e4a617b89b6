"""Back-testing by vintage over HTTP and Prometheus: volumes, realised figures once outcomes arrive,
estimated ones before, and the Jeffreys calibration test per PD band."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from services.monitoring.app import create_app
from services.monitoring.settings import MonitoringSettings
from services.monitoring.vintages import first_of_month, jeffreys
from tests.monitoring.factories import decision, write_decisions


def month(back: int) -> tuple[str, datetime]:
    start = first_of_month(datetime.now(UTC), back)
    return start.strftime("%Y-%m"), start + timedelta(seconds=1)


def test_vintages_follow_each_month_of_decisions(settings: MonitoringSettings) -> None:
    (old, old_time), (last, last_time), (this, this_time) = month(2), month(1), month(0)
    # Two months ago: PD 0.15 defaulting twice as often as predicted, PD 0.03 defaulting as predicted.
    risky = [decision(pd=0.15, client_id=i, time=old_time) for i in range(100)]
    safe = [decision(pd=0.03, client_id=1000 + i, time=old_time) for i in range(100)]
    unsettled = [decision(pd=0.5, client_id=2000 + i, time=last_time) for i in range(50)]  # refused
    recent = [decision(pd=0.1, client_id=3000 + i, time=this_time) for i in range(10)]
    write_decisions(settings, risky + safe + unsettled + recent)
    defaults = [*(i < 30 for i in range(100)), *(i < 3 for i in range(100)), *[False] * 5]
    now = datetime.now(UTC).isoformat()
    outcomes = [
        {"client_id": e["client_id"], "defaulted": d, "request_id": e["request_id"], "time": now}
        for e, d in zip(risky + safe + recent[:5], defaults, strict=True)
    ]
    with TestClient(create_app(settings)) as client:
        settled = client.post("/outcomes", json={"outcomes": outcomes}).json()
        assert len(settled["accepted"]) == 205
        found = {v["vintage"]: v for v in client.get("/performance/vintages").json()["vintages"]}
        metrics = client.get("/metrics").text
    assert list(found) == [old, last, this]
    assert (found[old]["decisions"], found[old]["approval_rate"]) == (200, 1.0)
    assert found[old]["mean_pd"] == pytest.approx(0.09)
    assert found[old]["realised"]["with_outcome"] == 200
    assert found[old]["realised"]["default_rate"] == pytest.approx(33 / 200)
    assert found[old]["gini"] == pytest.approx(2 * found[old]["realised"]["auc"] - 1)
    assert found[old]["realised"]["ks"] is not None
    bands = {b["band"]: b for b in found[old]["bands"]}
    assert (bands["0.10-0.20"]["settled"], bands["0.10-0.20"]["defaults"]) == (100, 30)
    assert bands["0.10-0.20"]["verdict"] == "underestimates" and bands["0.10-0.20"]["p_value"] < 0.001
    assert bands["0.02-0.05"]["verdict"] == "consistent" and bands["0.02-0.05"]["p_value"] > 0.05
    assert bands["0.02-0.05"]["jeffreys_low"] < 0.03 < bands["0.02-0.05"]["jeffreys_high"]
    assert found[last]["realised"]["with_outcome"] == 0 and found[last]["realised"]["default_rate"] is None
    assert (found[last]["approval_rate"], found[last]["bands"]) == (0.0, [])
    assert found[last]["estimated"]["default_rate"] == pytest.approx(0.5)
    assert found[this]["realised"]["auc"] is None  # only repayers known so far
    assert f'monitoring_vintage_decisions{{vintage="{old}"}} 200.0' in metrics
    assert f'monitoring_vintage_band_jeffreys_p_value{{band="0.10-0.20",vintage="{old}"}}' in metrics
    assert f'monitoring_vintage_default_rate{{vintage="{last}"}}' not in metrics


def test_jeffreys_interval_of_a_band() -> None:
    # 10 defaults among 100 at PD 0.10: the interval brackets it; PD 0.02 is too low, 0.25 too high.
    low, high, p_value, verdict = jeffreys(100, 10, 0.10)
    assert low < 0.10 < high and 0.3 < p_value < 0.7 and verdict == "consistent"
    assert jeffreys(100, 10, 0.02)[3] == "underestimates" and jeffreys(100, 10, 0.25)[3] == "overestimates"
    assert jeffreys(100, 0, 0.01)[0] < 1e-4  # no defaults: the interval starts near 0
