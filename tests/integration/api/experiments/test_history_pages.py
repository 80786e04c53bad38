"""History pages and downsampling on the real PostgreSQL: long histories are written in bulk,
as many epochs as a long fit leaves, then read through the API."""

from datetime import timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from api.core.series import read_chunked, read_series
from models.db import session_scope
from models.tables import Experiment, MetricChunk, utcnow
from tests.factories import add_epochs, running_experiment
from worker.training import epoch_store, lifecycle


def next_link(response: httpx.Response) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    url, rel = link.split(";")
    assert rel.strip() == 'rel="next"'
    return url.strip().removeprefix("<").removesuffix(">")


def test_max_points_keeps_first_last_and_a_spike_in_whole_rows(client: TestClient) -> None:
    experiment_id = running_experiment(client)
    add_epochs(experiment_id, range(1, 20_001), spike=12_345)
    response = client.get(
        f"/experiments/{experiment_id}/history", params={"max_points": 200, "metric": "loss"}
    )
    assert response.status_code == 200
    rows = response.json()
    epochs = [row["epoch"] for row in rows]
    assert len(rows) <= 200
    assert epochs[0] == 1 and epochs[-1] == 20_000
    assert epochs == sorted(epochs)
    assert 12_345 in epochs
    assert rows[epochs.index(12_345)] == {
        "epoch": 12_345, "loss": 5.0, "accuracy": 0.5, "val_loss": 5.5, "val_accuracy": 0.4,
    }  # fmt: skip
    assert "link" not in response.headers  # the whole history fitted in one page


def test_downsampling_follows_new_epochs_of_a_running_fit(client: TestClient) -> None:
    experiment_id = running_experiment(client)
    add_epochs(experiment_id, range(1, 5_001))
    url = f"/experiments/{experiment_id}/history"
    first = client.get(url, params={"max_points": 50}).json()
    assert first[-1]["epoch"] == 5_000
    add_epochs(experiment_id, range(5_001, 6_001), spike=5_500)
    later = [row["epoch"] for row in client.get(url, params={"max_points": 50}).json()]
    assert later[-1] == 6_000 and 5_500 in later
    # The worker is lost; a new claim resumes from the checkpoint of epoch 4,000, deleting
    # the rows after it.
    with session_scope() as session:
        stale = utcnow() - timedelta(hours=1)
        session.execute(
            update(Experiment).where(Experiment.id == experiment_id).values(heartbeat_at=stale)
        )
    assert lifecycle.claim(experiment_id, "another-worker") is not None
    lifecycle.resume_at(experiment_id, 4_000)
    resumed = [row["epoch"] for row in client.get(url, params={"max_points": 50}).json()]
    assert resumed[-1] == 4_000 and 5_500 not in resumed


def test_pages_of_a_downsampled_history_link_to_the_next(client: TestClient) -> None:
    experiment_id = running_experiment(client)
    add_epochs(experiment_id, range(1, 2_501))
    url: str | None = f"/experiments/{experiment_id}/history?limit=1000&max_points=100"
    pages = []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        pages.append([row["epoch"] for row in response.json()])
        url = next_link(response)
    assert [(page[0], page[-1]) for page in pages] == [(1, 1000), (1001, 2000), (2001, 2500)]
    assert all(len(page) <= 100 for page in pages)


def test_plain_pages_link_to_the_next_until_the_last(client: TestClient) -> None:
    experiment_id = running_experiment(client)
    add_epochs(experiment_id, range(1, 6))
    response = client.get(f"/experiments/{experiment_id}/history", params={"limit": 2})
    assert [row["epoch"] for row in response.json()] == [1, 2]
    link = next_link(response)
    assert link is not None and "after_epoch=2" in link and "limit=2" in link
    seen = [1, 2]
    while link is not None:
        response = client.get(link)
        seen += [row["epoch"] for row in response.json()]
        link = next_link(response)
    assert seen == [1, 2, 3, 4, 5]
    whole = client.get(f"/experiments/{experiment_id}/history")
    assert len(whole.json()) == 5 and "link" not in whole.headers


@pytest.mark.parametrize("max_points", [0, 1, 2, 10_001, 10**12])
def test_bad_max_points_is_a_422_naming_it(client: TestClient, max_points: int) -> None:
    experiment_id = running_experiment(client)
    response = client.get(
        f"/experiments/{experiment_id}/history", params={"max_points": max_points}
    )
    assert response.status_code == 422
    assert [error["path"] for error in response.json()["detail"]] == ["query.max_points"]


def test_downsampling_by_an_unrecorded_metric_is_a_422(client: TestClient) -> None:
    experiment_id = running_experiment(client)
    add_epochs(experiment_id, range(1, 11))
    response = client.get(
        f"/experiments/{experiment_id}/history", params={"max_points": 5, "metric": "auc"}
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["path"] == "query.metric"
    assert error["msg"] == (
        "metric 'auc' was not recorded; recorded: accuracy, loss, val_accuracy, val_loss"
    )


def test_a_history_without_epochs_is_empty_downsampled_or_not(client: TestClient) -> None:
    experiment_id = running_experiment(client)
    url = f"/experiments/{experiment_id}/history"
    assert client.get(url).json() == []
    assert client.get(url, params={"max_points": 10}).json() == []


def test_a_series_read_on_postgres_is_in_epoch_order_with_gaps_as_nan(client: TestClient) -> None:
    """As the worker writes them: a retried write of epoch 2 moves its row to the end of the
    table, a non-finite value is null, a row may lack the metric."""
    experiment_id = running_experiment(client)
    rows: list[tuple[int, dict[str, Any]]] = [
        (1, {"loss": 1.0}), (2, {"loss": 0.5}), (3, {"loss": None}), (4, {"acc": 0.9}),
    ]  # fmt: skip
    assert epoch_store.write_epochs(experiment_id, 1, rows) == "ok"
    assert epoch_store.write_epochs(experiment_id, 1, [(2, {"loss": 0.25})]) == "ok"
    with session_scope() as session:
        # A sequential scan, as the planner picks for a long history: rows in table order.
        session.execute(text("SET LOCAL enable_indexscan = off"))
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
        series = read_series(session, experiment_id, "loss")
        tail = read_series(session, experiment_id, "loss", from_epoch=2)
        empty = read_series(session, experiment_id + 1, "loss")
    assert series.epochs.tolist() == [1, 2, 3, 4]
    assert np.array_equal(series.values, [1.0, 0.25, np.nan, np.nan], equal_nan=True)
    assert tail.epochs.tolist() == [2, 3, 4]
    assert len(empty.epochs) == len(empty.values) == 0
    page = client.get(f"/experiments/{experiment_id}/history").json()
    assert page[1:3] == [{"epoch": 2, "loss": 0.25}, {"epoch": 3, "loss": None}]


def test_a_series_reads_the_same_from_chunks_as_from_rows(client: TestClient) -> None:
    """metric_chunks against each row's jsonb (all an experiment recorded before migration
    0008 has): the same series, downsampled history, and the cut of a resume."""
    chunked, rows_only = running_experiment(client), running_experiment(client)
    add_epochs(chunked, range(1, 3_001), spike=1_234)
    add_epochs(rows_only, range(1, 3_001), spike=1_234, chunked=False)
    with session_scope() as session:
        chunks = session.scalar(
            select(func.count())
            .select_from(MetricChunk)
            .where(MetricChunk.experiment_id == chunked)
        )
        assert chunks == 4 * 12  # four metrics, twelve writes of 250 epochs
        assert read_chunked(session, chunked, "loss", 0) is not None  # the chunks served it
        assert read_chunked(session, rows_only, "loss", 0) is None  # the rows did
        for metric in ("loss", "val_accuracy"):
            a, b = (read_series(session, i, metric, from_epoch=700) for i in (chunked, rows_only))
            assert a.epochs.tolist() == b.epochs.tolist() == list(range(700, 3_001))
            assert np.array_equal(a.values, b.values)
    params = {"max_points": 100, "metric": "val_loss"}
    downsampled = [
        client.get(f"/experiments/{i}/history", params=params).json() for i in (chunked, rows_only)
    ]
    assert downsampled[0] == downsampled[1] and len(downsampled[0]) == 100
    lifecycle.resume_at(chunked, 2_000)  # a resume from the checkpoint of epoch 2,000
    add_epochs(chunked, range(2_001, 2_251), spike=2_100)
    with session_scope() as session:
        series = read_series(session, chunked, "loss")
    assert series.epochs.tolist() == list(range(1, 2_251))
    assert series.values[2_099] == 5.0 and series.values[1_233] == 5.0
