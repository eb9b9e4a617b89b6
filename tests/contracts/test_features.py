"""Features service -> gateway: the feature vector, a feature's distribution and the error body, as the
features service really answers them, parsed by the gateway's FeaturesClient; a broken field is a 502."""

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from loopback.platform import Platform
from services.common.http import ApiError
from services.contracts.features import FeatureDistribution, FeatureVector
from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.gateway.clients import FeaturesClient, parsed, passed_on
from services.gateway.downstream import Reply
from tests.contracts.conftest import Ask


def test_the_features_services_vector_is_what_the_gateway_reads(ask: Ask, stack: Platform) -> None:
    client_id = stack.client_ids[0]
    vector = ask("features", lambda d: FeaturesClient(d).vector(client_id))
    assert isinstance(vector, FeatureVector)
    assert (vector.client_id, vector.feature_set_hash) == (client_id, FEATURE_SET_HASH)
    assert list(vector.features) == list(NAMES)


def test_an_unknown_client_is_the_features_services_404_passed_on(ask: Ask) -> None:
    with pytest.raises(ApiError) as raised:
        ask("features", lambda d: FeaturesClient(d).vector(1))
    assert (raised.value.status, raised.value.code) == (404, "client_not_found")


def test_a_distribution_is_what_the_gateway_reads(ask: Ask) -> None:
    found = ask("features", lambda d: FeaturesClient(d).distribution("app_ext_source_3", 30.0))
    assert isinstance(found, FeatureDistribution)
    assert found.feature == "app_ext_source_3" and found.bins


@pytest.mark.parametrize(
    ("field", "broken", "named"),
    [
        ("features", None, "features"),
        ("client_id", "one", "client_id"),
        ("feature_set_hash", ..., "feature_set_hash"),  # ... = the field is missing
    ],
)
def test_a_vector_with_a_broken_field_is_a_502_naming_the_service_and_field(
    raw: Callable[..., tuple[int, Any]], stack: Platform, field: str, broken: object, named: str
) -> None:
    status, body = raw("features", "GET", f"/features/{stack.client_ids[0]}")
    assert status == 200
    FeatureVector.model_validate(body)  # the real answer holds; only the change breaks it
    changed = {k: v for k, v in body.items() if k != field} if broken is ... else {**body, field: broken}
    with pytest.raises(ApiError) as raised:
        parsed(FeatureVector, "features", Reply(200, orjson.dumps(changed)))
    error = raised.value
    assert (error.status, error.code) == (502, "bad_gateway")
    assert "features service broke its FeatureVector contract" in error.message
    assert error.details[0]["field"] == named


def test_a_404_outside_the_error_shape_is_a_502_not_a_500(raw: Callable[..., tuple[int, Any]]) -> None:
    status, body = raw("features", "GET", "/features/1")
    assert status == 404
    assert passed_on("features", Reply(404, orjson.dumps(body))).code == "client_not_found"
    with pytest.raises(ApiError) as raised:
        passed_on("features", Reply(404, orjson.dumps({"detail": body["error"]["message"]})))
    assert (raised.value.status, raised.value.details[0]["field"]) == (502, "error")
