"""The study page in a real browser: the variants' curves on one chart from the study's event
stream (mean and band over repeats), each run's progress, the summary per variant, the grid
chart, the CSV. FITQ_DOCS_SCREENSHOTS=1 also writes docs/web_study.png."""

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.browser import open_app, screenshot
from tests.e2e.stack import Api
from tests.helpers import circles_spec, slow_circles_spec

RUN_TIMEOUT = 180_000  # ms: a few short circles fits on a loaded two-core machine


def create_study(api: Api, body: dict[str, Any], path: str = "/studies") -> int:
    response = api.http.post(path, json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_a_study_draws_each_variant_with_its_band_and_summary(pg_stack: Api, page: Page) -> None:
    body = {
        "name": "capacity",
        "base": circles_spec(epochs=25, tags=["web-study"]),
        "variants": [{"name": "wide"}, {"name": "narrow", "set": {"model.layers[0].units": 4}}],
        "repeats": 2,
    }
    study_id = create_study(pg_stack, body)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_app(page, pg_stack, f"#/studies/{study_id}")

    expect(page.locator(".study-head h1")).to_have_text("capacity")
    expect(page.locator(".study-view .tag")).to_have_text(["web-study"])
    runs = page.locator(".study-runs tbody tr")
    expect(runs).to_have_count(4)
    expect(page.locator(".study-runs tr[data-status=succeeded]")).to_have_count(
        4, timeout=RUN_TIMEOUT
    )
    expect(runs.first).to_contain_text("epoch 25 of 25")
    expect(page.locator(".study-view")).to_have_attribute("data-status", "succeeded")
    expect(page.locator(".study-counts")).to_have_text("4 of 4 runs finished")
    expect(page.get_by_role("button", name="Cancel all runs")).to_be_hidden()

    # One colour per variant, training and validation, each a mean in a band over 2 repeats.
    chart = page.locator(".study-chart")
    expect(chart).to_have_attribute("data-variants", "2")
    expect(chart).to_have_attribute("data-epochs", "25")
    expect(chart).to_have_attribute("data-bands", "4")
    legend = chart.locator(".u-legend .u-series:visible .u-label")
    expect(legend).to_have_text(["epoch", "wide train", "wide val", "narrow train", "narrow val"])
    expect(page.locator(".study-caption")).to_contain_text("± 1 sample standard deviation")

    # The summary per variant: mean ± sd over both repeats, for the chart's metric.
    for variant in ("wide", "narrow"):
        row = page.locator(f".study-summary tr[data-variant={variant}]")
        expect(row).to_contain_text("2 of 2")
        expect(row.locator("td[data-cell=final_train]")).to_contain_text("±")
        expect(row.locator("td[data-cell=final_validation]")).to_contain_text("±")
    page.get_by_label("Metric").select_option("accuracy")
    expect(page.locator(".study-summary thead")).to_contain_text("val_accuracy")
    expect(chart.locator(".u-legend")).to_contain_text("wide val")
    page.get_by_label("log scale").check()
    page.get_by_label("Smoothing").fill("0.5")
    expect(page.locator(".study-caption")).to_contain_text("raw means faint")
    expect(chart).to_have_attribute("data-variants", "2")
    # Hiding a mean in the legend hides its band and raw curve with it.
    chart.locator(".u-legend .u-series:visible", has_text="wide train").click()
    expect(chart.locator(".u-legend .u-series.u-off")).to_have_count(4)  # mean, raw, edges
    page.get_by_label("log scale").uncheck()  # a rebuilt chart keeps it hidden
    expect(chart.locator(".u-legend .u-series.u-off")).to_have_count(4)

    with page.expect_download() as waiting:
        page.get_by_role("button", name="Download CSV").click()
    csv = Path(waiting.value.path()).read_text()
    assert csv.startswith("experiment_id,variant,repeat,epoch,")
    assert len(csv.splitlines()) == 1 + 4 * 25
    assert not errors


def test_a_grid_study_shows_the_grid_chart(pg_stack: Api, page: Page) -> None:
    body = {
        "base": circles_spec(epochs=5),
        "grid": {"model.layers[1].rate": [0.0, 0.5]},
    }
    study_id = create_study(pg_stack, body)
    open_app(page, pg_stack, f"#/studies/{study_id}")
    expect(page.locator(".study-runs tr[data-status=succeeded]")).to_have_count(
        2, timeout=RUN_TIMEOUT
    )
    expect(page.locator(".study-chart")).to_have_attribute("data-variants", "2")
    expect(page.locator(".study-chart")).to_have_attribute("data-bands", "0")  # one repeat
    grid = page.locator("img.study-grid")
    expect(grid).to_be_visible()
    expect(grid).to_have_attribute("data-status", "succeeded")  # drawn again at the end
    page.wait_for_function("document.querySelector('img.study-grid').naturalWidth > 0")
    # Its image is an object URL: the key went in a header, not in the image's address.
    assert (grid.get_attribute("src") or "").startswith("blob:")


def test_epochs_arrive_live_and_cancel_all_stops_the_study(pg_stack: Api, page: Page) -> None:
    body = {"base": slow_circles_spec(epochs=5000), "variants": [{"name": "a"}, {"name": "b"}]}
    study_id = create_study(pg_stack, body)
    open_app(page, pg_stack, f"#/studies/{study_id}")
    # The first run's epochs reach the chart while it trains.
    expect(page.locator(".study-runs tr[data-status=running]")).to_have_count(
        1, timeout=RUN_TIMEOUT
    )
    page.wait_for_function(
        "Number(document.querySelector('.study-chart').dataset.epochs) >= 3", timeout=RUN_TIMEOUT
    )
    expect(page.locator(".study-chart")).to_have_attribute("data-variants", "1")
    expect(page.locator(".study-runs tbody tr").first).to_contain_text("of 5000")

    page.get_by_role("button", name="Cancel all runs").click()
    expect(page.locator(".study-runs tr[data-status=cancelled]")).to_have_count(
        2, timeout=RUN_TIMEOUT
    )
    expect(page.locator(".study-view")).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_role("button", name="Cancel all runs")).to_be_hidden()
    expect(page.locator(".study-counts")).to_have_text("2 of 2 runs finished")


def test_the_regularization_recipe_shows_the_variants_apart(
    pg_stack: Api, page: Page, tmp_path: Path
) -> None:
    body = {"dataset": {"name": "circles", "n_train": 30}, "epochs": 300, "repeats": 2}
    study_id = create_study(pg_stack, body, "/recipes/regularization")
    open_app(page, pg_stack, f"#/studies/{study_id}")
    expect(page.locator(".study-runs tr[data-status=succeeded]")).to_have_count(
        10, timeout=RUN_TIMEOUT
    )
    chart = page.locator(".study-chart")
    expect(chart).to_have_attribute("data-variants", "5")
    expect(chart).to_have_attribute("data-epochs", "300")
    # The loss function's own metric by default: `loss` would add l2's penalty.
    expect(page.get_by_label("Metric")).to_have_value("binary_crossentropy")
    expect(page.locator(".study-summary tbody tr")).to_contain_text(["2 of 2"] * 5)
    # The notebooks' lesson: the bigger model overfits.
    bigger = page.locator(".study-summary tr[data-variant=bigger]")
    expect(bigger).to_contain_text("overfitting")
    page.get_by_label("Smoothing").fill("0.6")
    expect(page.locator(".study-caption")).to_contain_text("raw means faint")
    chart.locator(".u-over").hover()  # the legend reads the values under the cursor
    expect(chart.locator(".u-legend")).not_to_contain_text("--")

    screenshot(page, tmp_path, "web_study.png", full_page=True)
