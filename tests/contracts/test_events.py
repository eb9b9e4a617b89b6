"""Gateway -> monitoring through Redis: the decision event the gateway really appends to the decisions
stream is what monitoring's stream consumer parses; a broken field is rejected there with its reason.
The stream's name is one default both sides read (services.contracts.events)."""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import ValidationError

from loopback.platform import Platform
from services.contracts.events import (
    DECISION_FIELD,
    DECISIONS_STREAM,
    SHADOW_STREAM,
    DecisionEvent,
    ShadowEvent,
)
from services.contracts.scoring import InputWarning, ReviewBandOut
from services.gateway.clients import hot_json
from services.gateway.settings import GatewaySettings
from services.monitoring.consumer import parse, stream_kinds
from services.monitoring.settings import MonitoringSettings
from services.scoring.settings import ScoringSettings

DECISIONS = stream_kinds(MonitoringSettings())[DECISIONS_STREAM]
SHADOWS = stream_kinds(MonitoringSettings())[SHADOW_STREAM]


def test_both_sides_default_to_one_stream_of_each_kind() -> None:
    assert GatewaySettings().decisions_stream == MonitoringSettings().decisions_stream == DECISIONS_STREAM
    assert ScoringSettings().shadow_stream == MonitoringSettings().shadow_stream == SHADOW_STREAM


def _logged_entry(stack: Platform, request_id: str, seconds: float = 10) -> dict[str, str]:
    """The raw fields of the gateway's decisions entry for `request_id`, once the log has sent it."""
    client = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            for _, fields in client.xrevrange(DECISIONS_STREAM, count=200):
                if request_id in fields.get(DECISION_FIELD, ""):
                    return fields
            time.sleep(0.1)
    finally:
        client.close()
    pytest.fail(f"no decisions entry for {request_id} after {seconds}s")


def test_the_gateways_decision_event_is_what_the_monitoring_consumer_parses(
    gateway: TestClient, make_key: Callable[..., str], stack: Platform
) -> None:
    request_id = f"contract-{uuid.uuid4().hex}"
    scored = gateway.post(
        "/v1/scores",
        json={"client_id": stack.client_ids[0]},
        headers={"X-API-Key": make_key(), "X-Request-ID": request_id},
    )
    assert scored.status_code == 200
    event = parse(DECISIONS, _logged_entry(stack, request_id))
    assert isinstance(event, DecisionEvent)
    answer = scored.json()
    assert (event.request_id, event.pd, event.decision, event.model_version) == (
        request_id,
        answer["pd"],
        answer["decision"],
        answer["model_version"],
    )
    assert event.client_id == stack.client_ids[0] and event.features


def _event() -> DecisionEvent:
    return DecisionEvent(
        request_id="r-1",
        time=datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC),
        client_id=None,
        model_version="3",
        features={"app_ext_source_2": 0.4, "app_ext_source_3": None},
        pd=0.12,
        decision="review",
        threshold=0.11,
        review_band=ReviewBandOut(low=0.07, high=0.15, share=0.1),
        warnings=[InputWarning(field="app_amt_income_total", value=9e7, unusual="outside the range")],
        explanation_id=None,
        latency_ms=3.5,
        source="application",
    )


def test_the_gateways_fast_serialisation_writes_the_model_as_pydantic_does() -> None:
    event = _event()
    assert DecisionEvent.model_validate_json(hot_json(event)) == event
    assert DecisionEvent.model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize(
    ("field", "broken"),
    [("pd", 1.7), ("decision", "maybe"), ("time", "2026-01-02T03:04:05"), ("review_band", {"low": 0.1})],
)
def test_a_decision_event_with_a_broken_field_is_rejected_by_the_consumer_naming_it(
    field: str, broken: object
) -> None:
    entry = {DECISION_FIELD: _event().model_copy(update={field: broken}).model_dump_json(warnings=False)}
    with pytest.raises(ValidationError) as raised:
        parse(DECISIONS, entry)
    assert raised.value.errors()[0]["loc"][0] == field


# A shadow record as the scoring service writes it (flat string fields; its real records are parsed this way
# in tests/scoring_service/test_shadow.py).
SHADOW_RECORD = {
    "request_id": "r-1",
    "row": "0",
    "champion_version": "3",
    "champion_pd": "0.12",
    "challenger_version": "4",
    "challenger_pd": "0.1",
    "time": "1767323045.5",
}


def test_a_shadow_record_is_what_the_consumer_parses_and_a_broken_field_is_rejected() -> None:
    assert isinstance(parse(SHADOWS, SHADOW_RECORD), ShadowEvent)
    for field, broken in (("challenger_pd", "1.7"), ("row", "-1"), ("time", "soon")):
        with pytest.raises(ValidationError) as raised:
            parse(SHADOWS, {**SHADOW_RECORD, field: broken})
        assert raised.value.errors()[0]["loc"][0] == field
