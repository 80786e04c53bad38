"""A real browser for the web page's tests: Debian's chromium, headless, driven by Playwright
with a fresh profile each test. scripts/browser.sh installs chromium when it is missing."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from tests.e2e.stack import Api
from tests.helpers import ROOT

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip


def chromium_path() -> str:
    path = os.environ.get("FITQ_TEST_CHROMIUM") or shutil.which("chromium")
    if path:
        return path
    message = "chromium is not installed (scripts/browser.sh installs it)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser_context(playwright: Playwright) -> Iterator[BrowserContext]:
    """A fresh --user-data-dir each test: no key, storage or cache carried over."""
    with tempfile.TemporaryDirectory(prefix="fitq-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=chromium_path(), headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 900}, accept_downloads=True,
        )  # fmt: skip
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Page:
    return browser_context.pages[0] if browser_context.pages else browser_context.new_page()


def open_app(page: Page, api: Api, route: str = "#/") -> None:
    """Opens the page at `route` and gives it the stack's key, as a user does."""
    token = api.http.headers["Authorization"].removeprefix("Bearer ")
    page.goto(f"{api.http.base_url}/{route}")
    page.locator("#key-input").fill(token)
    page.locator("#key-submit").click()
    page.locator("#key-dialog").wait_for(state="hidden")


def screenshot(page: Page, tmp_path: Path, name: str, full_page: bool = False) -> Path:
    """The page as docs/<name> when FITQ_DOCS_SCREENSHOTS is set (to refresh the README's
    pictures), else as a file of the test's own: a plain test run leaves the tree as it was."""
    folder = ROOT / "docs" if os.environ.get("FITQ_DOCS_SCREENSHOTS") else tmp_path
    path = folder / name
    page.screenshot(path=str(path), full_page=full_page)
    return path
