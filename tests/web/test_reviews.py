"""The review queue on the officers' page, in headless Chromium against the real platform: the pending
list, opening one (decision, warnings, reasons), and a final answer with a reason code."""

import re
import time
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import expect

from loopback.platform import Platform
from tests.gateway.test_reviews import UNUSUAL
from tests.web.conftest import Officer
from tests.web.test_page import EXPLANATION_WAIT_MS, save_key


def queued_review(stack: Platform, key: str, request_id: str) -> None:
    """An unusual application scored through the API, waited for until it is in the review queue."""
    with httpx.Client(base_url=stack.gateway.url, headers={"X-API-Key": key}, timeout=30) as gateway:
        headers = {"X-Request-ID": request_id}
        scored = gateway.post("/v1/scores", json={"application": UNUSUAL, "history": {}}, headers=headers)
        assert scored.json()["decision"] == "review"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            waiting = gateway.get("/v1/reviews", params={"limit": 1000}).json()["reviews"]
            if request_id in {r["request_id"] for r in waiting}:
                return
            time.sleep(0.2)
    pytest.fail(f"{request_id} never reached the review queue")


def test_an_officer_opens_a_review_and_refuses_it_with_a_reason(
    officer: Officer, make_key: Callable[..., str], stack: Platform
) -> None:
    key = make_key(scopes=["score", "explain", "review"])
    queued_review(stack, key, "web-review-1")
    page = officer.page
    save_key(page, key)
    page.get_by_role("button", name="Show the reviews").click()

    entry = page.locator('#review-list button[data-request-id="web-review-1"]')
    expect(entry).to_contain_text("PD")
    expect(page.locator("#review-status")).to_contain_text("waiting for an officer")
    entry.click()

    expect(page.locator("#review-title")).to_contain_text("web-review-1")
    expect(page.locator("#decision")).to_have_text("? Review by an officer")
    expect(page.locator("#review-warnings")).to_contain_text(
        "app_amt_income_total: outside the training range"
    )
    expect(page.locator("#reasons li").first).to_be_visible(timeout=EXPLANATION_WAIT_MS)
    page.get_by_label("Reason code").select_option("affordability_insufficient")
    page.get_by_label("Note for the file").fill("income not proven")
    page.get_by_role("button", name="Refuse").click()

    expect(page.locator("#review-outcome")).to_have_text(
        re.compile(r"^Recorded: refused \(affordability insufficient\) by test-\w+; the model alone said")
    )
    expect(entry).to_have_count(0)
    record = httpx.get(
        f"{stack.gateway.url}/v1/decisions/web-review-1",
        headers={"X-API-Key": make_key(scopes=["decisions"])},
    ).json()
    assert record["review"]["note"] == "income not proven"
    assert officer.unexpected_errors() == []


def test_a_key_without_the_review_scope_is_told_so(officer: Officer, make_key: Callable[..., str]) -> None:
    page = officer.page
    save_key(page, make_key(scopes=["score", "explain"]))
    page.get_by_role("button", name="Show the reviews").click()
    expect(page.locator("#review-status")).to_contain_text("not allowed")
    assert officer.unexpected_errors(403) == []
