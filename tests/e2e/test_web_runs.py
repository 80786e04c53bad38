"""The runs and submit views in a real browser: an example submitted from the page lands on
its experiment and in the runs table; the status filter narrows the table and survives a
reload; the API's 422 is shown at the field it names; text that is not JSON is caught in the
page before any request; a recipe makes a study."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect

from tests.e2e.browser import open_app, screenshot
from tests.e2e.stack import Api
from tests.helpers import ROOT, circles_spec


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """Waits on the API and its workers get 20 s, not Playwright's 5: two cores, busy."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def pretty(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2)


def selected_line(page: Page) -> str:
    """The text of the line the editor's selection starts on."""
    script = """el => {
        const start = el.value.lastIndexOf("\\n", el.selectionStart - 1) + 1;
        const end = el.value.indexOf("\\n", el.selectionStart);
        return el.value.slice(start, end < 0 ? undefined : end);
    }"""
    return str(page.locator(".json-text").first.evaluate(script))


def test_the_page_examples_are_copies_of_the_repository_examples() -> None:
    for name in ("circles_dropout.json", "circles_overfit.json"):
        copy = ROOT / "api/web/static/examples" / name
        assert copy.read_bytes() == (ROOT / "examples" / name).read_bytes(), name


def test_submit_an_example_and_filter_the_runs_table(pg_stack: Api, page: Page) -> None:
    done = pg_stack.submit(circles_spec(epochs=3, name="short circles", tags=["web"]))
    doomed = pg_stack.submit(circles_spec(epochs=100_000, name="doomed circles", tags=["web"]))
    assert pg_stack.http.post(f"/experiments/{doomed}/cancel").status_code == 200

    open_app(page, pg_stack, "#/submit")
    page.locator("#submit-start").select_option("circles_dropout")
    expect(page.locator(".json-text").first).to_have_value(re.compile('"name": "circles-dropout"'))
    page.locator("#submit-go").click()
    expect(page).to_have_url(re.compile(r"#/experiments/\d+$"))
    submitted = int(page.url.rsplit("/", 1)[1])

    page.locator('header a[data-nav="runs"]').click()
    table = page.locator("#experiments-table")
    row = table.locator(f'tr[data-id="{submitted}"]')
    expect(row).to_contain_text("circles-dropout")
    expect(row.locator(".status")).to_have_text(re.compile("queued|running|succeeded"))
    expect(row.locator(".progress-text")).to_contain_text("/ 4000")

    pg_stack.wait_status(done, {"succeeded"}, timeout=60)
    pg_stack.wait_status(doomed, {"cancelled"}, timeout=60)
    # The table refreshes by itself while runs are queued or running.
    expect(table.locator(f'tr[data-id="{done}"] .status')).to_have_text("succeeded")
    expect(table.locator(f'tr[data-id="{doomed}"] .status')).to_have_text("cancelled")
    expect(table.locator(f'tr[data-id="{done}"]')).to_contain_text(re.compile(r"\d\.\d+ / \d"))

    page.locator("#filter-status").select_option("succeeded")
    expect(table.locator(f'tr[data-id="{doomed}"]')).to_have_count(0)
    expect(table.locator(f'tr[data-id="{done}"]')).to_be_visible()
    expect(page).to_have_url(re.compile(r"#/\?status=succeeded$"))
    page.reload()  # the filter is in the hash: a reload keeps it
    expect(page.locator("#filter-status")).to_have_value("succeeded")
    expect(table.locator(f'tr[data-id="{done}"]')).to_be_visible()
    expect(table.locator(f'tr[data-id="{doomed}"]')).to_have_count(0)

    # Name and tag filters go to the API too; a tag's chip filters by it.
    page.locator("#filter-clear").click()
    page.locator("#filter-name").fill("doomed")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator(f'tr[data-id="{doomed}"]')).to_be_visible()
    page.locator("#filter-name").fill("")
    expect(table.locator(f'tr[data-id="{submitted}"]')).to_be_visible()
    table.locator(f'tr[data-id="{done}"] button.tag', has_text="web").click()
    expect(page.locator("#filter-tag")).to_have_value("web")
    expect(table.locator(f'tr[data-id="{submitted}"]')).to_have_count(0)
    expect(table.locator("tbody tr")).to_have_count(2)
    page.locator("#filter-tag").fill("no-such-tag")
    expect(page.locator("#experiments .empty")).to_have_text("No experiment matches these filters.")
    assert pg_stack.http.post(f"/experiments/{submitted}/cancel").status_code in (200, 409)


def test_the_api_422_is_shown_at_the_field_it_names(
    pg_stack: Api, page: Page, tmp_path: Path
) -> None:
    open_app(page, pg_stack, "#/submit")
    editor = page.locator(".json-text").first
    editor.fill(pretty(circles_spec(epochs=0)))
    page.locator("#submit-go").click()
    problem = page.locator('#submit-problems li[data-path="fit.epochs"]')
    expect(problem).to_contain_text("greater than or equal to 1")
    assert '"epochs": 0' in selected_line(page)
    mark = page.locator(".json-mark")
    expect(mark).to_have_count(1)
    expect(mark).to_contain_text("fit.epochs")
    epochs_line = pretty(circles_spec(epochs=0)).split("\n").index('    "epochs": 0,') + 1
    expect(page.locator(".json-gutter .bad")).to_have_text(str(epochs_line))
    expect(page).to_have_url(re.compile(r"#/submit$"))  # nothing was created
    page.locator(".json-editor").first.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "web_submit_422.png")

    # A bad layer found by the dry run: the list names it and the selection is on its line.
    spec = circles_spec(epochs=3)
    spec["model"]["layers"][0]["units"] = -5
    editor.fill(pretty(spec))
    expect(mark).to_have_count(0)  # an edit clears the old marks
    page.locator("#submit-validate").click()
    expect(page.locator('#submit-problems li[data-path="model.layers[0].units"]')).to_be_visible()
    expect(page.locator(".json-mark")).to_contain_text("model.layers[0].units")
    assert '"units": -5' in selected_line(page)

    # The same spec, valid: Validate shows the layer table and the parameter count (the
    # validation worker's first dry run imports Keras: up to a minute on a busy machine).
    spec["model"]["layers"][0]["units"] = 500
    editor.fill(pretty(spec))
    page.locator("#submit-validate").click()
    summary = page.locator("#submit-summary")
    expect(summary.locator("tbody tr")).to_have_count(3, timeout=90_000)
    expect(summary.locator(".total-params")).to_have_text("2,001 parameters")


def test_text_that_is_not_json_is_caught_before_any_request(pg_stack: Api, page: Page) -> None:
    posted: list[str] = []

    def seen(request: Request) -> None:
        if request.method == "POST":
            posted.append(request.url)

    open_app(page, pg_stack, "#/submit")
    page.on("request", seen)
    page.locator(".json-text").first.fill('{\n  "fit": {\n    "epochs": 3,\n  }\n}')
    page.locator("#submit-go").click()
    problem = page.locator("#submit-problems .problem")
    expect(problem).to_contain_text("Not JSON: line 4, column 3")
    expect(page.locator(".json-gutter .bad")).to_have_text("4")
    page.locator("#submit-validate").click()
    expect(problem).to_contain_text("line 4")
    assert posted == []


def test_a_recipe_makes_a_study(pg_stack: Api, page: Page, tmp_path: Path) -> None:
    open_app(page, pg_stack, "#/submit")
    recipes = pg_stack.http.get("/recipes").json()
    page.locator("#recipe-name").select_option(recipes[0]["name"])
    page.locator("#recipe-epochs").fill("0")
    page.locator("#recipe-go").click()  # the browser's own check refuses 0 before a request
    expect(page).to_have_url(re.compile(r"#/submit$"))
    page.locator("#recipe-epochs").fill("2")
    page.locator("#recipe-go").click()
    expect(page).to_have_url(re.compile(r"#/studies/\d+$"))
    study = int(page.url.rsplit("/", 1)[1])
    page.locator('header a[data-nav="runs"]').click()
    row = page.locator(f'#studies-table tr[data-id="{study}"]')
    expect(row).to_contain_text("runs")
    # The table follows the study's runs as they finish.
    expect(row.locator(".progress-text")).not_to_have_text(re.compile("^0 /"), timeout=60_000)
    # The runs view as docs/ shows it: the experiments of the tests above and this study.
    screenshot(page, tmp_path, "web_runs.png")
    assert pg_stack.http.post(f"/studies/{study}/cancel").status_code in (200, 409)
