"""Gateway <-> monitoring over HTTP: the outcome post and the review bodies the gateway sends are what
monitoring parses, and monitoring's real answers (settled outcomes, the review queue, a decision record,
its error body) are what the gateway's MonitoringClient reads; a broken field is a 502."""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from loopback.platform import Platform
from services.common.http import ApiError
from services.contracts.outcomes import OutcomeIn, OutcomesIn, OutcomesSettled
from services.contracts.reviews import DecisionRecord, PendingReviews
from services.gateway.clients import MonitoringClient, parsed
from services.gateway.downstream import Reply
from tests.contracts.conftest import Ask

UNKNOWN_CLIENT = 1


def _outcomes() -> OutcomesIn:
    return OutcomesIn(outcomes=[OutcomeIn(client_id=UNKNOWN_CLIENT, defaulted=False, time=datetime.now(UTC))])


def test_monitoring_settles_the_gateways_outcome_post_in_the_shape_the_gateway_reads(ask: Ask) -> None:
    settled = ask("monitoring", lambda d: MonitoringClient(d).settle(_outcomes()))
    assert isinstance(settled, OutcomesSettled)
    assert settled.accepted == [] and [r.client_id for r in settled.rejected] == [UNKNOWN_CLIENT]


def test_a_settled_answer_with_a_broken_field_is_a_502(raw: Callable[..., tuple[int, Any]]) -> None:
    status, body = raw("monitoring", "POST", "/outcomes", orjson.loads(_outcomes().model_dump_json()))
    assert status == 200
    body["rejected"][0]["item"] = "first"
    with pytest.raises(ApiError) as raised:
        parsed(OutcomesSettled, "monitoring", Reply(200, orjson.dumps(body)))
    assert (raised.value.status, raised.value.details[0]["field"]) == (502, "rejected.0.item")
    assert "monitoring service broke its OutcomesSettled contract" in raised.value.message


def test_the_review_queue_is_what_the_gateway_reads(ask: Ask) -> None:
    assert isinstance(ask("monitoring", lambda d: MonitoringClient(d).pending_reviews(5)), PendingReviews)


def test_an_unknown_decision_is_monitorings_404_passed_on(ask: Ask) -> None:
    with pytest.raises(ApiError) as raised:
        ask("monitoring", lambda d: MonitoringClient(d).decision(f"never-{uuid.uuid4().hex}"))
    assert raised.value.status == 404


def _logged(ask: Ask, request_id: str, seconds: float = 20) -> DecisionRecord:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return ask("monitoring", lambda d: MonitoringClient(d).decision(request_id))
        except ApiError as error:
            assert error.status == 404
            time.sleep(0.2)
    pytest.fail(f"decision {request_id} not logged after {seconds}s")


def test_a_real_decision_record_is_what_the_gateway_reads_and_a_broken_one_a_502(
    gateway: TestClient,
    make_key: Callable[..., str],
    stack: Platform,
    ask: Ask,
    raw: Callable[..., tuple[int, Any]],
) -> None:
    request_id = f"contract-{uuid.uuid4().hex}"
    scored = gateway.post(
        "/v1/scores",
        json={"client_id": stack.client_ids[1]},
        headers={"X-API-Key": make_key(), "X-Request-ID": request_id},
    )
    assert scored.status_code == 200
    record = _logged(ask, request_id)
    assert (record.request_id, record.automated_decision) == (request_id, scored.json()["decision"])

    status, body = raw("monitoring", "GET", f"/decisions/{request_id}")
    assert status == 200
    del body["final_decision"]
    with pytest.raises(ApiError) as raised:
        parsed(DecisionRecord, "monitoring", Reply(200, orjson.dumps(body)))
    assert (raised.value.status, raised.value.details[0]["field"]) == (502, "final_decision")
