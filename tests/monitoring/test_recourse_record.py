"""The offers of a refusal reach its decision record: the explainer's recourse event, consumed from
RECOURSE_STREAM, is stored once per explanation (however often it is delivered) and shown in the record
of every decision pointing to that explanation."""

import redis
from fastapi.testclient import TestClient

from services.monitoring.app import create_app
from services.monitoring.consumer import StreamConsumer
from services.monitoring.settings import MonitoringSettings
from tests.monitoring.factories import count, decision, publish

RECOURSE = {
    "offers": [
        {"kind": "longer_term", "changes": {"AMT_ANNUITY": 9_000.0}, "pd": 0.08,
         "text": "The same 450,000 over 50 months instead of about 30 would be approved."},
    ],
    "statement": "The same 450,000 over 50 months instead of about 30 would be approved.",
}  # fmt: skip


def test_a_redelivered_recourse_event_is_stored_once_and_shown_in_each_decision_record(
    settings: MonitoringSettings, redis_client: redis.Redis
) -> None:
    consumer = StreamConsumer(settings, name="recourse")
    consumer.drain()
    refused = [{**decision(pd=0.6), "explanation_id": "1-same-vector"} for _ in range(2)]
    approved = {**decision(pd=0.1), "explanation_id": "1-other-vector"}
    publish(redis_client, settings.decisions_stream, [*refused, approved])
    event = {"explanation_id": "1-same-vector", "model_version": "1", "recourse": RECOURSE}
    publish(redis_client, settings.recourse_stream, [event, event])  # a job retried after publishing
    assert consumer.drain() == 5
    consumer.close()
    assert count(settings, "decision_recourse") == 1

    with TestClient(create_app(settings)) as monitoring:
        records = [monitoring.get(f"/decisions/{d['request_id']}") for d in [*refused, approved]]
    assert [r.status_code for r in records] == [200, 200, 200]
    assert [r.json()["recourse"] for r in records] == [RECOURSE, RECOURSE, None]


def test_a_malformed_recourse_event_is_kept_with_its_reason(
    settings: MonitoringSettings, redis_client: redis.Redis
) -> None:
    consumer = StreamConsumer(settings, name="recourse-bad")
    consumer.drain()
    publish(
        redis_client, settings.recourse_stream, [{"explanation_id": "", "model_version": "1", "recourse": {}}]
    )
    assert consumer.drain() == 1  # acknowledged, not retried forever
    consumer.close()
    assert count(settings, "decision_recourse") == 0
    assert count(settings, "rejected_entries") == 1
