"""Issue 19's new user, in a real browser on `make run`'s stack (`fitq run`: SQLite, the
filesystem broker, no key asked): open the page, submit the circles dropout example, watch
its curves grow live, read the diagnosis, download the CSV."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.test_embedded import Embedded, embedded  # noqa: F401 (the fixture)

EPOCHS = 4000  # examples/circles_dropout.json
EPOCHS_DRAWN = "Number(document.getElementById('curves')?.dataset.epochs ?? 0)"


def test_a_new_user_submits_watches_and_downloads(embedded: Embedded, page: Page) -> None:  # noqa: F811
    api = embedded.start()
    page.goto(f"{api.http.base_url}/")
    expect(page.locator("#view h1")).to_have_text("Runs")
    expect(page.locator("#key-dialog")).to_be_hidden()  # a one-user local run asks for none

    page.locator('header a[data-nav="submit"]').click()
    page.locator("#submit-start").select_option("circles_dropout")
    page.locator("#submit-go").click()
    expect(page).to_have_url(re.compile(r"#/experiments/\d+$"), timeout=60_000)
    experiment_id = int(page.url.rsplit("/", 1)[1])

    # The curves grow while it trains: two counts short of the end, the second larger.
    grow = f"floor => {{ const n = {EPOCHS_DRAWN}; return n > floor ? n : false; }}"
    first = int(page.wait_for_function(grow, arg=0, timeout=180_000).json_value())
    second = int(page.wait_for_function(grow, arg=first, timeout=180_000).json_value())
    assert 0 < first < second < EPOCHS, (first, second)

    header = page.locator("#exp-header")
    expect(header.locator(".status")).to_have_text("succeeded", timeout=180_000)
    expect(page.locator("#curves")).to_have_attribute("data-epochs", str(EPOCHS))
    verdict = api.http.get(f"/experiments/{experiment_id}/diagnosis").json()["verdict"]
    expect(page.locator("#diagnosis [data-verdict]")).to_have_attribute("data-verdict", verdict)
    expect(page.locator("#diagnosis .remedies li").first).to_be_visible()

    with page.expect_download() as event:
        page.locator("#download-csv").click()
    lines = Path(event.value.path()).read_text().splitlines()
    assert lines[0].startswith("epoch,") and len(lines) == EPOCHS + 1
