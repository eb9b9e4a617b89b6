"""End to end against real processes: redis-server, Celery workers (subprocesses), MLflow registry."""

import json
import time
from collections.abc import Iterable

import httpx
import numpy as np
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from loopback.processes import free_port
from services.contracts.explanations import ExplanationStatus, ImportanceStatus, Recourse, Status
from services.explainer.celery_app import EXPLAIN_TASK, IMPORTANCE_TASK, create_app
from services.explainer.client import Claim, ExplainerUnavailable, InvalidExplanationRequest
from services.explainer.drain import Drain
from services.explainer.jobs import NO_RAW_ROWS
from tests.explainer.stack import Stack
from tests.support.models import EXPLAINER_NAMES as NAMES
from tests.support.models import SmallModel

FINAL = {Status.DONE, Status.FAILED}


def features_of(small: SmallModel, row: int) -> dict[str, float | None]:
    return {name: None if np.isnan(v) else float(v) for name, v in zip(NAMES, small.x[row], strict=True)}


def submit(
    stack: Stack, version: str, features: dict[str, float | None], client_id: int | None = None
) -> Claim:
    return stack.run(stack.client.submit(version, features, client_id))


def submit_rows(stack: Stack, version: str, small: SmallModel, rows: Iterable[int]) -> list[str]:
    return [submit(stack, version, features_of(small, row)).explanation_id for row in rows]


def status_of(stack: Stack, explanation_id: str) -> ExplanationStatus | None:
    return stack.run(stack.client.status(explanation_id))


def wait_explanation(stack: Stack, explanation_id: str, wanted: set[Status]) -> ExplanationStatus:
    deadline = time.monotonic() + 240
    status = None
    while time.monotonic() < deadline:
        status = status_of(stack, explanation_id)
        if status is not None and status.status in wanted:
            return status
        time.sleep(0.05)
    raise AssertionError(f"{explanation_id} never reached {wanted}: last {status}")


def test_explanation_is_done_then_served_from_cache_without_a_task(
    shared_stack: Stack, registered_version: str, small: SmallModel
) -> None:
    features = features_of(small, 0)
    submitted = submit(shared_stack, registered_version, features, client_id=100_001)
    done = wait_explanation(shared_stack, submitted.explanation_id, FINAL)
    assert done.status == Status.DONE, done.reason
    assert done.result is not None
    assert done.result.pd == pytest.approx(small.model.predict_pd(small.x[:1])[0], abs=1e-12)
    assert done.result.model_version == registered_version and done.result.client_id == 100_001
    reasons = done.result.principal_reasons
    assert reasons and all(r.text.endswith(("raises the risk.", "lowers the risk.")) for r in reasons)

    again = submit(shared_stack, registered_version, dict(reversed(features.items())), client_id=100_001)
    assert again == Claim(submitted.explanation_id, Status.DONE, job=None)
    assert status_of(shared_stack, submitted.explanation_id) == done
    assert shared_stack.received(submitted.explanation_id) == 1


def test_unknown_version_or_wrong_features_fail_with_a_reason(
    shared_stack: Stack, registered_version: str, small: SmallModel
) -> None:
    unknown = submit(shared_stack, "9999", features_of(small, 1))
    wrong = submit(shared_stack, registered_version, {"app_ext_source_3": 0.4})
    unknown_final = wait_explanation(shared_stack, unknown.explanation_id, FINAL)
    wrong_final = wait_explanation(shared_stack, wrong.explanation_id, FINAL)
    assert unknown_final.status == Status.FAILED and "no version 9999" in (unknown_final.reason or "")
    assert wrong_final.status == Status.FAILED and "4 missing" in (wrong_final.reason or "")


def test_global_importance_is_computed_once_as_json_and_png(
    shared_stack: Stack, registered_version: str
) -> None:
    client, run = shared_stack.client, shared_stack.run
    deadline = time.monotonic() + 240
    status: ImportanceStatus = run(client.importance(registered_version))
    while status.status not in FINAL and time.monotonic() < deadline:
        time.sleep(0.05)
        status = run(client.importance(registered_version))
    assert status.status == Status.DONE and status.result is not None, status.reason
    assert status.result.rows == 1000
    assert {f.feature for f in status.result.features} == set(NAMES)
    assert status.result.features[0].feature == "app_ext_source_3"  # the strongest planted signal
    assert status.result.features[0].label == "external score 3"
    families = [f.family for f in status.result.families]
    assert families[0] == "external_scores"  # scores 2 and 3 weigh as one family
    assert set(families) == {"external_scores", "age", "documents_contact", "occupation"}
    by_feature = {f.feature: f.mean_abs_shap for f in status.result.features}
    scores = by_feature["app_ext_source_3"] + by_feature["app_ext_source_2"]
    assert by_feature["app_ext_source_3"] < status.result.families[0].mean_abs_shap <= scores + 1e-12
    assert (run(client.importance_png(registered_version)) or b"").startswith(b"\x89PNG")
    assert run(client.importance(registered_version)) == status
    assert shared_stack.received(f"importance-{registered_version}") == 1


def test_bad_requests_are_refused_with_the_field_named(shared_stack: Stack) -> None:
    with pytest.raises(InvalidExplanationRequest, match="positive integer"):
        submit(shared_stack, "champion", {"a": 1.0})
    with pytest.raises(InvalidExplanationRequest, match=r"features\.a: nan"):
        submit(shared_stack, "1", {"a": float("nan")})
    with pytest.raises(InvalidExplanationRequest, match="empty"):
        submit(shared_stack, "1", {})
    with pytest.raises(InvalidExplanationRequest, match="positive integer"):
        shared_stack.run(shared_stack.client.importance("champion"))
    assert status_of(shared_stack, "1-doesnotexist") is None


def test_a_batch_killed_with_its_worker_completes_on_a_restarted_worker(
    stack: Stack, registered_version: str, small: SmallModel
) -> None:
    """The task's own message and the ones it took from the queue all stay unacknowledged until their
    records are written: SIGKILL mid-batch loses none of them."""
    ids = submit_rows(stack, registered_version, small, [2, 6, 7])
    slow = stack.start_worker(EXPLAINER_TASK_DELAY_S="5")
    for explanation_id in ids:
        wait_explanation(stack, explanation_id, {Status.RUNNING})  # all three taken by one task
    slow.kill()
    assert {status_of(stack, i).status for i in ids} == {Status.RUNNING}  # type: ignore[union-attr]
    stack.start_worker()
    finals = [wait_explanation(stack, explanation_id, FINAL) for explanation_id in ids]
    assert [final.status for final in finals] == [Status.DONE] * 3, [final.reason for final in finals]
    assert stack.received(ids[0]) == 2  # delivered again after the crash


def test_waiting_explanations_are_explained_together_each_with_its_own_outcome(
    stack: Stack, registered_version: str, small: SmallModel
) -> None:
    good = submit_rows(stack, registered_version, small, range(10, 22))
    wrong = submit(stack, registered_version, {"app_ext_source_3": 0.4}).explanation_id
    unknown = submit(stack, "9999", features_of(small, 22)).explanation_id
    stack.start_worker()  # everything is queued before the worker starts: one task takes it all

    finals = [wait_explanation(stack, explanation_id, FINAL) for explanation_id in good]
    assert all(final.result is not None for final in finals), [final.reason for final in finals]
    expected = small.model.predict_pd(small.x[10:22])
    assert [final.result.pd for final in finals] == pytest.approx(expected, abs=1e-12)  # type: ignore[union-attr]
    assert "4 missing" in (wait_explanation(stack, wrong, FINAL).reason or "")
    assert "no version 9999" in (wait_explanation(stack, unknown, FINAL).reason or "")
    assert sum(stack.received(i) for i in [*good, wrong, unknown]) == 1  # Celery delivered one message


def test_drain_takes_due_explanations_and_gives_the_rest_back_to_celery(stack: Stack) -> None:
    """A taken message sits in kombu's unacked set until acknowledged; an importance task or a retry
    still counting down goes back to the head of the queue, in order, for Celery to deliver."""
    app = create_app(stack.settings)
    queue = stack.settings.queue
    for task_id, task, countdown in [("a", EXPLAIN_TASK, None), ("imp", IMPORTANCE_TASK, None),
                                     ("b", EXPLAIN_TASK, None), ("c", EXPLAIN_TASK, 60)]:  # fmt: skip
        args = ["1"] if task == IMPORTANCE_TASK else [task_id, "1", {"x": 1.0}, None]
        app.send_task(task, args=args, task_id=task_id, countdown=countdown, retries=2, queue=queue)
    app.close()
    broker = redis.Redis.from_url(stack.settings.redis_url)
    drain = Drain(broker, queue)

    taken = drain.take(10)
    assert [(t.job.explanation_id, t.job.features, t.job.retries) for t in taken] == [
        ("a", {"x": 1.0}, 2),
        ("b", {"x": 1.0}, 2),
    ]
    queued = [json.loads(raw)["headers"]["id"] for raw in broker.lrange(queue, 0, -1)]
    assert queued == ["c", "imp"]  # RPOP takes from the right: "imp" is next, as before
    assert broker.hlen("unacked") == 2 and broker.zcard("unacked_index") == 2
    drain.ack(taken)
    assert broker.hlen("unacked") == 0 and broker.zcard("unacked_index") == 0
    assert drain.take(10) == []
    assert broker.llen(queue) == 2 and broker.hlen("unacked") == 0


def metric(url: str, name: str, labels: dict[str, str] | None = None) -> float | None:
    """A sample's value from a /metrics page; None when absent."""
    for family in text_string_to_metric_families(httpx.get(url, timeout=10).text):
        for sample in family.samples:
            if sample.name == name and sample.labels == (labels or {}):
                return sample.value
    return None


def test_worker_serves_metrics_and_its_counters_move_after_a_task(
    shared_stack: Stack, registered_version: str, small: SmallModel
) -> None:
    url = f"http://127.0.0.1:{shared_stack.workers[0].env['EXPLAINER_METRICS_PORT']}/metrics"
    done = {"task": "explain", "outcome": "done"}
    before = metric(url, "explainer_tasks_total", done) or 0.0
    batches = metric(url, "explainer_batch_size_count") or 0.0
    submitted = submit(shared_stack, registered_version, features_of(small, 30))
    assert wait_explanation(shared_stack, submitted.explanation_id, FINAL).status == Status.DONE
    assert metric(url, "explainer_tasks_total", done) == before + 1
    assert metric(url, "explainer_batch_size_count") == batches + 1
    assert (metric(url, "explainer_task_seconds_count", {"task": "explain"}) or 0) >= 1
    assert (metric(url, "explainer_shap_seconds_count") or 0) >= 1
    assert metric(url, "explainer_queue_depth") == 0


def test_worker_and_client_carry_on_after_a_redis_restart(
    stack: Stack, registered_version: str, small: SmallModel
) -> None:
    stack.start_worker()
    first = submit(stack, registered_version, features_of(small, 3))
    assert wait_explanation(stack, first.explanation_id, FINAL).status == Status.DONE

    stack.redis.stop()
    with pytest.raises(ExplainerUnavailable, match="unreachable"):
        submit(stack, registered_version, features_of(small, 4))
    stack.redis.start()

    assert status_of(stack, first.explanation_id).status == Status.DONE  # type: ignore[union-attr]
    second = submit(stack, registered_version, features_of(small, 4))
    assert wait_explanation(stack, second.explanation_id, FINAL).status == Status.DONE


def test_mlflow_outage_is_retried_with_backoff_then_fails_with_the_cause(
    stack: Stack, registered_version: str, small: SmallModel
) -> None:
    stack.start_worker(MLFLOW_TRACKING_URI=f"http://127.0.0.1:{free_port()}", EXPLAINER_MAX_RETRIES="2")
    submitted = submit(stack, registered_version, features_of(small, 5))
    final = wait_explanation(stack, submitted.explanation_id, FINAL)
    assert final.status == Status.FAILED
    assert "gave up after 2 retries" in (final.reason or "") and "unreachable" in (final.reason or "")
    assert stack.received(submitted.explanation_id) == 3  # the first try and two retries


def test_a_refusal_comes_with_its_recourse_and_an_approval_without(
    shared_stack: Stack, registered_version: str, small: SmallModel
) -> None:
    _, decisions = small.model.decisions(small.x[:200])
    refused = int(np.flatnonzero(decisions == "refused")[0])
    approved = int(np.flatnonzero(decisions == "approved")[0])
    ids = submit_rows(shared_stack, registered_version, small, [refused, approved])
    refused_final, approved_final = (wait_explanation(shared_stack, i, FINAL) for i in ids)
    assert refused_final.result is not None and approved_final.result is not None
    assert refused_final.result.decision == "refused" and approved_final.result.decision == "approved"
    # no raw application and no client id: the worker cannot recompute a changed one, and says so
    assert refused_final.result.recourse == Recourse(offers=[], statement=NO_RAW_ROWS)
    assert approved_final.result.recourse is None
    # and for the decision record: one event per explanation with recourse, on the platform's stream
    client = redis.Redis.from_url(shared_stack.settings.redis_url)
    events = [
        json.loads(fields[b"data"]) for _, fields in client.xrange(shared_stack.settings.recourse_stream)
    ]
    client.close()
    mine = [event for event in events if event["explanation_id"] in ids]
    assert mine == [{"explanation_id": ids[0], "model_version": registered_version,
                     "recourse": refused_final.result.recourse.model_dump()}]  # fmt: skip
