"""The experiment page in a real browser, against a real API and worker: epochs arrive on the
chart while the job trains, the diagnosis shows once it ends, the CSV downloads, Cancel stops a
running job; and a finished overfitting run as a user opens it (kept as docs/web_experiment.png
when FITQ_DOCS_SCREENSHOTS is set)."""

import json
import struct
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.browser import open_app, screenshot
from tests.e2e.stack import Api
from tests.helpers import ROOT, slow_circles_spec

LIVE_EPOCHS = 400  # about 20 ms each here: several seconds of chunks reaching SQL
EPOCHS_DRAWN = "document.getElementById('curves')?.dataset.epochs"


def epochs_drawn_above(page: Page, floor: int, timeout: float = 120_000) -> int:
    """Waits until the chart has drawn more than `floor` epochs; how many it has then."""
    handle = page.wait_for_function(
        f"floor => {{ const n = Number({EPOCHS_DRAWN}); return n > floor ? n : false; }}",
        arg=floor,
        timeout=timeout,
    )
    return int(handle.json_value())


def epoch_at_right_edge(page: Page, metric: str) -> int:
    """The epoch the chart's legend names with the pointer at the plot's right edge: the
    last one the x axis reaches."""
    figure = page.locator(f"#curves figure[data-metric={metric}]")
    box = figure.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
    value = figure.locator(".u-legend .u-series").first.locator(".u-value")
    expect(value).not_to_have_text("--")
    return int(value.inner_text().replace(",", ""))


def test_epochs_arrive_on_the_chart_while_it_trains(pg_stack: Api, page: Page) -> None:
    experiment_id = pg_stack.submit(slow_circles_spec(LIVE_EPOCHS) | {"name": "live-circles"})
    open_app(page, pg_stack, f"#/experiments/{experiment_id}")
    header = page.locator("#exp-header")
    expect(header.locator("h1")).to_contain_text("live-circles")
    expect(page.locator("#diagnosis")).to_contain_text("Available when the run ends")

    # Two successive counts, both short of the end: the chart grew while the job trained.
    first = epochs_drawn_above(page, 0)
    second = epochs_drawn_above(page, first)
    assert 0 < first < second < LIVE_EPOCHS, (first, second)
    assert epoch_at_right_edge(page, "loss") >= second  # the axis follows the new epochs

    expect(header.locator(".status")).to_have_text("succeeded", timeout=120_000)
    curves = page.locator("#curves")
    expect(curves).to_have_attribute("data-epochs", str(LIVE_EPOCHS))
    assert epoch_at_right_edge(page, "accuracy") == LIVE_EPOCHS
    expect(header.locator(".exp-progress")).to_have_text(f"epoch {LIVE_EPOCHS} of {LIVE_EPOCHS}")
    expect(header.locator(".stream")).to_have_text("finished")
    expect(page.locator("#cancel")).to_be_hidden()
    # The notebooks' two plots: loss, and accuracy next to it; validation in the legend too.
    expect(curves.locator("figure")).to_have_count(2)
    expect(curves.locator("figure[data-metric=loss] .u-legend")).to_contain_text("val_loss")

    verdict = pg_stack.http.get(f"/experiments/{experiment_id}/diagnosis").json()["verdict"]
    expect(page.locator("#diagnosis [data-verdict]")).to_have_attribute("data-verdict", verdict)

    with page.expect_download() as event:
        page.locator("#download-csv").click()
    download = event.value
    assert download.suggested_filename == f"experiment-{experiment_id}.csv"
    lines = Path(download.path()).read_text().splitlines()
    assert lines[0].startswith("epoch,") and len(lines) == LIVE_EPOCHS + 1


def test_a_finished_overfitting_run_as_a_user_reads_it(
    pg_stack: Api, page: Page, tmp_path: Path
) -> None:
    spec = json.loads((ROOT / "examples" / "circles_overfit.json").read_text())
    epochs = spec["fit"]["epochs"]
    experiment_id = pg_stack.submit(spec)
    pg_stack.wait_status(experiment_id, {"succeeded"}, timeout=300)
    diagnosis = pg_stack.http.get(f"/experiments/{experiment_id}/diagnosis").json()

    open_app(page, pg_stack, f"#/experiments/{experiment_id}")
    curves = page.locator("#curves")
    # The whole history from the stream (4,000 epochs in one catch-up), then its end.
    expect(curves).to_have_attribute("data-epochs", str(epochs))
    expect(page.locator("#exp-header .stream")).to_have_text("finished")
    expect(page.locator("#diagnosis [data-verdict]")).to_have_attribute(
        "data-verdict", diagnosis["verdict"]
    )
    remedies = page.locator("#diagnosis .remedies li")
    expect(remedies).to_have_count(len(diagnosis["remedies"]))

    # Smoothing draws the smoothed curve over the faint raw one.
    page.locator("input[name=smoothing]").fill("0.6")
    loss_legend = curves.locator("figure[data-metric=loss] .u-legend")
    expect(loss_legend).to_contain_text("val_loss (raw)")
    expect(curves.locator(".curves-weight")).to_have_text("0.6")
    # A metric pair can be left out; the log scale redraws with every epoch still there.
    page.locator("input[name=metric][value=accuracy]").uncheck()
    expect(curves.locator("figure")).to_have_count(1)
    page.locator("input[name=metric][value=accuracy]").check()
    page.locator("input[name=log]").check()
    page.locator("input[name=log]").uncheck()
    expect(curves.locator("figure")).to_have_count(2)
    expect(curves).to_have_attribute("data-epochs", str(epochs))

    page.locator(".exp-spec summary").click()
    expect(page.locator(".exp-spec pre")).to_contain_text('"n_train": 30')

    page.locator("#exp-header").scroll_into_view_if_needed()
    shot = screenshot(page, tmp_path, "web_experiment.png")
    assert png_size(shot) == (1280, 900)


def test_cancel_stops_a_running_job(pg_stack: Api, page: Page) -> None:
    experiment_id = pg_stack.submit(slow_circles_spec(20_000))
    open_app(page, pg_stack, f"#/experiments/{experiment_id}")
    epochs_drawn_above(page, 10)  # it is training, with epochs enough to zoom into

    # A zoom (drag across the plot) stays while epochs arrive; a double-click follows again.
    over = page.locator("#curves figure[data-metric=loss] .u-over")
    box = over.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    zoomed_to = epoch_at_right_edge(page, "loss")
    drawn = int(page.locator("#curves").get_attribute("data-epochs") or 0)
    assert zoomed_to < drawn
    drawn = epochs_drawn_above(page, drawn)
    assert epoch_at_right_edge(page, "loss") == zoomed_to
    over.dblclick()
    assert epoch_at_right_edge(page, "loss") >= drawn

    page.locator("#cancel").click()
    header = page.locator("#exp-header")
    expect(header.locator(".status")).to_have_text("cancelled", timeout=60_000)
    expect(header.locator(".stream")).to_have_text("finished")
    expect(page.locator("#cancel")).to_be_hidden()
    drawn = int(page.locator("#curves").get_attribute("data-epochs") or 0)
    assert 0 < drawn < 20_000
    assert pg_stack.get(experiment_id)["status"] == "cancelled"


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height
