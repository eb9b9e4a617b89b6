"""End to end against real processes: redis-server, Celery workers (subprocesses), MLflow registry."""

import time

import numpy as np
import pytest

from explainer.conftest import NAMES, SmallModel, Stack
from explainer.stack import free_port
from services.explainer.client import ExplainerClient, ExplainerUnavailable, InvalidExplanationRequest
from services.explainer.schemas import ExplanationStatus, ImportanceStatus, Status

FINAL = {Status.DONE, Status.FAILED}


def features_of(small: SmallModel, row: int) -> dict[str, float | None]:
    return {name: None if np.isnan(v) else float(v) for name, v in zip(NAMES, small.x[row], strict=True)}


def wait_explanation(client: ExplainerClient, explanation_id: str, wanted: set[Status]) -> ExplanationStatus:
    deadline = time.monotonic() + 240
    status = None
    while time.monotonic() < deadline:
        status = client.status(explanation_id)
        if status is not None and status.status in wanted:
            return status
        time.sleep(0.05)
    raise AssertionError(f"{explanation_id} never reached {wanted}: last {status}")


def test_explanation_is_done_then_served_from_cache_without_a_task(
    shared_stack: Stack, registered_version: str, small: SmallModel
) -> None:
    client = shared_stack.client
    features = features_of(small, 0)
    submitted = client.submit(registered_version, features, client_id=100_001)
    done = wait_explanation(client, submitted.explanation_id, FINAL)
    assert done.status == Status.DONE, done.reason
    assert done.result is not None
    assert done.result.pd == pytest.approx(small.model.predict_pd(small.x[:1])[0], abs=1e-12)
    assert done.result.model_version == registered_version and done.result.client_id == 100_001
    assert done.result.reasons and all(r.text.endswith("risk") for r in done.result.reasons)

    again = client.submit(registered_version, dict(reversed(features.items())), client_id=100_001)
    assert again.status == Status.DONE and again.explanation_id == submitted.explanation_id
    assert again.result == done.result
    assert shared_stack.received(submitted.explanation_id) == 1


def test_unknown_version_or_wrong_features_fail_with_a_reason(
    shared_stack: Stack, registered_version: str, small: SmallModel
) -> None:
    client = shared_stack.client
    unknown = client.submit("9999", features_of(small, 1))
    wrong = client.submit(registered_version, {"app_ext_source_3": 0.4})
    unknown_final = wait_explanation(client, unknown.explanation_id, FINAL)
    wrong_final = wait_explanation(client, wrong.explanation_id, FINAL)
    assert unknown_final.status == Status.FAILED and "no version 9999" in (unknown_final.reason or "")
    assert wrong_final.status == Status.FAILED and "4 missing" in (wrong_final.reason or "")


def test_global_importance_is_computed_once_as_json_and_png(
    shared_stack: Stack, registered_version: str
) -> None:
    client = shared_stack.client
    deadline = time.monotonic() + 240
    status: ImportanceStatus = client.importance(registered_version)
    while status.status not in FINAL and time.monotonic() < deadline:
        time.sleep(0.05)
        status = client.importance(registered_version)
    assert status.status == Status.DONE and status.result is not None, status.reason
    assert status.result.rows == 1000
    assert {f.feature for f in status.result.features} == set(NAMES)
    assert status.result.features[0].feature == "app_ext_source_3"  # the strongest planted signal
    assert (client.importance_png(registered_version) or b"").startswith(b"\x89PNG")
    assert client.importance(registered_version) == status
    assert shared_stack.received(f"importance-{registered_version}") == 1


def test_bad_requests_are_refused_with_the_field_named(shared_stack: Stack) -> None:
    client = shared_stack.client
    with pytest.raises(InvalidExplanationRequest, match="positive integer"):
        client.submit("champion", {"a": 1.0})
    with pytest.raises(InvalidExplanationRequest, match=r"features\.a: nan"):
        client.submit("1", {"a": float("nan")})
    with pytest.raises(InvalidExplanationRequest, match="empty"):
        client.submit("1", {})
    assert client.status("1-doesnotexist") is None


def test_task_killed_with_its_worker_completes_on_a_restarted_worker(
    stack: Stack, registered_version: str, small: SmallModel
) -> None:
    slow = stack.start_worker(EXPLAINER_TASK_DELAY_SECONDS="5")
    submitted = stack.client.submit(registered_version, features_of(small, 2))
    wait_explanation(stack.client, submitted.explanation_id, {Status.RUNNING})
    slow.kill()
    assert stack.client.status(submitted.explanation_id).status == Status.RUNNING  # type: ignore[union-attr]
    stack.start_worker()
    final = wait_explanation(stack.client, submitted.explanation_id, FINAL)
    assert final.status == Status.DONE, final.reason
    assert stack.received(submitted.explanation_id) == 2  # delivered again after the crash


def test_worker_and_client_carry_on_after_a_redis_restart(
    stack: Stack, registered_version: str, small: SmallModel
) -> None:
    stack.start_worker()
    first = stack.client.submit(registered_version, features_of(small, 3))
    assert wait_explanation(stack.client, first.explanation_id, FINAL).status == Status.DONE

    stack.redis.stop()
    with pytest.raises(ExplainerUnavailable, match="unreachable"):
        stack.client.submit(registered_version, features_of(small, 4))
    stack.redis.start()

    assert stack.client.status(first.explanation_id).status == Status.DONE  # type: ignore[union-attr]
    second = stack.client.submit(registered_version, features_of(small, 4))
    assert wait_explanation(stack.client, second.explanation_id, FINAL).status == Status.DONE


def test_mlflow_outage_is_retried_with_backoff_then_fails_with_the_cause(
    stack: Stack, registered_version: str, small: SmallModel
) -> None:
    stack.start_worker(MLFLOW_TRACKING_URI=f"http://127.0.0.1:{free_port()}", EXPLAINER_MAX_RETRIES="2")
    submitted = stack.client.submit(registered_version, features_of(small, 5))
    final = wait_explanation(stack.client, submitted.explanation_id, FINAL)
    assert final.status == Status.FAILED
    assert "gave up after 2 retries" in (final.reason or "") and "unreachable" in (final.reason or "")
    assert stack.received(submitted.explanation_id) == 3  # the first try and two retries
