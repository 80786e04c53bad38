"""The web page's shell in a real browser: served by the API with its files, the key asked
for and kept for the tab, never put in a URL."""

from playwright.sync_api import Page, expect

from tests.e2e.browser import open_app
from tests.e2e.stack import Api


def test_the_page_asks_for_a_key_and_keeps_it_out_of_urls(pg_stack: Api, page: Page) -> None:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto(f"{pg_stack.http.base_url}/")
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    page.locator("#key-input").fill("not-a-key")
    page.locator("#key-submit").click()
    expect(page.locator("#key-error")).to_contain_text("refused")

    open_app(page, pg_stack)
    expect(page.locator("#key-button")).to_be_visible()
    token = pg_stack.http.headers["Authorization"].removeprefix("Bearer ")
    assert seen and not [url for url in seen if token in url]
    # A reload in the same tab keeps the key; nothing asks again.
    page.reload()
    expect(page.locator("#view h1")).to_be_visible()
    expect(dialog).to_be_hidden()


def test_the_page_and_its_files_are_served_from_the_package(pg_stack: Api) -> None:
    shell = pg_stack.http.get("/", headers={"Authorization": ""})
    assert shell.status_code == 200 and "text/html" in shell.headers["content-type"]
    for path in ("/ui/js/app.js", "/ui/vendor/uplot/uPlot.iife.min.js", "/ui/style.css"):
        assert pg_stack.http.get(path).status_code == 200, path
    assert pg_stack.http.get("/ui/vendor/uplot/LICENSE").text.startswith("The MIT License")
