"""Champion/challenger: shadow predictions land in the Redis stream; Redis trouble never fails a request."""

import numpy as np
import pytest
import redis
from fastapi.testclient import TestClient

from loopback.processes import free_port
from services.common.settings import CommonSettings
from services.feature_definitions.catalog import FEATURE_SET_HASH
from services.model import registry
from services.model.model import ScoringModel
from services.monitoring.consumer import parse, stream_kinds
from services.monitoring.settings import MonitoringSettings
from tests.scoring_service.support import Serve, json_logs, wait_for
from tests.support.models import planted_rows, small_model
from tests.support.registered import register


def champion_and_challenger() -> tuple[dict[str, ScoringModel], str, str]:
    """Two versions: the first promoted to champion, the second left as challenger (training's default)."""
    models = {}
    for seed in (21, 22):
        model = small_model(seed, FEATURE_SET_HASH)
        models[register(model, seed)] = model
    champion, challenger = models
    registry.set_champion(champion)
    return models, champion, challenger


def both_loaded(client: TestClient) -> bool:
    holder = client.app.state.service.holder  # type: ignore[attr-defined]
    return holder.champion is not None and holder.challenger is not None


def test_shadow_predictions_of_the_challenger_reach_the_stream(serve: Serve, shadow_stream: str) -> None:
    models, champion, challenger = champion_and_challenger()
    rows = planted_rows(3, seed=23)
    with serve() as client:
        wait_for(lambda: both_loaded(client))
        response = client.post("/predict", json={"instances": rows}, headers={"X-Request-ID": "shadow-1"})
        assert response.json()["model_version"] == champion
        store = redis.Redis.from_url(CommonSettings().redis_url, decode_responses=True)
        wait_for(lambda: store.xlen(shadow_stream) == len(rows))

    records = [fields for _, fields in store.xrange(shadow_stream)]
    consumed = stream_kinds(MonitoringSettings(shadow_stream=shadow_stream))[shadow_stream]
    assert [parse(consumed, r).row for r in records] == [0, 1, 2]  # the ShadowEvent monitoring reads
    names = models[champion].feature_names
    values = np.array([[row[name] for name in names] for row in rows], dtype=np.float64)
    assert [r["row"] for r in records] == ["0", "1", "2"]
    for record, champion_pd, challenger_pd in zip(
        records, models[champion].predict_pd(values), models[challenger].predict_pd(values), strict=True
    ):
        assert record["request_id"] == "shadow-1"
        assert (record["champion_version"], record["challenger_version"]) == (champion, challenger)
        assert float(record["champion_pd"]) == pytest.approx(champion_pd)
        assert float(record["challenger_pd"]) == pytest.approx(challenger_pd)
        assert float(record["time"]) > 0


def test_redis_down_does_not_fail_requests(serve: Serve, capfd: pytest.CaptureFixture[str]) -> None:
    champion_and_challenger()
    with serve(redis_url=f"redis://127.0.0.1:{free_port()}/0") as client:
        wait_for(lambda: both_loaded(client))
        responses = [client.post("/predict", json={"features": row}) for row in planted_rows(5, seed=24)]
        logs: list[dict] = []
        wait_for(
            lambda: (
                logs.extend(json_logs(capfd.readouterr().out))
                or any("not published to Redis" in line["message"] for line in logs)
            )
        )
        assert 'scoring_shadow_records_total{outcome="failed"}' in client.get("/metrics").text
    assert {r.status_code for r in responses} == {200}
