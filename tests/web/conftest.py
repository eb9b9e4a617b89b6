"""The officers' page in headless Chromium (Debian's, driven by Playwright) against the real platform.

The platform is the worker's `stack` (tests/conftest.py), the one the gateway tests use; gateway and web
tests are one xdist group (tests/support/scheduling.py), so one worker starts it. Each test gets a
fresh browser context (empty session storage) and leaves a full-page screenshot in tests/web/artifacts/
(git-ignored), failed or not.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from loopback.platform import Platform

CHROMIUM = "/usr/bin/chromium"  # from scripts/install-system-deps.sh; never `playwright install`
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
# What Chromium logs on the console for any HTTP error answer, even one the page handles.
HTTP_ERROR_LOG = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")
WAIT_MS = 15_000  # for any page action or expectation: the machine is shared, answers can be slow

expect.set_options(timeout=WAIT_MS)


@dataclass
class Officer:
    """A page at /app/ and everything it logged: console errors and uncaught exceptions."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def unexpected_errors(self, *expected_statuses: int) -> list[str]:
        """Errors other than Chromium's own log line for an HTTP error status the test provoked."""
        return [e for e in self.errors if _http_status(e) not in expected_statuses]


def _http_status(error: str) -> int | None:
    found = HTTP_ERROR_LOG.match(error)
    return int(found.group(1)) if found else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def officer(
    browser: Browser,
    stack: Platform,
    request: pytest.FixtureRequest,
) -> Iterator[Officer]:
    context = browser.new_context(base_url=stack.gateway.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    officer = Officer(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            officer.errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: officer.errors.append(f"uncaught: {error}"))
    page.goto("/app/")
    yield officer
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
    context.close()
