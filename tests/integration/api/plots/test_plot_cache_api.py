"""Cached plots on the real PostgreSQL: ETags, 304s, and a new picture when an epoch lands."""

import io

from fastapi.testclient import TestClient
from PIL import Image

from tests.factories import add_epochs, running_experiment
from tests.integration.api.plots.curves import curve_experiment, curve_study, write_curve
from worker.training import epoch_store


def test_plot_etag_304_and_a_new_picture_after_a_new_epoch(client: TestClient) -> None:
    experiment_id = running_experiment(client)
    add_epochs(experiment_id, range(1, 1001))
    url = f"/experiments/{experiment_id}/plot.png"
    first = client.get(url)
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert tag.startswith('W/"') and first.headers["cache-control"] == "private, no-cache"
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    # Any one of several tags, strong or weak, matches.
    listed = client.get(url, headers={"If-None-Match": f'"other", {tag.removeprefix("W/")}'})
    assert listed.status_code == 304
    assert client.get(url).content == first.content  # the cached picture

    epoch_store.record_epoch(experiment_id, 1001, {"loss": 3.0, "val_loss": 3.0})
    later = client.get(url, headers={"If-None-Match": tag})
    assert later.status_code == 200 and later.headers["etag"] != tag
    assert later.content != first.content  # drawn again, with the new epoch's jump
    assert Image.open(io.BytesIO(later.content)).size == (800, 500)


def test_every_parameter_has_its_own_etag(client: TestClient) -> None:
    experiment_id = running_experiment(client)
    add_epochs(experiment_id, range(1, 11))
    url = f"/experiments/{experiment_id}/plot.png"
    variants = [
        {},
        {"metric": "accuracy"},
        {"metric": "val_loss"},
        {"width": 801},
        {"height": 501},
        {"dpi": 101},
    ]
    tags = [client.get(url, params=params).headers["etag"] for params in variants]
    assert len(set(tags)) == len(variants)
    assert client.get(url).headers["etag"] == tags[0]


def test_errors_come_before_any_revalidation(client: TestClient) -> None:
    experiment_id = running_experiment(client)
    url = f"/experiments/{experiment_id}/plot.png"
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 409
    add_epochs(experiment_id, range(1, 3))
    unknown = client.get(url, params={"metric": "auc"}, headers={"If-None-Match": "*"})
    assert unknown.status_code == 422


def test_study_and_comparison_plots_revalidate_too(client: TestClient) -> None:
    study_id = curve_study("s", [("a", None, [(0.7, 0.8), (0.6, 0.7)]), ("b", None, [(0.5, 0.9)])])
    lone = curve_experiment("lone")
    write_curve(lone, [(0.9, 1.0), (0.8, 0.9)])
    for url in (f"/studies/{study_id}/plot.png", f"/plots/compare.png?experiments={lone}"):
        first = client.get(url)
        assert first.status_code == 200, first.text
        tag = first.headers["etag"]
        assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    epoch_store.record_epoch(lone, 3, {"loss": 0.7, "val_loss": 0.8})
    compare = f"/plots/compare.png?experiments={lone}"
    assert client.get(compare, headers={"If-None-Match": tag}).status_code == 200
