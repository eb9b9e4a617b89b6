"""Hot reload: promotion and rollback under concurrent load, broken versions, feature-set hash mismatch."""

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from services.common.migrations import migrate
from services.feature_definitions.catalog import FEATURE_SET_HASH
from services.model import audit, lifecycle, registry
from services.model.model import BOOSTER_FILE, CALIBRATOR_FILE
from tests.scoring_service.support import Serve, json_logs, served_version, wait_for
from tests.support.models import planted_rows, small_model
from tests.support.registered import register

CLIENTS = 4


def fire(client: TestClient, body: dict, stop: threading.Event, out: list[tuple[int, str, float]]) -> None:
    """Sequential requests until `stop`: (status, version, pd) of each, in order."""
    while not stop.is_set():
        response = client.post("/predict", json=body)
        payload = response.json()
        version = payload.get("model_version", "")
        pd_value = payload["predictions"][0]["pd"] if response.status_code == 200 else float("nan")
        out.append((response.status_code, version, pd_value))


def test_promotion_under_concurrent_requests_switches_once_without_errors(serve: Serve) -> None:
    old_model, new_model = (small_model(seed, FEATURE_SET_HASH) for seed in (11, 12))
    old, new = register(old_model, seed=11), register(new_model, seed=12)
    registry.set_champion(old)
    row = planted_rows(1, seed=13)[0]
    values = np.array([[row[name] for name in old_model.feature_names]])
    expected = {old: old_model.predict_pd(values)[0], new: new_model.predict_pd(values)[0]}
    assert expected[old] != pytest.approx(expected[new])  # otherwise a mixed response could pass unseen

    results = answers_across_a_switch(serve, {"features": row}, old, new, lambda: registry.set_champion(new))

    for out in results:
        assert {status for status, _, _ in out} == {200}
        versions = [version for _, version, _ in out]
        switch = versions.index(new)
        assert versions == [old] * switch + [new] * (len(versions) - switch)  # one switch, never back
        assert all(pd_value == pytest.approx(expected[version]) for _, version, pd_value in out)


def test_rollback_under_concurrent_requests_returns_to_the_previous_champion_without_errors(
    serve: Serve, database_url: str
) -> None:
    """The rollback moves the alias the same way a promotion does: every request answered, by one
    version then the other, never back."""
    migrate(database_url)
    old_model, new_model = (small_model(seed, FEATURE_SET_HASH) for seed in (21, 22))
    old, new = register(old_model, seed=21), register(new_model, seed=22)
    for version in (old, new):  # two promotions in the audit history (their gates are lifecycle tests')
        registry.set_champion(version)
        audit.record(database_url, audit.Event.PROMOTED, version, "carol", {})
    row = planted_rows(1, seed=23)[0]
    values = np.array([[row[name] for name in old_model.feature_names]])
    expected = {old: old_model.predict_pd(values)[0], new: new_model.predict_pd(values)[0]}
    assert expected[old] != pytest.approx(expected[new])

    def roll_back() -> None:
        assert lifecycle.rollback(database_url, "erin", "under load") == (old, new)

    results = answers_across_a_switch(serve, {"features": row}, new, old, roll_back)

    for out in results:
        assert {status for status, _, _ in out} == {200}
        versions = [version for _, version, _ in out]
        switch = versions.index(old)
        assert versions == [new] * switch + [old] * (len(versions) - switch)
        assert all(pd_value == pytest.approx(expected[version]) for _, version, pd_value in out)
    assert audit.history(database_url)[-1].event == audit.Event.ROLLED_BACK


def corrupt_booster(directory: Path) -> None:
    (directory / BOOSTER_FILE).write_text("this is not a LightGBM model\n")


def drop_calibrator(directory: Path) -> None:
    (directory / CALIBRATOR_FILE).unlink()


@pytest.mark.parametrize("damage", [corrupt_booster, drop_calibrator])
def test_a_broken_version_never_serves_and_the_previous_one_is_kept(
    serve: Serve, damage: Callable[[Path], None], capfd: pytest.CaptureFixture[str]
) -> None:
    broken = register(small_model(14, FEATURE_SET_HASH), seed=14, damage=damage)
    registry.set_champion(broken)
    with serve() as client:
        wait_for(lambda: any("cannot load" in line["message"] for line in json_logs(capfd.readouterr().out)))
        assert client.get("/readyz").status_code == 503

    good = register(small_model(15, FEATURE_SET_HASH), seed=15)
    registry.set_champion(good)
    with serve() as client:
        wait_for(lambda: served_version(client) == good)
        capfd.readouterr()
        registry.set_champion(broken)
        logs: list[dict] = []
        wait_for(lambda: logs.extend(json_logs(capfd.readouterr().out)) or _failed(logs, broken))
        assert served_version(client) == good
        assert client.post("/predict", json={"features": planted_rows(1, 16)[0]}).status_code == 200
        assert 'scoring_model_reload_failures_total{role="champion"}' in client.get("/metrics").text


def _failed(logs: list[dict], version: str) -> bool:
    return any(line.get("version") == version and line["level"] == "ERROR" for line in logs)


def test_a_model_trained_on_another_feature_set_is_refused(
    serve: Serve, capfd: pytest.CaptureFixture[str]
) -> None:
    registry.set_champion(register(small_model(17, "stale-feature-set"), seed=17))
    with serve() as client:
        logs: list[dict] = []
        wait_for(lambda: logs.extend(json_logs(capfd.readouterr().out)) or _failed(logs, "1"))
        assert client.get("/readyz").status_code == 503
    message = next(line["message"] for line in logs if line["level"] == "ERROR")
    assert "trained on feature set stale-feature-set" in message
    assert f"serves {FEATURE_SET_HASH}" in message


def answers_across_a_switch(
    serve: Serve, body: dict, before: str, after: str, switch: Callable[[], None]
) -> list[list[tuple[int, str, float]]]:
    """CLIENTS threads scoring `body` while `switch()` moves the alias from `before` to `after`: each
    thread's (status, version, pd), until every thread has seen `after`."""
    results: list[list[tuple[int, str, float]]] = [[] for _ in range(CLIENTS)]
    stop = threading.Event()
    with serve() as client:
        wait_for(lambda: served_version(client) == before)
        threads = [threading.Thread(target=fire, args=(client, body, stop, out)) for out in results]
        for thread in threads:
            thread.start()
        wait_for(lambda: all(len(out) >= 10 for out in results))
        switch()
        wait_for(lambda: all(any(version == after for _, version, _ in out[-5:]) for out in results))
        stop.set()
        for thread in threads:
            thread.join()
    return results
