"""The loan officers' page (/app/) as an officer uses it, in headless Chromium against the real platform."""

import re
from collections.abc import Callable

from playwright.sync_api import Page, Route, expect

from loopback.platform import Platform
from services.feature_definitions.families import FAMILIES
from tests.web.conftest import Officer

EXPLANATION_WAIT_MS = 60_000
EXPLANATIONS = "**/v1/explanations/*"


def save_key(page: Page, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Save key").click()
    expect(page.locator("#key-status")).to_have_text("A key is saved for this browser tab.")


def fill_application(page: Page, **fields: str) -> None:
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)


def test_known_client_shows_the_decision_then_the_reasons_and_the_population(
    officer: Officer, make_key: Callable[..., str], stack: Platform
) -> None:
    page = officer.page
    save_key(page, make_key(scopes=["score", "explain"]))
    held: list[Route] = []  # the first poll is held back (then sent on, unchanged) to see the pending state
    page.route(EXPLANATIONS, lambda route: held.append(route))
    client_id = page.get_by_label("Client id (SK_ID_CURR)")
    client_id.fill(str(stack.client_ids[0]))
    client_id.press("Enter")  # keyboard only

    expect(page.locator("#result-title")).to_have_text(f"Decision for client {stack.client_ids[0]}")
    expect(page.locator("#result-title")).to_be_focused()
    expect(page.locator("#decision")).to_have_text(re.compile(r"^. (Approved|Review by an officer|Refused)$"))
    expect(page.locator("#model-version")).to_have_text(stack.model_version)
    expect(page.get_by_role("meter")).to_have_attribute("aria-valuetext", re.compile(r"the threshold of"))

    expect(page.locator("#explanation-status")).to_contain_text("Explanation pending")
    expect(page.locator("#explanation")).to_have_attribute("aria-busy", "true")
    held[0].continue_()
    page.unroute(EXPLANATIONS)  # before the next poll, which waits for this answer and a Retry-After
    expect(page.locator("#reasons li").first).to_be_visible(timeout=EXPLANATION_WAIT_MS)
    expect(page.locator("#explanation")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#explanation-status")).to_contain_text("Explanation ready")
    expect(page.locator("#waterfall")).to_be_visible()
    titles = {family.title for family in FAMILIES}
    reasons = page.locator("#reasons li")
    assert 1 <= reasons.count() <= 4
    assert set(page.locator("#reasons li strong").all_text_contents()) <= titles  # reasons by family
    steps = page.evaluate("Chart.getChart(document.getElementById('waterfall')).data.labels")
    assert steps[0] == "average client" and steps[-1].startswith("this client (PD ")
    assert set(steps[1:-1]) - titles <= {s for s in steps if s.endswith(" other families")}  # words only
    words = " ".join([*reasons.all_text_contents(), *steps])
    assert not re.search(r"[a-z0-9]+_[a-z0-9_]+|\bnan\b|\bNone\b", words), words

    expect(page.locator("#population-status")).to_contain_text("past clients. This client")
    assert page.locator("#population-rows tr").count() > 0
    assert officer.unexpected_errors() == []


def test_invalid_application_shows_field_errors_and_calls_nothing(officer: Officer) -> None:
    page = officer.page
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, nothing cut off
    calls: list[str] = []
    page.on("request", lambda request: calls.append(request.url) if "/v1/" in request.url else None)
    save_key(page, "any-key")
    fill_application(page, **{"Annual income *": "50000", "Age (years) *": "12", "External score 2": "1.5"})
    page.get_by_role("button", name="Score application").click()

    credit = page.get_by_label("Credit amount *", exact=True)
    expect(page.locator("#f-credit-error")).to_have_text("Required.")
    expect(credit).to_have_attribute("aria-invalid", "true")
    expect(credit).to_be_focused()
    expect(page.locator("#f-age-error")).to_have_text("Must be at least 18.")
    expect(page.locator("#f-ext2-error")).to_have_text("Must be at most 1.")
    expect(page.locator("#f-income-error")).to_have_text("")
    assert calls == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert officer.unexpected_errors() == []


def test_the_api_field_errors_show_next_to_their_fields(
    officer: Officer, make_key: Callable[..., str]
) -> None:
    page = officer.page
    save_key(page, make_key(scopes=["score", "explain"]))
    income = page.get_by_label("Annual income *", exact=True)
    income.evaluate("input => input.removeAttribute('required')")  # as a stale page would let through
    fill_application(page, **{"Credit amount *": "300000", "Age (years) *": "40"})
    page.get_by_role("button", name="Score application").click()

    expect(page.locator("#f-income-error")).to_have_text(re.compile("required", re.IGNORECASE))
    expect(income).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Some fields are not valid")
    assert officer.unexpected_errors(422) == []


def test_a_valid_application_is_scored(officer: Officer, make_key: Callable[..., str]) -> None:
    page = officer.page
    save_key(page, make_key(scopes=["score", "explain"]))
    fill_application(
        page,
        **{
            "Credit amount *": "300000",
            "Annual income *": "90000",
            "Age (years) *": "38.5",
            "Years in current job": "4",
            "External score 2": "0.6",
        },
    )
    page.get_by_label("Gender").select_option("F")
    page.get_by_role("button", name="Score application").click()

    expect(page.locator("#result-title")).to_have_text("Decision for the new application")
    expect(page.locator("#decision")).to_have_text(re.compile(r"(Approved|Review by an officer|Refused)$"))
    expect(page.locator("#reasons li").first).to_be_visible(timeout=EXPLANATION_WAIT_MS)
    assert officer.unexpected_errors() == []


def test_a_wrong_api_key_shows_the_auth_message(officer: Officer, stack: Platform) -> None:
    page = officer.page
    save_key(page, "wrong-key")
    page.get_by_label("Client id (SK_ID_CURR)").fill(str(stack.client_ids[0]))
    page.get_by_role("button", name="Score client").click()

    expect(page.get_by_role("alert")).to_contain_text("Your API key was not accepted")
    expect(page.get_by_label("API key")).to_be_focused()
    expect(page.locator("#result")).to_be_hidden()
    assert officer.unexpected_errors(401) == []


def test_an_unknown_client_is_reported_as_not_found(officer: Officer, make_key: Callable[..., str]) -> None:
    page = officer.page
    save_key(page, make_key(scopes=["score"]))
    page.get_by_label("Client id (SK_ID_CURR)").fill("1")
    page.get_by_role("button", name="Score client").click()

    expect(page.get_by_role("alert")).to_contain_text("Not found: client 1 is unknown")
    assert officer.unexpected_errors(404) == []


def test_the_key_is_kept_for_the_tab_only_until_forgotten(officer: Officer) -> None:
    page = officer.page
    save_key(page, "kept-key")
    page.reload()
    expect(page.locator("#key-status")).to_have_text("A key is saved for this browser tab.")
    assert page.evaluate("sessionStorage.getItem('credit.apiKey')") == "kept-key"
    page.get_by_role("button", name="Forget key").click()
    expect(page.locator("#key-status")).to_have_text("No key saved yet.")
    assert page.evaluate("sessionStorage.getItem('credit.apiKey')") is None
    assert officer.unexpected_errors() == []


def test_the_rate_limit_says_when_to_try_again(officer: Officer, make_key: Callable[..., str]) -> None:
    page = officer.page
    save_key(page, make_key(scopes=["score"], rate_limit="1/minute"))
    page.get_by_label("Client id (SK_ID_CURR)").fill("1")
    score = page.get_by_role("button", name="Score client")
    score.click()
    expect(page.get_by_role("alert")).to_contain_text("Not found")
    score.click()
    expect(page.get_by_role("alert")).to_contain_text(
        re.compile(r"Too many requests with this API key\. Try again in \d+ s\.")
    )
    assert officer.unexpected_errors(404, 429) == []


def test_a_service_down_says_to_retry_later(
    officer: Officer, make_key: Callable[..., str], stack: Platform
) -> None:
    page = officer.page
    save_key(page, make_key(scopes=["score"]))
    page.get_by_label("Client id (SK_ID_CURR)").fill(str(stack.client_ids[0]))
    stack.features.stop()
    try:
        page.get_by_role("button", name="Score client").click()
        expect(page.get_by_role("alert")).to_contain_text(
            re.compile(r"A service behind the gateway is unavailable .*features.*Try again in \d+ s\.")
        )
    finally:
        stack.features.start()
    assert officer.unexpected_errors(503) == []


def test_a_refusals_offers_or_no_offer_statement_show_under_the_reasons(
    officer: Officer, make_key: Callable[..., str], stack: Platform
) -> None:
    """The real explanation, with the recourse a refusal carries put in (the platform's champion ignores
    the amounts, so its own offers are "no offer"): each offer in words with the fields to resubmit."""
    page = officer.page
    save_key(page, make_key(scopes=["score", "explain"]))
    offer = {
        "kind": "smaller_loan",
        "changes": {"AMT_CREDIT": 450_000.0, "AMT_ANNUITY": 22_500.0},
        "pd": 0.071,
        "text": "A loan of 450,000 instead of 600,000, over the same term (monthly payment 22,500), would be "
        "approved.",
    }

    def with_offer(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        if body.get("result"):
            body["result"] |= {
                "decision": "refused",
                "recourse": {"offers": [offer], "statement": offer["text"]},
            }
        route.fulfill(response=response, json=body)  # the gateway's status: 202 while pending

    page.route(EXPLANATIONS, with_offer)
    client_id = page.get_by_label("Client id (SK_ID_CURR)")
    client_id.fill(str(stack.client_ids[1]))
    client_id.press("Enter")
    offers = page.locator("#offers li")
    expect(offers).to_have_count(1, timeout=EXPLANATION_WAIT_MS)
    expect(offers.first).to_contain_text(offer["text"])
    expect(offers.first).to_contain_text("AMT_CREDIT = 450,000, AMT_ANNUITY = 22,500; PD 7.1%")
    expect(page.locator("#recourse-statement")).to_have_text("1 change(s) the model would approve:")
    assert officer.unexpected_errors() == []


def test_an_approval_shows_no_recourse_and_a_no_offer_is_said(
    officer: Officer, make_key: Callable[..., str], stack: Platform
) -> None:
    page = officer.page
    save_key(page, make_key(scopes=["score", "explain"]))
    no_offer = {"offers": [], "statement": "No offer: no loan of at least 50% of the amount asked."}
    approved, refused = stack.client_ids[2], stack.client_ids[3]
    answers = {approved: None, refused: no_offer}

    def with_recourse(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        if body.get("result"):
            body["result"]["recourse"] = answers[body["result"]["client_id"]]
        route.fulfill(response=response, json=body)  # the gateway's status: 202 while pending

    page.route(EXPLANATIONS, with_recourse)
    for shown, expected_hidden in ((approved, True), (refused, False)):
        client_id = page.get_by_label("Client id (SK_ID_CURR)")
        client_id.fill(str(shown))
        client_id.press("Enter")
        expect(page.locator("#explanation-status")).to_contain_text(
            "Explanation ready", timeout=EXPLANATION_WAIT_MS
        )
        if expected_hidden:
            expect(page.locator("#recourse")).to_be_hidden()
        else:
            expect(page.locator("#recourse-statement")).to_have_text(re.compile(r"^No offer: no loan"))
            expect(page.locator("#offers li")).to_have_count(0)
    assert officer.unexpected_errors() == []
