"""The load test's own PostgreSQL database: created empty, migrated, seeded with experiments
and their history and an API key, then dropped. Each function is its own transaction edge."""

import math
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.core import keys
from bench.load.plan import SUBMIT_SPEC
from models.db import make_engine
from models.spec import ExperimentSpec
from models.tables import EpochMetric, Experiment, ExperimentStatus, utcnow

ROOT = Path(__file__).resolve().parents[2]

OWNER = "load-test"


@dataclass(frozen=True)
class Seeded:
    token: str
    status_ids: list[int]
    history_id: int
    history_epochs: int


def database_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def create_database(admin_url: str) -> str:
    """A new empty database named fitq_bench_<random>; returns its name."""
    name = f"fitq_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # FORCE: a connection the API left behind must not keep the database alive.
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _curve(epoch: int, epochs: int) -> dict[str, Any]:
    """Plausible overfitting curves: training loss keeps falling, validation turns up."""
    progress = epoch / epochs
    loss = 0.69 * math.exp(-4 * progress) + 0.02
    val_loss = 0.45 + 0.3 * (progress - 0.25) ** 2
    return {
        "loss": round(loss, 6),
        "accuracy": round(1 - loss / 1.4, 6),
        "val_loss": round(val_loss, 6),
        "val_accuracy": round(0.9 - val_loss / 5, 6),
    }


def _experiment(status: ExperimentStatus, epochs_total: int, done: int) -> Experiment:
    fit = SUBMIT_SPEC["fit"] | {"epochs": epochs_total}
    spec = ExperimentSpec.model_validate(
        SUBMIT_SPEC | {"name": f"seeded-{status.value}", "fit": fit}
    )
    now = utcnow()
    started = None if status == ExperimentStatus.QUEUED else now - timedelta(hours=1)
    return Experiment(
        owner=OWNER,
        name=spec.name,
        tags=list(spec.tags),
        spec=spec.model_dump(mode="json"),
        status=status.value,
        epochs_total=epochs_total,
        current_epoch=done,
        started_at=started,
        heartbeat_at=now if status == ExperimentStatus.RUNNING else None,
        finished_at=now if status == ExperimentStatus.SUCCEEDED else None,
        attempts=0 if status == ExperimentStatus.QUEUED else 1,
        epochs=[EpochMetric(epoch=e, metrics=_curve(e, epochs_total)) for e in range(1, done + 1)],
    )


def seed(url: str, history_epochs: int) -> Seeded:
    """A finished experiment with `history_epochs` epochs, one running halfway and one queued,
    all owned by the key the load test sends."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        token = keys.create_key(session, OWNER)
        finished = _experiment(ExperimentStatus.SUCCEEDED, history_epochs, history_epochs)
        running = _experiment(ExperimentStatus.RUNNING, history_epochs, history_epochs // 2)
        queued = _experiment(ExperimentStatus.QUEUED, history_epochs, 0)
        session.add_all([finished, running, queued])
        session.flush()
        ids = [finished.id, running.id, queued.id]
    engine.dispose()
    return Seeded(token=token, status_ids=ids, history_id=ids[0], history_epochs=history_epochs)
