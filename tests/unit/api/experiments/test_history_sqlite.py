"""History pages, downsampling, the series cache and the cached plot on the embedded mode's
SQLite: the same reads work there (JSON values extracted by SQLite's json_extract)."""

import math

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from api.core.series import SeriesCache
from api.main import create_app
from models.db import session_scope
from models.settings import get_settings
from models.tables import EpochMetric, Experiment
from tests.factories import add_experiment, record_epochs
from worker.training import epoch_store, lifecycle


@pytest.fixture
def client(sqlite_db: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("FITQ_AUTH", "disabled")
    get_settings.cache_clear()
    return TestClient(create_app())


def running(client: TestClient, epochs: int) -> int:
    experiment_id = add_experiment(epochs_total=10_000)  # as POST /experiments stores it
    log = [
        {"epoch": epoch, "loss": None if epoch == 7 else 1 / math.sqrt(epoch), "val_loss": 0.5}
        for epoch in range(1, epochs + 1)
    ]
    record_epochs(experiment_id, log, worker="w")
    return experiment_id


def test_pages_and_downsampling_on_sqlite(client: TestClient) -> None:
    experiment_id = running(client, 40)
    url = f"/experiments/{experiment_id}/history"
    page = client.get(url, params={"limit": 10, "after_epoch": 5})
    assert page.json()[:2] == [
        {"epoch": 6, "loss": 1 / math.sqrt(6), "val_loss": 0.5},
        {"epoch": 7, "loss": None, "val_loss": 0.5},
    ]
    assert "after_epoch=15" in page.headers["link"]
    epochs = [row["epoch"] for row in client.get(url, params={"max_points": 10}).json()]
    assert len(epochs) <= 10 and epochs[0] == 1 and epochs[-1] == 40
    assert 7 in epochs  # the null value is kept


def test_the_series_cache_extends_replaces_and_reloads(client: TestClient) -> None:
    experiment_id = running(client, 5)
    cache = SeriesCache(10**6)

    def loss(attempts: int = 1) -> list[float]:
        with session_scope() as session:
            series = cache.get(session, experiment_id, attempts, "loss")
        return [round(v, 3) for v in np.nan_to_num(series.values, nan=-1.0)]

    assert loss() == [1.0, 0.707, 0.577, 0.5, 0.447]
    epoch_store.record_epoch(experiment_id, 5, {"loss": 9.0})  # a retried write of the newest
    epoch_store.record_epoch(experiment_id, 6, {"loss": 8.0})
    assert loss() == [1.0, 0.707, 0.577, 0.5, 9.0, 8.0]
    lifecycle.resume_at(experiment_id, 3)  # as a new claim does: rows after 3 go
    epoch_store.record_epoch(experiment_id, 4, {"loss": 0.25})
    assert loss(attempts=2) == [1.0, 0.707, 0.577, 0.25]


def test_plot_is_cached_and_revalidated_on_sqlite(client: TestClient) -> None:
    experiment_id = running(client, 12)
    url = f"/experiments/{experiment_id}/plot.png"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_a_rewritten_epoch_replaces_the_stored_one_on_sqlite(client: TestClient) -> None:
    # A write is a plain insert; one whose epochs are there already (an earlier try's commit
    # that was not acknowledged) is redone as a replacement, rows and chunks alike.
    experiment_id = running(client, 3)
    again = [(epoch, {"loss": 0.1 + epoch, "val_loss": 0.25}) for epoch in (2, 3, 4)]
    assert epoch_store.write_epochs(experiment_id, None, again) == "ok"
    history = client.get(f"/experiments/{experiment_id}/history").json()
    assert [(row["epoch"], row["loss"], row["val_loss"]) for row in history] == [
        (1, 1.0, 0.5),
        (2, 2.1, 0.25),
        (3, 3.1, 0.25),
        (4, 4.1, 0.25),
    ]
    with session_scope() as session:  # the series plots and downsampling read
        series = SeriesCache(10**6).get(session, experiment_id, 1, "loss")
    assert [round(v, 3) for v in series.values] == [1.0, 2.1, 3.1, 4.1]


def test_deleting_an_experiment_deletes_its_epochs_on_sqlite(client: TestClient) -> None:
    gone, kept = running(client, 4), running(client, 2)
    with session_scope() as session:
        session.execute(delete(Experiment).where(Experiment.id == gone))
    with session_scope() as session:
        left = session.execute(
            select(EpochMetric.experiment_id, func.count()).group_by(EpochMetric.experiment_id)
        )
        assert dict(left.tuples().all()) == {kept: 2}
