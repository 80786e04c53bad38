"""Epoch writes on PostgreSQL go in as a binary COPY stream fitq packs itself
(worker/training/copy_rows.py): what is read back is exactly what was written."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from models.db import session_scope
from models.tables import EpochMetric, Experiment, utcnow
from tests.helpers import circles_spec
from worker.training import progress

AWKWARD = {
    "loss": 0.1 + 0.2,  # 17 significant digits
    "val_loss": None,  # a non-finite value, cleaned
    "tiny": 5e-324,
    "huge": -1.7976931348623157e308,
    'a "quoted" \\ back\tslashed\nname': 1.0,
    "précision_ünïcode_精度": 0.5,
}


def test_epochs_round_trip_exactly_through_the_copy(client: TestClient) -> None:
    with session_scope() as session:
        experiment = Experiment(spec=circles_spec(), epochs_total=10**6, status="running")
        session.add(experiment)
        session.flush()
        experiment_id = experiment.id
    before = utcnow()
    rows = [(epoch, {**AWKWARD, "epoch": float(epoch)}) for epoch in (999_998, 999_999, 10**6)]
    assert progress.write_epochs(experiment_id, None, rows) == "ok"
    with session_scope() as session:
        stored = session.execute(
            select(EpochMetric.epoch, EpochMetric.metrics, EpochMetric.recorded_at)
            .where(EpochMetric.experiment_id == experiment_id)
            .order_by(EpochMetric.epoch)
        ).all()
    # jsonb keeps numbers as numerics: one past 1e16 or so reads back as an int, equal to it.
    assert [(epoch, floats(metrics)) for epoch, metrics, _ in stored] == rows
    assert all(before <= at <= utcnow() + timedelta(seconds=1) for _, _, at in stored)


def floats(metrics: dict) -> dict:
    return {name: value if value is None else float(value) for name, value in metrics.items()}
