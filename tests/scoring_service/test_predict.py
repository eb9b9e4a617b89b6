"""Readiness, /predict (single and batch), /model and strict validation against a registered champion."""

from dataclasses import replace

import numpy as np
import pytest

from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.model import registry
from services.model.model import ScoringModel
from tests.scoring_service.support import Serve, served_version, wait_for
from tests.support.models import planted_rows, small_model
from tests.support.registered import register


def expected(model: ScoringModel, rows: list[dict[str, float | None]]) -> tuple[list[float], list[str]]:
    values = np.array([[row[name] for name in model.feature_names] for row in rows], dtype=np.float64)
    pd_values = model.predict_pd(values)
    assert model.profile is not None
    unusual = np.array([bool(model.profile.warnings(row)) for row in rows])
    return pd_values.tolist(), model.outcome(pd_values, unusual).tolist()


def test_not_ready_until_a_champion_is_loaded_then_scores(serve: Serve) -> None:
    with serve() as client:
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.headers["Retry-After"] == "1"
        assert not_ready.json()["error"]["code"] == "model_not_loaded"
        assert client.post("/predict", json={"features": planted_rows(1, 5)[0]}).status_code == 503
        assert client.get("/healthz").status_code == 200

        model = small_model(seed=1, feature_set_hash=FEATURE_SET_HASH)
        version = register(model, seed=1)
        registry.set_champion(version)
        wait_for(lambda: client.get("/readyz").status_code == 200)

        described = client.get("/model").json()
        assert described["version"] == version
        assert described["alias"] == "champion"
        assert described["feature_names"] == list(model.feature_names)
        assert described["feature_set_hash"] == FEATURE_SET_HASH
        assert described["threshold"] == pytest.approx(model.threshold)
        assert model.review is not None
        assert described["review_band"] == pytest.approx(
            {"low": model.review.low, "high": model.review.high, "share": model.review.share}
        )
        assert described["points_scale"] == {
            "points_to_double_odds": 20.0,
            "anchor_points": 600.0,
            "anchor_odds": 50.0,
        }
        assert [g["grade"] for g in described["master_scale"]] == list("ABCDEFG")
        assert 0.5 < described["metrics"]["val_roc_auc"] <= 1.0
        assert (
            'scoring_model_info{alias="champion",role="champion",version="' + version
            in client.get("/metrics").text
        )


def test_single_and_batch_predictions_match_the_registered_model(serve: Serve) -> None:
    model = small_model(seed=2, feature_set_hash=FEATURE_SET_HASH)
    version = register(model, seed=2)
    registry.set_champion(version)
    rows = planted_rows(40, seed=7)
    with serve() as client:
        wait_for(lambda: served_version(client) == version)
        single = client.post("/predict", json={"features": rows[0]}, headers={"X-Request-ID": "req-1"})
        batch = client.post("/predict", json={"instances": rows})

    assert single.status_code == 200
    assert single.headers["X-Request-ID"] == "req-1"
    body = single.json()
    assert (body["model_name"], body["model_version"]) == ("credit-scoring", version)
    assert body["threshold"] == pytest.approx(model.threshold)
    pd_values, decisions = expected(model, rows)
    [first] = body["predictions"]
    assert (first["pd"], first["decision"]) == (pytest.approx(pd_values[0]), decisions[0])
    assert first["points"] == model.scale.points(first["pd"])
    assert first["grade"] == model.scale.grade(first["pd"])
    assert batch.status_code == 200
    predictions = batch.json()["predictions"]
    assert [p["pd"] for p in predictions] == pytest.approx(pd_values)
    assert [p["decision"] for p in predictions] == decisions
    assert {"approved", "review", "refused"} == set(decisions)  # the rows exercise every outcome


def test_an_input_outside_the_training_range_is_scored_with_a_warning_and_reviewed(serve: Serve) -> None:
    model = small_model(seed=4, feature_set_hash=FEATURE_SET_HASH)
    registry.set_champion(register(model, seed=4))
    assert model.profile is not None
    name, (low, high) = next(iter(model.profile.ranges.items()))
    row = {**planted_rows(1, seed=9)[0], name: high + 10 * (high - low + 1)}
    with serve() as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)
        response = client.post("/predict", json={"features": row})
    [prediction] = response.json()["predictions"]
    assert prediction["decision"] == "review"
    assert 0 < prediction["pd"] < 1
    assert prediction["warnings"] == [
        {"field": name, "value": row[name], "unusual": f"outside the training range [{low:g}, {high:g}]"}
    ]


@pytest.mark.parametrize("inline_max_rows", [0, 1000])
def test_threaded_and_inline_scoring_agree(serve: Serve, inline_max_rows: int) -> None:
    model = small_model(seed=3, feature_set_hash=FEATURE_SET_HASH)
    registry.set_champion(register(model, seed=3))
    rows = planted_rows(5, seed=8)
    with serve(inline_max_rows=inline_max_rows) as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)
        response = client.post("/predict", json={"instances": rows})
    assert [p["pd"] for p in response.json()["predictions"]] == pytest.approx(expected(model, rows)[0])


def test_too_many_instances_or_bytes_is_413(serve: Serve) -> None:
    registry.set_champion(register(small_model(seed=4, feature_set_hash=FEATURE_SET_HASH), seed=4))
    rows = planted_rows(6, seed=9)
    with serve(max_batch=5, max_body_bytes=4000) as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)
        assert client.post("/predict", json={"instances": rows[:5]}).status_code == 200
        too_many = client.post("/predict", json={"instances": rows})
        too_big = client.post("/predict", json={"instances": rows * 10})
    assert too_many.status_code == 413
    assert too_many.json()["error"]["message"] == "6 instances; at most 5 per request"
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"


def test_invalid_features_are_422_naming_them(serve: Serve) -> None:
    registry.set_champion(register(small_model(seed=5, feature_set_hash=FEATURE_SET_HASH), seed=5))
    row = planted_rows(1, seed=10)[0]
    del row["feature_3"]
    with serve() as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)
        names = client.post("/predict", json={"instances": [planted_rows(1, 11)[0], {**row, "bogus": 1.0}]})
        text = client.post("/predict", json={"features": {**row, "feature_3": "NaN"}})
        literal = client.post(
            "/predict",
            content=b'{"features": {"feature_0": NaN, "feature_1": 1e999, "feature_2": -Infinity}}',
            headers={"Content-Type": "application/json"},
        )
        both = client.post("/predict", json={"features": row, "instances": [row]})

    assert names.status_code == 422
    error = names.json()["error"]
    assert error["code"] == "invalid_features"
    assert "missing feature(s) in instances.1: feature_3" in error["message"]
    assert "unknown feature(s) in instances.1: bogus" in error["message"]
    assert {"field": "instances.1.bogus", "reason": "unknown feature"} in error["details"]
    assert text.status_code == 422
    assert text.json()["error"]["details"] == [
        {"field": "features.feature_3", "reason": "Input should be a valid number", "value": "NaN"}
    ]
    assert literal.status_code == 422
    fields = {d["field"]: d["reason"] for d in literal.json()["error"]["details"]}
    assert fields == {f"features.feature_{i}": "Input should be a finite number" for i in range(3)}
    assert both.status_code == 422
    assert "exactly one of 'features'" in both.json()["error"]["message"]


def test_a_model_on_a_subset_of_the_features_scores_the_features_services_full_vectors(
    serve: Serve,
) -> None:
    """An imported notebook model may use a few of the features; the gateway still sends every one."""
    planted = small_model(seed=5, feature_set_hash=FEATURE_SET_HASH)
    subset = NAMES[3:15]  # twelve catalog names for the planted columns
    model = replace(planted, feature_names=subset, profile=None)
    registry.set_champion(register(model, seed=5))
    rows = [
        {**dict.fromkeys(NAMES), **dict(zip(subset, row.values(), strict=True))}
        for row in planted_rows(3, 12)
    ]
    with serve() as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)
        answer = client.post("/predict", json={"instances": rows})
        bogus = client.post("/predict", json={"features": {**rows[0], "bogus": 1.0}})
    assert answer.status_code == 200, answer.text
    values = np.array([[row[n] for n in subset] for row in rows], dtype=np.float64)
    assert [p["pd"] for p in answer.json()["predictions"]] == pytest.approx(model.predict_pd(values).tolist())
    assert (
        bogus.status_code == 422
        and "unknown feature(s) in features: bogus" in bogus.json()["error"]["message"]
    )
