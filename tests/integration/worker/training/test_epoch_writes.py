"""Epoch writes on PostgreSQL go in as arrays and one JSON document the server unpacks
(worker/training/epoch_store.py, PostgresStore): what is read back is exactly what was written."""

import math
from datetime import timedelta

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.core.series import read_chunked
from models.db import session_scope
from models.tables import EpochMetric, utcnow
from tests.factories import add_experiment
from worker.training import epoch_store

AWKWARD = {
    "loss": 0.1 + 0.2,  # 17 significant digits
    "val_loss": None,  # a non-finite value, cleaned
    "tiny": 5e-324,
    "huge": -1.7976931348623157e308,
    'a "quoted" \\ back\tslashed\nname': 1.0,
    "précision_ünïcode_精度": 0.5,
}


def test_epochs_round_trip_exactly_through_the_array_write(client: TestClient) -> None:
    experiment_id = add_experiment(epochs_total=10**6, status="running")
    before = utcnow()
    epochs = (999_998, 999_999, 10**6)
    # As Keras logs them: the worker writes a non-finite metric as it is.
    logged = [
        (e, {**AWKWARD, "epoch": float(e), "nan": math.nan, "inf": -math.inf}) for e in epochs
    ]
    assert epoch_store.write_epochs(experiment_id, None, logged) == "ok"
    rows = [(e, {**AWKWARD, "epoch": float(e), "nan": None, "inf": None}) for e in epochs]
    with session_scope() as session:
        stored = session.execute(
            select(EpochMetric.epoch, EpochMetric.metrics, EpochMetric.recorded_at)
            .where(EpochMetric.experiment_id == experiment_id)
            .order_by(EpochMetric.epoch)
        ).all()
    # jsonb keeps numbers as numerics: one past 1e16 or so reads back as an int, equal to it.
    assert [(epoch, floats(metrics)) for epoch, metrics, _ in stored] == rows
    assert all(before <= at <= utcnow() + timedelta(seconds=1) for _, _, at in stored)
    # A series is read from the batch's metric_chunks, where a non-finite value is NaN.
    with session_scope() as session:
        for metric, values in (("loss", [0.1 + 0.2] * 3), ("inf", [math.nan] * 3)):
            series = read_chunked(session, experiment_id, metric, 0)
            assert series is not None and series.epochs.tolist() == list(epochs)
            assert np.array_equal(series.values, values, equal_nan=True)


def floats(metrics: dict) -> dict:
    return {name: value if value is None else float(value) for name, value in metrics.items()}
