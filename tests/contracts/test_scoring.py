"""Scoring service <-> gateway: the predict request the gateway sends is what the scoring service parses,
and its reply and model description, as really answered, are what the gateway's ScoringClient reads; a
broken field is a 502 naming the scoring service."""

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from loopback.platform import Platform
from services.common.http import ApiError
from services.contracts.scoring import ModelDescription, PredictRequest, PredictResponse
from services.gateway.clients import FeaturesClient, ScoringClient, hot_json, parsed
from services.gateway.downstream import Reply
from tests.contracts.conftest import Ask


def test_the_gateways_predict_request_is_what_the_scoring_service_parses() -> None:
    features = {"app_ext_source_2": 0.4, "app_ext_source_3": None}
    sent = hot_json(PredictRequest.model_construct(features=features))
    assert PredictRequest.model_validate_json(sent).features == features


def test_a_real_prediction_and_model_description_are_what_the_gateway_reads(
    ask: Ask, stack: Platform
) -> None:
    vector = ask("features", lambda d: FeaturesClient(d).vector(stack.client_ids[0]))
    answer = ask("scoring", lambda d: ScoringClient(d).predict(vector.features))
    assert isinstance(answer, PredictResponse) and len(answer.predictions) == 1
    assert answer.model_version == stack.model_version
    assert 0 <= answer.predictions[0].pd <= 1
    described = ask("scoring", lambda d: ScoringClient(d).model())
    assert isinstance(described, ModelDescription)
    assert (described.version, described.threshold) == (stack.model_version, answer.threshold)


def _real_answer(raw: Callable[..., tuple[int, Any]], stack: Platform) -> dict[str, Any]:
    status, vector = raw("features", "GET", f"/features/{stack.client_ids[0]}")
    assert status == 200
    status, body = raw("scoring", "POST", "/predict", {"features": vector["features"]})
    assert status == 200
    PredictResponse.model_validate(body)
    return body


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda b: b["predictions"][0].pop("pd"), "predictions.0.pd"),
        (lambda b: b["predictions"][0].update(decision="maybe"), "predictions.0.decision"),
        (lambda b: b.update(predictions=[]), "predictions"),
        (lambda b: b.update(model_version=3), "model_version"),
    ],
)
def test_a_prediction_with_a_broken_field_is_a_502_naming_the_scoring_service(
    raw: Callable[..., tuple[int, Any]], stack: Platform, change: Callable[[dict], object], named: str
) -> None:
    body = _real_answer(raw, stack)
    change(body)
    with pytest.raises(ApiError) as raised:
        parsed(PredictResponse, "scoring", Reply(200, orjson.dumps(body)))
    error = raised.value
    assert (error.status, error.code) == (502, "bad_gateway")
    assert "scoring service broke its PredictResponse contract" in error.message
    assert error.details[0]["field"] == named


def test_a_model_description_without_its_threshold_is_a_502(raw: Callable[..., tuple[int, Any]]) -> None:
    status, body = raw("scoring", "GET", "/model")
    assert status == 200
    del body["threshold"]
    with pytest.raises(ApiError) as raised:
        parsed(ModelDescription, "scoring", Reply(200, orjson.dumps(body)))
    assert (raised.value.status, raised.value.details[0]["field"]) == (502, "threshold")
