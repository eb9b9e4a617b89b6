"""Recourse through the real stack (gateway -> worker): a new applicant's review is explained from the raw
application the gateway put in the job, and its recourse says honestly why there is no offer; an approval
carries no recourse.

The platform's champion (loopback/platform.py) approves every known client and only sends unusual
inputs to review, so offers themselves are checked against a trained model in tests/explainer."""

from collections.abc import Callable

from fastapi.testclient import TestClient

from loopback.platform import Platform
from tests.gateway.test_scores import APPLICATION, poll


def explained(gateway: TestClient, key: str, body: dict[str, object]) -> tuple[str, dict[str, object]]:
    scored = gateway.post("/v1/scores", json=body, headers={"X-API-Key": key})
    assert scored.status_code == 200, scored.text
    found = poll(gateway, scored.json()["explanation"]["url"], key, seconds=120).json()
    assert found["status"] == "done", found
    return scored.json()["decision"], found["result"]


def test_a_new_applicants_review_states_its_recourse_and_an_approval_has_none(
    gateway: TestClient, make_key: Callable[..., str], stack: Platform
) -> None:
    key = make_key()
    without_scores = {name: value for name, value in APPLICATION.items() if not name.startswith("EXT_SOURCE")}
    without_scores["SK_ID_CURR"] = 990_022
    decision, result = explained(gateway, key, {"application": without_scores})
    assert decision == "review"  # no external score: unusual for this model
    assert result["recourse"]["offers"] == []
    assert result["recourse"]["statement"].startswith("No offer: the application has inputs unusual"), result

    decision, result = explained(gateway, key, {"client_id": stack.client_ids[5]})
    assert decision == "approved" and result["recourse"] is None
